"""Tests of workbench.media: probing, exact frames, stills, thumbnails, clips, errors.

The videos come from tests/fixtures/videos.py; each frame carries its own number in a machine-
readable band, so "the frame shown at t" is checked against the number *written* into that frame,
and timestamps are checked against the times the film was *written* with.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import math

import av
import cv2
import numpy as np
import pytest

from tests.fixtures.videos import WrittenVideo
from workbench.errors import MediaError
from workbench.media import (
    VideoInfo,
    browser_playable,
    concat_clips,
    cut_clip,
    decode_frame_number,
    numbered_frame,
    probe,
    read_frame,
    read_frames,
    thumbnail_strip,
    transcode_for_browser,
    write_still,
    write_video,
)

# ---------------------------------------------------------------------------------------------------------
# helpers that look at files with PyAV directly (not through the code under test)


def _shown_at(written: WrittenVideo, t: int) -> int:
    """Index of the frame shown at t ms, from the times the film was written with."""
    return min(max(bisect.bisect_right(written.frame_times_ms, t) - 1, 0), written.frame_count - 1)


def _decoded_numbers(path) -> list[int]:
    with av.open(str(path)) as container:
        return [decode_frame_number(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]


def _decoded_audio(path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [f.to_ndarray().mean(axis=0) for f in container.decode(stream)]
        return np.concatenate(chunks), stream.codec_context.sample_rate


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


# ---------------------------------------------------------------------------------------------------------
# probe


def test_probe_constant_frame_rate_numbers(cfr_video: WrittenVideo) -> None:
    info = probe(cfr_video.path)
    assert info.frame_count == 90
    assert info.duration_ms == 3000
    assert info.fps == pytest.approx(30.0)
    assert (info.width, info.height) == (320, 240)
    assert info.codec == "h264"
    assert info.has_audio and info.audio_codec == "aac"
    assert info.rotation == 0
    assert info.frame_times_ms.dtype == np.int64
    # 30 fps: frame 1 starts at 33.33 ms, so it is the frame shown from t = 34 ms on
    assert info.frame_times_ms.tolist() == list(cfr_video.frame_times_ms)
    assert info.frame_times_ms[:4].tolist() == [0, 34, 67, 100]
    assert info.sha256 == hashlib.sha256(cfr_video.path.read_bytes()).hexdigest()
    assert {0, 30, 60} <= set(info.keyframes.tolist())  # written with a keyframe every second (+ scene cuts)


def test_probe_webm_vp9_opus(webm_video: WrittenVideo) -> None:
    info = probe(webm_video.path)
    assert (info.codec, info.audio_codec) == ("vp9", "opus")
    assert info.frame_count == 50
    assert info.duration_ms == 2000
    assert info.fps == pytest.approx(25.0)
    assert info.frame_times_ms.tolist() == list(webm_video.frame_times_ms)


def test_probe_variable_frame_rate_timestamps_match_what_was_written(vfr_video: WrittenVideo) -> None:
    info = probe(vfr_video.path)
    assert info.frame_times_ms.tolist() == list(vfr_video.frame_times_ms)
    assert not info.has_audio and info.audio_codec is None
    last = vfr_video.frame_times_ms[-1]
    # the last frame was written to last 40 ms (one nominal 25 fps frame); FFmpeg's MP4 reader may
    # report up to a frame less when B-frames meet irregular times, never less than the last frame
    assert last < info.duration_ms <= last + 40
    assert info.fps == pytest.approx(50 / (info.duration_ms / 1000), rel=0.05)


def test_probe_without_checksum_leaves_sha256_empty(cfr_video: WrittenVideo) -> None:
    assert probe(cfr_video.path, checksum=False).sha256 == ""


def test_frame_at_and_frame_time(cfr_video: WrittenVideo) -> None:
    info = probe(cfr_video.path, checksum=False)
    assert [info.frame_at(t) for t in (-5, 0, 33, 34, 66, 67, 2999, 10_000)] == [0, 0, 0, 1, 1, 2, 89, 89]
    assert info.frame_time(1) == 34
    assert info.frame_time(89) == math.ceil(89 * 1000 / 30)
    with pytest.raises(IndexError, match="0 <= index < 90"):
        info.frame_time(90)


def test_video_info_is_immutable_and_compares_by_value(cfr_video: WrittenVideo) -> None:
    info = probe(cfr_video.path, checksum=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.duration_ms = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        info.frame_times_ms[0] = 5
    assert info == probe(cfr_video.path, checksum=False)
    assert info != dataclasses.replace(info, frame_times_ms=info.frame_times_ms + 1)
    assert "90 frames" in repr(info)


# ---------------------------------------------------------------------------------------------------------
# exact frames


def _boundary_times(written: WrittenVideo, rng: np.random.Generator, n_random: int) -> list[int]:
    times = np.asarray(written.frame_times_ms)
    picks = rng.choice(times[1:], size=12, replace=False)
    randoms = rng.integers(0, times[-1] + 60, size=n_random)
    return sorted({*picks.tolist(), *(picks - 1).tolist(), *randoms.tolist(), 0, -10, int(times[-1]) + 500})


def test_read_frame_is_exact_at_random_times_and_frame_boundaries(
    cfr_video: WrittenVideo, rng: np.random.Generator
) -> None:
    info = probe(cfr_video.path, checksum=False)
    times = _boundary_times(cfr_video, rng, 20)
    rng.shuffle(times)  # random access order: backwards and forwards seeks
    for t in times:
        image = read_frame(cfr_video.path, t, info)
        assert image.shape == (240, 320, 3) and image.dtype == np.uint8
        assert decode_frame_number(image) == _shown_at(cfr_video, t), f"at {t} ms"


def test_read_frames_batch_is_exact_and_keeps_order(
    cfr_video: WrittenVideo, rng: np.random.Generator
) -> None:
    times = [*_boundary_times(cfr_video, rng, 40), 1000, 1000, 5]
    rng.shuffle(times)
    images = read_frames(cfr_video.path, times)  # probes by itself
    assert [decode_frame_number(im) for im in images] == [_shown_at(cfr_video, t) for t in times]


@pytest.mark.parametrize("fixture", ["vfr_video", "webm_video", "mpeg4_video"])
def test_exact_frames_in_other_files(
    fixture: str, request: pytest.FixtureRequest, rng: np.random.Generator
) -> None:
    written: WrittenVideo = request.getfixturevalue(fixture)
    times = _boundary_times(written, rng, 30)
    info = probe(written.path, checksum=False)
    images = read_frames(written.path, times, info)
    assert [decode_frame_number(im) for im in images] == [_shown_at(written, t) for t in times]
    assert decode_frame_number(read_frame(written.path, times[len(times) // 2], info)) == _shown_at(
        written, times[len(times) // 2]
    )


def test_read_frame_with_a_video_info_rebuilt_from_stored_fields(cfr_video: WrittenVideo) -> None:
    info = probe(cfr_video.path)
    spec_fields = [
        "path", "duration_ms", "frame_count", "fps", "width", "height", "rotation", "codec", "sha256",
        "has_audio", "audio_codec", "frame_times_ms",
    ]  # fmt: skip
    rebuilt = VideoInfo(**{name: getattr(info, name) for name in spec_fields})
    assert rebuilt.frame_at(1500) == 45
    assert decode_frame_number(read_frame(cfr_video.path, 1500, rebuilt)) == 45


# ---------------------------------------------------------------------------------------------------------
# rotation


def test_rotation_from_display_matrix(rotated_video: WrittenVideo) -> None:
    info = probe(rotated_video.path)
    assert info.rotation == 90
    assert (info.width, info.height) == (320, 240)
    assert info.display_size == (240, 320)
    upright = read_frame(rotated_video.path, 400, info)
    stored = read_frame(rotated_video.path, 400, info, rotate=False)
    assert upright.shape == (320, 240, 3)
    assert decode_frame_number(stored) == 10
    assert np.array_equal(upright, cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE))


# ---------------------------------------------------------------------------------------------------------
# stills and thumbnails


def test_write_still_png_and_sidecar(cfr_video: WrittenVideo, tmp_path) -> None:
    out = write_still(
        cfr_video.path, 1_250, tmp_path / "stills" / "moment.png", caption="Mum waits; Sam looks up"
    )
    assert out == tmp_path / "stills" / "moment.png"
    image = cv2.imread(str(out))
    assert image.shape == (240, 320, 3)
    assert decode_frame_number(image) == 37  # 1250 ms * 30 fps = frame 37.5 -> frame 37 is on screen
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["time_ms"] == 1250
    assert sidecar["frame_index"] == 37
    assert sidecar["frame_time_ms"] == math.ceil(37 * 1000 / 30)
    assert sidecar["caption"] == "Mum waits; Sam looks up"
    assert sidecar["source_sha256"] == hashlib.sha256(cfr_video.path.read_bytes()).hexdigest()
    assert sidecar["caption_drawn"] is False


def test_write_still_draws_caption_band(cfr_video: WrittenVideo, tmp_path) -> None:
    caption = "Sam’s initiative is received — a long caption that must wrap over several lines of the band"
    out = write_still(cfr_video.path, 500, tmp_path / "c.png", caption=caption, draw_caption=True)
    image = cv2.imread(str(out))
    assert image.shape[1] == 320 and image.shape[0] > 240 + 40  # several lines under the frame
    assert decode_frame_number(image[:240]) == 15
    band = cv2.cvtColor(image[240:], cv2.COLOR_BGR2GRAY)
    assert np.median(band) == 255  # white band ...
    assert (band < 100).sum() > 200  # ... with dark text in it
    assert json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["caption"] == caption


def test_write_still_rejects_other_suffixes(cfr_video: WrittenVideo, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"end in '\.png'"):
        write_still(cfr_video.path, 0, tmp_path / "still.jpg")


def test_thumbnail_strip_shape_and_times(cfr_video: WrittenVideo) -> None:
    strip, times = thumbnail_strip(cfr_video.path, count=20, height=72)
    assert strip.shape == (72, 20 * 96, 3) and strip.dtype == np.uint8
    # middles of 20 equal parts of 3000 ms: 75, 225, ... -> the frames shown then
    expected = [cfr_video.frame_times_ms[_shown_at(cfr_video, 75 + 150 * i)] for i in range(20)]
    assert times.tolist() == expected


def test_thumbnails_are_the_frames_at_their_times(cfr_video: WrittenVideo) -> None:
    strip, times = thumbnail_strip(cfr_video.path, count=6, height=120)
    thumbs = np.split(strip, 6, axis=1)
    assert [decode_frame_number(t) for t in thumbs] == [_shown_at(cfr_video, int(t)) for t in times]


def test_thumbnail_strip_of_rotated_video_is_upright(rotated_video: WrittenVideo) -> None:
    strip, times = thumbnail_strip(rotated_video.path, count=4, height=80)
    assert strip.shape == (80, 4 * 60, 3)
    assert len(times) == 4


# ---------------------------------------------------------------------------------------------------------
# clips


def test_cut_clip_is_frame_accurate_and_keeps_audio(cfr_video: WrittenVideo, tmp_path) -> None:
    out = cut_clip(cfr_video.path, 1_010, 2_000, tmp_path / "clip.mp4")
    info = probe(out)
    assert info.has_audio and info.audio_codec == "aac"
    assert info.codec == "h264" and browser_playable(info)
    assert abs(info.duration_ms - 990) <= 34  # within one frame
    numbers = _decoded_numbers(out)
    assert numbers == list(range(30, 60))  # frame 30 is on screen at 1010 ms; 59 is the last before 2000
    samples, rate = _decoded_audio(out)
    assert abs(samples.size / rate - 0.99) < 0.03  # AAC pads to whole 1024-sample frames
    assert _dominant_hz(samples[: rate // 2], rate) == pytest.approx(550, abs=5)  # second 1 of the tone


def test_cut_clip_keeps_variable_frame_timing(vfr_video: WrittenVideo, tmp_path) -> None:
    written = np.asarray(vfr_video.frame_times_ms)
    start, end = int(written[10]), int(written[30])
    out = cut_clip(vfr_video.path, start, end, tmp_path / "vfr-clip.mp4")
    info = probe(out)
    assert info.frame_times_ms.tolist() == (written[10:30] - start).tolist()
    assert not info.has_audio
    assert _decoded_numbers(out) == list(range(10, 30))


def test_cut_clip_to_webm(webm_video: WrittenVideo, tmp_path) -> None:
    out = cut_clip(webm_video.path, 400, 1200, tmp_path / "clip.webm")
    info = probe(out)
    assert (info.codec, info.audio_codec) == ("vp9", "opus")
    assert browser_playable(info)
    assert _decoded_numbers(out) == list(range(10, 30))


def test_cut_clip_rejects_bad_ranges(cfr_video: WrittenVideo, tmp_path) -> None:
    with pytest.raises(ValueError, match="start_ms < end_ms"):
        cut_clip(cfr_video.path, 2000, 1000, tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="start before the end"):
        cut_clip(cfr_video.path, 5000, 6000, tmp_path / "x.mp4")
    with pytest.raises(ValueError, match=r"\.mp4, \.m4v"):
        cut_clip(cfr_video.path, 0, 1000, tmp_path / "x.avi")
    with pytest.warns(UserWarning, match="cutting it at 3000 ms"):
        out = cut_clip(cfr_video.path, 2500, 9000, tmp_path / "tail.mp4")
    assert _decoded_numbers(out) == list(range(75, 90))
    assert not list(tmp_path.glob(".*partial*"))


def test_concat_duration_is_the_sum_and_audio_runs_through(
    cfr_video: WrittenVideo, webm_video: WrittenVideo, vfr_video: WrittenVideo, tmp_path
) -> None:
    segments = [(cfr_video.path, 500, 1500), (vfr_video.path, 200, 900), (webm_video.path, 0, 1000)]
    out = concat_clips(segments, tmp_path / "film.mp4")
    info = probe(out)
    # each segment starts on the frame shown at its start: 500 ms at 30 fps -> frame 15 at 500 ms;
    # 200 ms in the VFR film -> the frame written at 140 ms
    starts = [500, vfr_video.frame_times_ms[_shown_at(vfr_video, 200)], 0]
    lengths = [end - s for (_, _, end), s in zip(segments, starts, strict=True)]
    assert abs(info.duration_ms - sum(lengths)) <= 40
    assert info.has_audio  # the VFR film has none: silence fills its part
    samples, rate = _decoded_audio(out)
    assert abs(samples.size / rate - sum(lengths) / 1000) < 0.03
    vfr_part = samples[
        int(lengths[0] / 1000 * rate) + 480 : int((lengths[0] + lengths[1]) / 1000 * rate) - 480
    ]
    assert np.abs(vfr_part).max() < 0.01
    numbers = _decoded_numbers(out)
    first_vfr = _shown_at(vfr_video, 200)
    last_vfr = _shown_at(vfr_video, 899)
    assert numbers == [*range(15, 45), *range(first_vfr, last_vfr + 1), *range(0, 25)]


def test_transcode_mpeg4_for_the_browser(mpeg4_video: WrittenVideo, tmp_path) -> None:
    source = probe(mpeg4_video.path)
    assert source.codec == "mpeg4" and not browser_playable(source)
    out = transcode_for_browser(mpeg4_video.path, tmp_path / "playable.mp4")
    info = probe(out)
    assert (info.codec, info.audio_codec, info.pixel_format) == ("h264", "aac", "yuv420p")
    assert browser_playable(info)
    assert info.frame_times_ms.tolist() == source.frame_times_ms.tolist()
    assert info.duration_ms == 2000
    assert _decoded_numbers(out) == list(range(50))


def test_browser_playable_by_codec_and_container(cfr_video: WrittenVideo) -> None:
    info = probe(cfr_video.path, checksum=False)

    def variant(**changes: object) -> VideoInfo:
        return dataclasses.replace(info, **changes)

    assert browser_playable(info)
    assert not browser_playable(variant(codec="hevc"))
    assert not browser_playable(variant(codec="mpeg4"))
    assert browser_playable(variant(codec="vp9"))
    assert not browser_playable(variant(path="x.mkv", container="matroska,webm"))
    assert browser_playable(
        variant(path="x.webm", container="matroska,webm", codec="vp8", audio_codec="opus")
    )
    assert not browser_playable(
        variant(path="x.webm", container="matroska,webm", codec="h264", audio_codec="opus")
    )
    assert not browser_playable(variant(pixel_format="yuv444p"))
    assert not browser_playable(variant(audio_codec="pcm_s16le"))


# ---------------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        ("missing", "does not exist"),
        ("empty", "is empty (0 bytes)"),
        ("text", "could not be opened as a media container"),
        ("head", "could not be opened as a media container"),
        ("truncated", "is truncated"),
        ("audio_only", "has no video stream"),
    ],
)
def test_unreadable_files_raise_media_error_naming_the_file(kind: str, what: str, broken_files: dict) -> None:
    path = broken_files[kind]
    with pytest.raises(MediaError) as excinfo:
        probe(path)
    message = str(excinfo.value)
    assert message.startswith("Expected a video file with a video stream, but ")
    assert str(path) in message and what in message
    with pytest.raises(MediaError, match=path.name):
        read_frame(path, 0)


def test_media_errors_are_workbench_errors(broken_files: dict) -> None:
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError):
        thumbnail_strip(broken_files["text"])


# ---------------------------------------------------------------------------------------------------------
# the synthetic films themselves


@pytest.mark.parametrize("number", [0, 1, 2, 255, 1000, 43690, 65535])
def test_numbered_frame_round_trip(number: int) -> None:
    assert decode_frame_number(numbered_frame(number, (320, 240))) == number
    small = cv2.resize(numbered_frame(number, (640, 360)), (160, 90), interpolation=cv2.INTER_AREA)
    assert decode_frame_number(small) == number


def test_decode_frame_number_refuses_frames_without_the_band() -> None:
    with pytest.raises(ValueError, match="unreadable"):
        decode_frame_number(np.zeros((240, 320, 3), np.uint8))


def test_write_video_checks_its_input(tmp_path) -> None:
    frames = [numbered_frame(i) for i in range(3)]
    with pytest.raises(ValueError, match="Expected 2 frames"):
        write_video(tmp_path / "a.mp4", frames, 25, frame_times_ms=[0, 40])
    assert not (tmp_path / "a.mp4").exists()  # no half-written file left behind
    with pytest.raises(ValueError, match="strictly increasing"):
        write_video(tmp_path / "b.mp4", frames, 25, frame_times_ms=[0, 40, 40])
    with pytest.raises(ValueError, match="even frame width"):
        write_video(tmp_path / "c.mp4", [np.zeros((11, 10, 3), np.uint8)], 25)
    with pytest.raises(ValueError, match="Allowed values are"):
        write_video(tmp_path / "d.mp4", frames, 25, codec="theora")

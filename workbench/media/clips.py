"""Cut, join and transcode video for the browser: H.264 + AAC in MP4, frame-accurate, with audio.

A segment ``(path, start_ms, end_ms)`` holds the frames *shown* from ``start_ms`` up to (not
including) ``end_ms``: the first is the frame on screen at ``start_ms``, and the segment starts at
that frame's own time (``info.frame_time(info.frame_at(start_ms))``, at most one frame before
``start_ms``), so a segment lasts ``end_ms`` minus that time. Frames keep their own timing (variable
frame rates stay variable) and the audio is cut to the sample at the same times. Everything is re-encoded, so
cuts need not fall on keyframes. Display rotation is applied to the pixels (the output is upright
with no rotation flag); segments of other sizes are scaled to fit the first one's, with black bars.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

from workbench.errors import MediaError
from workbench.media._common import (
    AV_ERRORS,
    MUXERS,
    TailMuxer,
    audio_encoder,
    container_kind,
    container_options,
    even,
    first_audio_stream,
    first_video_stream,
    fit_image,
    media_error,
    open_input,
    rotate_image,
    video_encoder,
)
from workbench.media.frames import _FrameReader
from workbench.media.probe import VideoInfo, probe

__all__ = ["Segment", "concat_clips", "cut_clip", "transcode_for_browser"]

log = logging.getLogger("workbench.media")

#: A piece of a recording: (video file, start ms, end ms).
Segment = tuple[str | os.PathLike[str], int, int]

_VIDEO_TIME_BASE = Fraction(1, 90000)
_AUDIO_LEAD_S = Fraction(1, 4)
_AUDIO_CHUNK = 4096


@dataclass(frozen=True)
class _Piece:
    path: Path
    info: VideoInfo
    start_ms: int
    end_ms: int

    @property
    def seconds(self) -> Fraction:
        return Fraction(self.end_ms - self.start_ms, 1000)


def _check_segment(index: int, segment: Segment) -> _Piece:
    try:
        path, start_ms, end_ms = segment
    except (TypeError, ValueError):
        raise ValueError(
            f"Expected segment {index} to be (path, start_ms, end_ms), but got {segment!r}."
        ) from None
    start_ms, end_ms = int(start_ms), int(end_ms)
    if start_ms < 0 or end_ms <= start_ms:
        raise ValueError(
            f"Expected segment {index} to have 0 <= start_ms < end_ms, "
            f"but got start_ms={start_ms}, end_ms={end_ms}."
        )
    info = probe(path, checksum=False)
    name, length = os.fspath(path), info.duration_ms
    if start_ms >= length:
        raise ValueError(
            f"Expected segment {index} to start before the end of {name!r} ({length} ms), "
            f"but got start_ms={start_ms}."
        )
    if end_ms > length:
        warnings.warn(
            f"Segment {index} ends at {end_ms} ms, after the end of {name!r} ({length} ms); "
            f"cutting it at {length} ms.",
            stacklevel=3,
        )
        end_ms = length
    # Start on a frame boundary: the frame shown at start_ms, from its own time. Starting mid-frame
    # would give the clip a first frame lasting a fraction of a millisecond, which MP4 handles badly.
    start_ms = info.frame_time(info.frame_at(start_ms))
    return _Piece(Path(path), info, start_ms, end_ms)


# ---------------------------------------------------------------------------------------------------------
# sources


def _video_frames(piece: _Piece) -> Iterator[tuple[Fraction, Fraction, av.VideoFrame]]:
    """(time since the segment's start in s, display duration in s, frame) for each frame shown."""
    info = piece.info
    first = info.frame_at(piece.start_ms)
    last = max(first, int(np.searchsorted(info.frame_times_ms, piece.end_ms, side="left")) - 1)
    start_s, end_s = Fraction(piece.start_ms, 1000), Fraction(piece.end_ms, 1000)

    def seconds(index: int) -> Fraction:
        return Fraction((int(info.pts[index]) - info.start_pts) * info.time_base)

    with open_input(piece.path) as container:
        reader = _FrameReader(container, info)
        for index in range(first, last + 1):
            begin = max(start_s, seconds(index))
            end = min(end_s, seconds(index + 1)) if index + 1 < info.frame_count else end_s
            yield begin - start_s, max(end - begin, Fraction(1, 1000)), reader.frame(index)


def _audio_samples(piece: _Piece, rate: int, layout: str, count: int) -> Iterator[np.ndarray]:
    """Exactly ``count`` samples (channels x n float32 chunks) of the segment's audio, silence-padded."""
    channels = 2 if layout == "stereo" else 1
    produced = 0
    if piece.info.has_audio:
        with open_input(piece.path) as container:
            video = first_video_stream(container)
            stream = first_audio_stream(container)
            if stream is None:  # the file changed since it was probed
                raise media_error(piece.path, "no longer has the audio stream it had when probed")
            for other in container.streams:
                if other.index != stream.index:
                    other.discard = av.stream.Discard.all
            origin_s = (video.start_time or 0) * (video.time_base or 1)
            start_s = origin_s + Fraction(piece.start_ms, 1000)
            atb = stream.time_base or Fraction(1, rate)
            seek_to = max(int((start_s - 1) / atb), int(stream.start_time or 0))
            try:
                container.seek(seek_to, stream=stream, backward=True)
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                cursor: int | None = None  # sample index (at ``rate``) of the next resampled sample
                start_sample = round(start_s * rate)
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        data = out.to_ndarray().astype(np.float32, copy=False)
                        if cursor is None:
                            t = out.time if out.time is not None else frame.time
                            cursor = (
                                round(Fraction(t).limit_denominator(10**9) * rate) if t is not None else 0
                            )
                            if cursor > start_sample:  # audio begins after the cut: pad
                                gap = min(count, cursor - start_sample)
                                yield np.zeros((channels, gap), np.float32)
                                produced += gap
                        begin = max(0, start_sample + produced - cursor)
                        cursor += data.shape[1]
                        piece_ = data[:, begin : begin + count - produced]
                        if piece_.shape[1]:
                            yield piece_
                            produced += piece_.shape[1]
                        if produced >= count:
                            return
            except AV_ERRORS as exc:
                raise media_error(piece.path, "has audio that could not be decoded", exc) from exc
    while produced < count:
        n = min(_AUDIO_CHUNK, count - produced)
        yield np.zeros((channels, n), np.float32)
        produced += n


# ---------------------------------------------------------------------------------------------------------
# the writer


class _ClipWriter:
    """One output file: an H.264 (or VP9) video stream and optionally an AAC (or Opus) audio stream."""

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: Fraction,
        audio: tuple[int, str] | None,
        preset: str,
        crf: int,
    ) -> None:
        self.kind = container_kind(path)
        encoder = video_encoder("vp9" if self.kind == "webm" else "h264", preset=preset, crf=crf)
        self.container = av.open(
            os.fspath(path), mode="w", format=MUXERS[self.kind], options=container_options(self.kind)
        )
        self.width, self.height = size
        self.video = self.container.add_stream(encoder.name, rate=fps, options=encoder.options)
        self.video.width, self.video.height, self.video.pix_fmt = self.width, self.height, "yuv420p"
        self.video.codec_context.time_base = _VIDEO_TIME_BASE
        self.video.codec_context.gop_size = max(1, round(2 * float(fps)))
        self.last_pts = -1
        self.video_muxer = TailMuxer(self.container)
        self.audio = None
        self.samples_written = 0
        if audio is not None:
            rate, layout = audio
            name = audio_encoder(self.kind)
            supported = av.Codec(name, "w").audio_rates
            out_rate = rate if not supported or rate in supported else 48000
            self.audio = self.container.add_stream(name, rate=out_rate, layout=layout)
            self.audio.codec_context.open()
            self.rate = rate
            self.layout = layout
            self.resampler = av.AudioResampler(
                format=self.audio.codec_context.format,
                layout=layout,
                rate=out_rate,
                frame_size=self.audio.codec_context.frame_size or 1024,
            )

    def add_video(self, frame: av.VideoFrame, time_s: Fraction, duration_s: Fraction, rotation: int) -> None:
        if rotation or frame.width != self.width or frame.height != self.height:
            image = fit_image(
                rotate_image(frame.to_ndarray(format="bgr24"), rotation), self.width, self.height
            )
            out = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        else:
            out = frame.reformat(format="yuv420p")
        out.pict_type = PictureType.NONE
        pts = max(round(time_s / _VIDEO_TIME_BASE), self.last_pts + 1)
        out.pts, out.time_base = pts, _VIDEO_TIME_BASE
        self.video_muxer.durations[pts] = max(1, round(duration_s / _VIDEO_TIME_BASE))
        self.last_pts = pts
        self.video_muxer.mux(self.video.encode(out))

    def add_audio(self, samples: np.ndarray) -> None:
        assert self.audio is not None
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=self.layout
        )
        frame.sample_rate = self.rate
        frame.pts, frame.time_base = self.samples_written, Fraction(1, self.rate)
        self.samples_written += samples.shape[1]
        for out in self.resampler.resample(frame):
            for packet in self.audio.encode(out):
                self.container.mux(packet)

    def close(self, end_s: Fraction) -> None:
        self.video_muxer.mux(self.video.encode(None))
        self.video_muxer.finish(end_s)
        if self.audio is not None:
            for out in self.resampler.resample(None):
                for packet in self.audio.encode(out):
                    self.container.mux(packet)
            for packet in self.audio.encode(None):
                self.container.mux(packet)
        self.container.close()


def _render(pieces: Sequence[_Piece], out_path: Path, preset: str, crf: int) -> Path:
    if not pieces:
        raise ValueError("Expected at least one segment, but got none.")
    for piece in pieces:
        if piece.path.resolve() == out_path.resolve():
            raise ValueError(
                f"Expected an output path other than the source, but got {os.fspath(out_path)!r}."
            )
    container_kind(out_path)  # fail early on an unknown suffix
    first = pieces[0].info
    width, height = first.display_size
    size = (even(width), even(height))
    fps = Fraction(first.fps).limit_denominator(1001) if first.fps > 0 else Fraction(25)
    with_audio = [p.info for p in pieces if p.info.has_audio]
    audio = None
    if with_audio:
        rate = with_audio[0].audio_sample_rate or 48000
        layout = "stereo" if any(i.audio_channels > 1 for i in with_audio) else "mono"
        audio = (rate, layout)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.stem}.partial{out_path.suffix}")
    try:
        writer = _ClipWriter(partial, size, fps, audio, preset, crf)
    except AV_ERRORS as exc:
        raise MediaError(
            f"Expected a writable output path, but could not create {os.fspath(out_path)!r} ({exc})."
        ) from exc
    try:
        offset = Fraction(0)
        for piece in pieces:
            samples: Iterator[np.ndarray] | None = None
            sample_goal = 0
            if audio is not None:
                # Sample counts from rounded cumulative boundaries, so joins never drift.
                sample_goal = round((offset + piece.seconds) * audio[0])
                samples = _audio_samples(piece, audio[0], audio[1], sample_goal - writer.samples_written)
            rotation = piece.info.rotation
            for t, duration, frame in _video_frames(piece):
                if samples is not None:
                    lead = round((offset + t + _AUDIO_LEAD_S) * audio[0])  # type: ignore[index]
                    while writer.samples_written < min(lead, sample_goal):
                        writer.add_audio(next(samples))
                writer.add_video(frame, offset + t, duration, rotation)
            if samples is not None:
                for chunk in samples:
                    writer.add_audio(chunk)
            offset += piece.seconds
        writer.close(offset)
    except BaseException as exc:
        with contextlib.suppress(*AV_ERRORS):
            writer.container.close()
        partial.unlink(missing_ok=True)
        if isinstance(exc, AV_ERRORS) and not isinstance(exc, MediaError):
            raise MediaError(
                f"Expected to write {os.fspath(out_path)!r}, but encoding failed ({exc})."
            ) from exc
        raise
    os.replace(partial, out_path)
    return out_path


def cut_clip(
    path: str | os.PathLike[str],
    start_ms: int,
    end_ms: int,
    out_path: str | os.PathLike[str],
    *,
    preset: str = "veryfast",
    crf: int = 20,
) -> Path:
    """Cut the part ``[start_ms, end_ms)`` of a video into a new H.264/AAC MP4, frame-accurately.

    Parameters
    ----------
    path : str or os.PathLike
        The source video.
    start_ms, end_ms : int
        The part to keep, in ms; the clip starts with the frame shown at ``start_ms``. An end after
        the video's end is cut at the end (with a warning).
    out_path : str or os.PathLike
        Output file (``.mp4``; ``.webm`` gives VP9/Opus). Written atomically.
    preset, crf : str, int
        libx264 speed preset and quality.

    Returns
    -------
    pathlib.Path
        The clip; it has audio when the source has.

    Examples
    --------
    >>> cut_clip("session.mp4", 61_000, 75_500, "moment-1.mp4")  # doctest: +SKIP
    PosixPath('moment-1.mp4')
    """
    return _render([_check_segment(0, (path, start_ms, end_ms))], Path(out_path), preset, crf)


def concat_clips(
    segments: Sequence[Segment],
    out_path: str | os.PathLike[str],
    *,
    preset: str = "veryfast",
    crf: int = 20,
) -> Path:
    """Join segments of one or more videos into one H.264/AAC MP4 (e.g. a film of the best moments).

    Parameters
    ----------
    segments : sequence of (path, start_ms, end_ms)
        The parts, in the order they are to be shown.
    out_path : str or os.PathLike
        Output file.
    preset, crf : str, int
        libx264 speed preset and quality.

    Returns
    -------
    pathlib.Path
        The joined film; its duration is the sum of the segments' durations. It has audio when any
        source has (silence fills segments without).
    """
    pieces = [_check_segment(i, seg) for i, seg in enumerate(segments)]
    return _render(pieces, Path(out_path), preset, crf)


def transcode_for_browser(
    path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    preset: str = "veryfast",
    crf: int = 20,
) -> Path:
    """Re-encode a whole video as H.264/AAC MP4 that Chromium plays (see :func:`browser_playable`).

    Returns
    -------
    pathlib.Path
        The new file.
    """
    info = probe(path, checksum=False)
    return _render([_Piece(Path(path), info, 0, info.duration_ms)], Path(out_path), preset, crf)

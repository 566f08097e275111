"""Synthetic video: a small, fast PyAV writer and "numbered" test films whose frames say who they are.

:func:`write_video` encodes BGR frames (yuv420p) with H.264, VP9, VP8 or MPEG-4 Part 2, optionally
with a mono audio track, at a constant frame rate or at the exact timestamps given (variable frame
rate). :func:`write_numbered_video` writes a film in which every frame carries its own index twice:
drawn big for people, and as a row of 16 black/white blocks along the top for
:func:`decode_frame_number`, so that tests can check that a frame read at a time is exactly the
frame shown at that time, even after lossy compression.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np

from workbench.errors import MediaError
from workbench.media._common import (
    AV_ERRORS,
    MUXERS,
    TailMuxer,
    audio_encoder,
    container_kind,
    container_options,
    video_encoder,
)

__all__ = [
    "CODE_BITS",
    "decode_frame_number",
    "numbered_frame",
    "stepped_tone",
    "vfr_frame_times_ms",
    "write_numbered_video",
    "write_video",
]

#: Number of blocks (bits) in the machine-readable frame-number band.
CODE_BITS = 16
_AUDIO_LEAD_S = 0.25  # audio is muxed this far ahead of the video, to keep the two interleaved


def _as_fraction(fps: float | Fraction) -> Fraction:
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"Expected a positive frame rate, but got {fps!r}.")
    return rate


def _check_frame(frame: object, index: int, size: tuple[int, int] | None) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        got = (
            f"{frame.dtype} array of shape {frame.shape}"
            if isinstance(frame, np.ndarray)
            else type(frame).__name__
        )
        raise ValueError(f"Expected frame {index} to be an HxWx3 uint8 BGR array, but got {got}.")
    h, w = frame.shape[:2]
    if size is None:
        if w % 2 or h % 2:
            raise ValueError(f"Expected an even frame width and height (yuv420p), but got {w}x{h}.")
    elif (w, h) != size:
        raise ValueError(f"Expected frame {index} to be {size[0]}x{size[1]} like frame 0, but got {w}x{h}.")
    return frame


def _check_times(frame_times_ms: Sequence[int]) -> np.ndarray:
    times = np.asarray(frame_times_ms)
    if times.ndim != 1 or times.size == 0 or not np.issubdtype(times.dtype, np.integer):
        raise ValueError(
            f"Expected 'frame_times_ms' to be a non-empty sequence of integer milliseconds, "
            f"but got {times.dtype} values of shape {times.shape}."
        )
    if times[0] < 0 or np.any(np.diff(times) <= 0):
        raise ValueError(
            "Expected 'frame_times_ms' to start at >= 0 and be strictly increasing, but it is not."
        )
    return times.astype(np.int64)


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    *,
    codec: str = "h264",
    audio: np.ndarray | None = None,
    sample_rate: int = 48000,
    frame_times_ms: Sequence[int] | None = None,
    preset: str = "veryfast",
    crf: int = 23,
    keyframe_interval_s: float | None = 2.0,
    rotation: int = 0,
) -> Path:
    """Encode BGR frames (and optionally mono audio) into a video file with PyAV.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; the container follows the suffix (``.mp4``/``.m4v``, ``.mov``, ``.mkv``,
        ``.webm``). MP4/MOV are written with the index first ("faststart").
    frames : iterable of numpy.ndarray
        HxWx3 uint8 BGR images, all the same even size. Consumed lazily (a generator is fine).
    fps : float or fractions.Fraction
        Nominal frame rate. Without ``frame_times_ms`` frame *i* is shown at ``i / fps``.
    codec : {"h264", "vp9", "vp8", "mpeg4", "av1"}
        Video codec. H.264 uses libx264 (``preset``, ``crf``); VP8/VP9 use libvpx in realtime mode.
    audio : numpy.ndarray, optional
        Mono float32 samples in [-1, 1], starting at time 0; encoded as AAC (Opus in WebM).
    sample_rate : int
        Sample rate of ``audio``.
    frame_times_ms : sequence of int, optional
        Presentation time of every frame in milliseconds (variable frame rate); strictly increasing,
        one per frame.
    preset : str
        libx264 preset; "veryfast" (default) or "ultrafast" keep long synthetic films quick.
    crf : int
        Constant-quality factor (lower is better quality).
    keyframe_interval_s : float or None
        Distance between keyframes in seconds (None: the encoder's default).
    rotation : int
        Display rotation stored in the container, degrees clockwise (0, 90, 180, 270), read back by
        :func:`workbench.media.probe` as ``VideoInfo.rotation``.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import numpy as np
    >>> frames = (np.full((240, 320, 3), i, np.uint8) for i in range(50))
    >>> write_video("grey.mp4", frames, fps=25)  # doctest: +SKIP
    PosixPath('grey.mp4')
    """
    out_path = Path(path)
    kind = container_kind(out_path)
    rate = _as_fraction(fps)
    if rotation % 90:
        raise ValueError(f"Expected 'rotation' to be a multiple of 90 degrees, but got {rotation!r}.")
    times = _check_times(frame_times_ms) if frame_times_ms is not None else None
    if audio is not None:
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError(f"Expected 'audio' to be 1-D mono samples, but got shape {audio.shape}.")
    encoder = video_encoder(codec, preset=preset, crf=crf)
    iterator = iter(frames)
    try:
        first = _check_frame(next(iterator), 0, None)
    except StopIteration:
        raise ValueError("Expected at least one frame, but 'frames' is empty.") from None
    height, width = first.shape[:2]
    time_base = Fraction(1, 1000) if times is not None else 1 / rate

    try:
        container = av.open(
            os.fspath(out_path), mode="w", format=MUXERS[kind], options=container_options(kind)
        )
    except AV_ERRORS as exc:
        raise MediaError(
            f"Expected a writable video path, but could not create {os.fspath(out_path)!r} ({exc})."
        ) from exc
    try:
        vstream = container.add_stream(encoder.name, rate=rate, options=encoder.options)
        vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
        vstream.codec_context.time_base = time_base
        if keyframe_interval_s is not None:
            vstream.codec_context.gop_size = max(1, round(keyframe_interval_s * float(rate)))
        if rotation % 360:
            vstream.set_display_rotation(-(rotation % 360))  # PyAV/FFmpeg count counter-clockwise
        feeder = _AudioFeeder(container, kind, audio, sample_rate) if audio is not None else None
        muxer = TailMuxer(container)
        nominal = max(1, round(1000 / rate)) if times is not None else 1  # one frame, in time_base units

        def encode(image: np.ndarray, index: int) -> None:
            # OpenCV's BGR -> I420 is BT.601 limited range like swscale's, and about 4x faster
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
            frame.pts = int(times[index]) if times is not None else index
            frame.time_base = time_base
            if times is not None:
                following = int(times[index + 1]) if index + 1 < times.size else frame.pts + nominal
                muxer.durations[frame.pts] = following - frame.pts
            else:
                muxer.durations[frame.pts] = 1
            if feeder is not None:
                feeder.feed_until(float(frame.pts * time_base) + _AUDIO_LEAD_S)
            muxer.mux(vstream.encode(frame))

        encode(first, 0)
        count = 1
        for image in iterator:
            if times is not None and count >= times.size:
                raise ValueError(
                    f"Expected {times.size} frames (one per time in 'frame_times_ms'), but got more."
                )
            encode(_check_frame(image, count, (width, height)), count)
            count += 1
        if times is not None and count != times.size:
            raise ValueError(
                f"Expected {times.size} frames (one per time in 'frame_times_ms'), but got {count}."
            )
        muxer.mux(vstream.encode(None))
        last_pts = int(times[-1]) if times is not None else count - 1
        muxer.finish((last_pts + nominal) * time_base)
        if feeder is not None:
            feeder.finish()
    except BaseException as exc:
        with contextlib.suppress(*AV_ERRORS):
            container.close()
        out_path.unlink(missing_ok=True)  # no half-written files
        if isinstance(exc, AV_ERRORS):
            raise MediaError(
                f"Expected to write a video to {os.fspath(out_path)!r}, but encoding failed ({exc})."
            ) from exc
        raise
    container.close()
    return out_path


class _AudioFeeder:
    """Encodes a mono float32 signal into an audio stream of ``container``, a piece at a time."""

    def __init__(
        self, container: av.container.OutputContainer, kind: str, samples: np.ndarray, rate: int
    ) -> None:
        name = audio_encoder(kind)
        supported = av.Codec(name, "w").audio_rates
        out_rate = rate if not supported or rate in supported else 48000
        self.container = container
        self.stream = container.add_stream(name, rate=out_rate, layout="mono")
        self.stream.codec_context.open()
        self.samples = samples
        self.rate = rate
        self.position = 0
        self.resampler = av.AudioResampler(
            format=self.stream.codec_context.format,
            layout="mono",
            rate=out_rate,
            frame_size=self.stream.codec_context.frame_size or 1024,
        )

    def _encode(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            for packet in self.stream.encode(frame):
                self.container.mux(packet)

    def feed_until(self, seconds: float) -> None:
        stop = min(self.samples.size, round(seconds * self.rate))
        while self.position < stop:
            end = min(stop, self.position + 4096)
            frame = av.AudioFrame.from_ndarray(
                self.samples[None, self.position : end], format="flt", layout="mono"
            )
            frame.sample_rate = self.rate
            frame.pts = self.position
            frame.time_base = Fraction(1, self.rate)
            self._encode(self.resampler.resample(frame))
            self.position = end

    def finish(self) -> None:
        self.feed_until(self.samples.size / self.rate + 1)
        self._encode(self.resampler.resample(None))
        for packet in self.stream.encode(None):
            self.container.mux(packet)


# ---------------------------------------------------------------------------------------------------------
# numbered frames


def _band_height(height: int) -> float:
    return height / 8


@lru_cache(maxsize=4)
def _background(width: int, height: int) -> np.ndarray:
    """A soft diagonal colour gradient, twice as wide as the frame so it can scroll."""
    x = np.arange(2 * width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    hue = ((x / width) * 90 + (y / height) * 20) % 180
    hsv = np.empty((height, 2 * width, 3), dtype=np.uint8)
    hsv[..., 0] = hue.astype(np.uint8)
    hsv[..., 1] = 110
    hsv[..., 2] = (150 + 50 * np.sin(y / height * np.pi)).astype(np.uint8)
    background = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    background.setflags(write=False)
    return background


def numbered_frame(index: int, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A BGR frame that shows ``index`` big and encodes it in a band of 16 blocks along the top.

    Each block holds one bit of ``index`` (most significant first) as white-over-black (1) or
    black-over-white (0), so a black or blurred band is detected as unreadable rather than read as 0.
    The background is a colour gradient that scrolls with ``index`` (so consecutive frames differ).

    Parameters
    ----------
    index : int
        Frame number, 0 <= index < 65536.
    size : tuple of int
        (width, height) in pixels.

    Returns
    -------
    numpy.ndarray
        HxWx3 uint8 BGR image.
    """
    if not 0 <= index < 2**CODE_BITS:
        raise ValueError(f"Expected 0 <= index < {2**CODE_BITS}, but got {index}.")
    width, height = size
    background = _background(width, height)
    shift = (index * 4) % width
    image = np.ascontiguousarray(background[:, shift : shift + width])
    band = round(_band_height(height))
    half = band // 2
    for k in range(CODE_BITS):
        x0, x1 = round(k * width / CODE_BITS), round((k + 1) * width / CODE_BITS)
        bit = (index >> (CODE_BITS - 1 - k)) & 1
        image[:half, x0:x1] = 255 if bit else 0
        image[half:band, x0:x1] = 0 if bit else 255
    glyphs, cell_w, cell_h = _digit_glyphs(width, height)
    text = str(index)
    x = (width - len(text) * cell_w) // 2
    y = band + (height - band - cell_h) // 2
    for digit in text:
        stamp, mask = glyphs[digit]
        cv2.copyTo(stamp, mask, image[y : y + cell_h, x : x + cell_w])  # writes into the view
        x += cell_w
    return image


@lru_cache(maxsize=4)
def _digit_glyphs(width: int, height: int) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int, int]:
    """Stamps (white digit with a black outline) and their masks, sized so five digits fit the frame.

    Drawing big text with OpenCV costs milliseconds per frame; stamping cached glyphs does not.
    """
    band = round(_band_height(height))
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, max(2, height // 60)
    outline = max(2, height // 80)
    (gw, gh), _ = cv2.getTextSize("0", font, 1.0, thickness)
    scale = min((height - band) * 0.45 / gh, width * 0.85 / (5 * gw))
    (gw, gh), base = cv2.getTextSize("0", font, scale, thickness)
    pad = 2 * outline
    cell_w, cell_h = gw + pad, gh + base + 2 * pad
    origin = (pad // 2, pad + gh)
    glyphs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    # (OpenCV 5 ignores putText's thickness, so the outline is the digit's shape grown by dilation.)
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * outline + 1, 2 * outline + 1))
    for digit in "0123456789":
        stamp = np.zeros((cell_h, cell_w, 3), np.uint8)
        cv2.putText(stamp, digit, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        mask = cv2.dilate(np.where(stamp[:, :, 0] > 32, 255, 0).astype(np.uint8), grow)
        glyphs[digit] = (stamp, mask)
    return glyphs, cell_w, cell_h


def decode_frame_number(frame: np.ndarray) -> int:
    """Read the frame number that :func:`numbered_frame` encoded in the band along the top.

    Parameters
    ----------
    frame : numpy.ndarray
        HxWx3 BGR (or HxW grey) image, possibly compressed or scaled (the band is read at relative
        positions).

    Returns
    -------
    int
        The frame number.

    Raises
    ------
    ValueError
        If a block of the band is not clearly one bright half over one dark half.
    """
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    height, width = grey.shape[:2]
    band = _band_height(height)
    upper = grey[int(band * 0.12) : max(int(band * 0.12) + 1, int(band * 0.38))]
    lower = grey[int(band * 0.62) : max(int(band * 0.62) + 1, int(band * 0.88))]
    value = 0
    for k in range(CODE_BITS):
        x0 = int((k + 0.3) * width / CODE_BITS)
        x1 = max(x0 + 1, int((k + 0.7) * width / CODE_BITS))
        top, bottom = float(upper[:, x0:x1].mean()), float(lower[:, x0:x1].mean())
        if abs(top - bottom) < 80:
            raise ValueError(
                f"Expected a frame-number band along the top of the frame, but block {k} is unreadable "
                f"(upper half {top:.0f}, lower half {bottom:.0f} of 255)."
            )
        value = (value << 1) | int(top > bottom)
    return value


def stepped_tone(seconds: float, sample_rate: int = 48000, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone whose pitch steps every second: ``440 + 110 * (s % 8)`` Hz during second ``s``.

    The pitch tells where in the film a piece of audio came from (e.g. 550 Hz: second 1, 9, 17...).

    Returns
    -------
    numpy.ndarray
        float32 mono samples.
    """
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    freq = 440.0 + 110.0 * (np.floor(t) % 8)
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    return (amplitude * np.sin(phase)).astype(np.float32)


def vfr_frame_times_ms(seconds: float, fps: float) -> np.ndarray:
    """Irregular frame times (a phone-like variable frame rate) averaging about ``fps``.

    The gaps cycle through 1, 0.5, 1.5, 2 and 0.75 nominal frame intervals, rounded to whole
    milliseconds; all times are below ``seconds``.
    """
    base = 1000.0 / fps
    gaps = [1.0, 0.5, 1.5, 2.0, 0.75]
    times, t, k = [], 0.0, 0
    while round(t) < seconds * 1000:
        times.append(round(t))
        t += gaps[k % len(gaps)] * base
        k += 1
    return np.asarray(times, dtype=np.int64)


def write_numbered_video(
    path: str | os.PathLike[str],
    seconds: float = 2.0,
    fps: float = 25,
    size: tuple[int, int] = (320, 240),
    codec: str = "h264",
    audio: bool = True,
    vfr: bool = False,
    *,
    frame_times_ms: Sequence[int] | None = None,
    preset: str = "veryfast",
    rotation: int = 0,
    sample_rate: int = 48000,
    keyframe_interval_s: float | None = 2.0,
) -> Path:
    """Write a test film whose frame *i* shows and encodes the number *i* (see :func:`numbered_frame`).

    Parameters
    ----------
    path : str or os.PathLike
        Output file (container from the suffix).
    seconds : float
        Length; at a constant rate the film has ``round(seconds * fps)`` frames.
    fps : float
        Frame rate (nominal, with ``vfr``).
    size : tuple of int
        (width, height), both even.
    codec : str
        See :func:`write_video`.
    audio : bool
        Add :func:`stepped_tone` audio, ``seconds`` long.
    vfr : bool
        Use :func:`vfr_frame_times_ms` instead of a constant rate.
    frame_times_ms : sequence of int, optional
        Explicit frame times (overrides ``vfr`` and ``seconds`` for the frame count).
    preset : str
        libx264 preset.
    rotation : int
        Display rotation, degrees clockwise.
    sample_rate : int
        Audio sample rate.
    keyframe_interval_s : float or None
        Distance between keyframes in seconds.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    times: np.ndarray | None
    if frame_times_ms is not None:
        times = np.asarray(frame_times_ms, dtype=np.int64)
    elif vfr:
        times = vfr_frame_times_ms(seconds, fps)
    else:
        times = None
    count = times.size if times is not None else round(seconds * fps)
    frames = (numbered_frame(i, size) for i in range(count))
    tone = stepped_tone(seconds, sample_rate) if audio else None
    return write_video(
        path,
        frames,
        fps,
        codec=codec,
        audio=tone,
        sample_rate=sample_rate,
        frame_times_ms=None if times is None else times.tolist(),
        preset=preset,
        rotation=rotation,
        keyframe_interval_s=keyframe_interval_s,
    )

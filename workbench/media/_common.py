"""Shared plumbing of the media package: opening containers with clear errors, picking encoders.

Nothing here is public; the public functions live in :mod:`workbench.media.probe`,
:mod:`workbench.media.frames`, :mod:`workbench.media.clips` and :mod:`workbench.media.synth`.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np

from workbench.errors import MediaError

__all__: list[str] = []

log = logging.getLogger("workbench.media")

EXPECTED_VIDEO = "Expected a video file with a video stream"

# Containers and codecs Chromium's <video> element plays (the HTML5 player of the workbench).
BROWSER_CONTAINERS: dict[str, frozenset[str]] = {
    "mp4": frozenset({"h264", "vp9", "av1"}),
    "webm": frozenset({"vp8", "vp9", "av1"}),
}
BROWSER_AUDIO: dict[str, frozenset[str]] = {
    "mp4": frozenset({"aac", "mp3", "opus", "flac"}),
    "webm": frozenset({"opus", "vorbis"}),
}
BROWSER_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p", "nv12", "yuv420p10le"})

# What av can throw at us while reading or writing a file.
# (UnicodeDecodeError: FFmpeg hands PyAV metadata that is not UTF-8 in damaged files.)
AV_ERRORS: tuple[type[BaseException], ...] = (av.error.FFmpegError, OSError, EOFError, UnicodeDecodeError)


def media_error(path: str | os.PathLike[str], what: str, exc: BaseException | None = None) -> MediaError:
    """Build the one shape of message: "Expected a video file with a video stream, but <path> <what>."."""
    detail = ""
    if exc is not None:
        reason = getattr(exc, "strerror", None) or str(exc)
        detail = f" ({type(exc).__name__}: {reason})"
    return MediaError(f"{EXPECTED_VIDEO}, but {os.fspath(path)!r} {what}{detail}.")


def check_readable_file(path: str | os.PathLike[str]) -> Path:
    """Fail early and clearly for a missing, non-regular or empty file."""
    p = Path(path)
    if not p.exists():
        raise media_error(p, "does not exist")
    if not p.is_file():
        raise media_error(p, "is not a regular file")
    if p.stat().st_size == 0:
        raise media_error(p, "is empty (0 bytes)")
    return p


@contextmanager
def open_input(path: str | os.PathLike[str]) -> Iterator[av.container.InputContainer]:
    """Open ``path`` for reading; every av / OS failure becomes a :class:`MediaError` naming the file."""
    p = check_readable_file(path)
    try:
        container = av.open(os.fspath(p), mode="r")
    except AV_ERRORS as exc:
        raise media_error(p, "could not be opened as a media container", exc) from exc
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["no streams at all"]
            raise media_error(p, f"has no video stream (it has: {', '.join(kinds)})")
        if all(s.disposition & av.stream.Disposition.attached_pic for s in container.streams.video):
            raise media_error(p, "has no video stream, only a still picture (cover art)")
        yield container
    finally:
        container.close()


def first_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The first video stream that is not an attached picture (cover art); see :func:`open_input`."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return container.streams.video[0]


def first_audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The first audio stream, or None."""
    return container.streams.audio[0] if container.streams.audio else None


# ---------------------------------------------------------------------------------------------------------
# encoders


@dataclass(frozen=True)
class EncoderChoice:
    """An encoder name, the options it is opened with and the container format it goes into."""

    name: str
    options: dict[str, str] = field(default_factory=dict)


def container_kind(path: str | os.PathLike[str]) -> str:
    """The container written for an output path: 'mp4', 'mov', 'mkv' or 'webm', from its suffix."""
    suffix = Path(path).suffix.lower().lstrip(".")
    kinds = {"mp4": "mp4", "m4v": "mp4", "mov": "mov", "mkv": "mkv", "webm": "webm"}
    if suffix not in kinds:
        raise ValueError(
            f"Expected an output file ending in .mp4, .m4v, .mov, .mkv or .webm, but got {os.fspath(path)!r}."
        )
    return kinds[suffix]


def video_encoder(codec: str, *, preset: str = "veryfast", crf: int = 23) -> EncoderChoice:
    """Pick an available encoder for ``codec`` ('h264', 'vp9', 'vp8', 'mpeg4', 'av1').

    H.264 prefers libx264 and falls back to other H.264 encoders, then to VP9 (which Chromium also
    plays in MP4), logging the fallback.
    """
    available = av.codecs_available
    if codec == "h264":
        if "libx264" in available:
            return EncoderChoice("libx264", {"preset": preset, "crf": str(crf)})
        for name in ("libopenh264", "h264_mf", "h264_videotoolbox"):
            if name in available:
                log.info("libx264 is not available in this PyAV build; encoding H.264 with %s", name)
                return EncoderChoice(name, {})
        log.info("No H.264 encoder in this PyAV build; falling back to VP9 (Chromium plays VP9 in MP4)")
        return video_encoder("vp9", preset=preset, crf=crf)
    if codec == "vp9":
        for name in ("libvpx-vp9", "vp9"):
            if name in available:
                options = {
                    "deadline": "realtime",
                    "cpu-used": "8",
                    "row-mt": "1",
                    "crf": str(crf + 8),
                    "b": "0",
                }
                return EncoderChoice(name, options)
    if codec == "vp8" and "libvpx" in available:
        return EncoderChoice(
            "libvpx", {"deadline": "realtime", "cpu-used": "8", "crf": str(crf - 13), "b": "2M"}
        )
    if codec == "mpeg4" and "mpeg4" in available:
        return EncoderChoice("mpeg4", {"qscale": "3"})
    if codec == "av1":
        for name in ("libsvtav1", "libaom-av1"):
            if name in available:
                return EncoderChoice(name, {"preset": "12"} if name == "libsvtav1" else {"cpu-used": "8"})
    allowed = "'h264', 'vp9', 'vp8', 'mpeg4' and 'av1'"
    raise ValueError(
        f"Invalid value for the 'codec' parameter, or no encoder for it in this PyAV build. "
        f"Allowed values are {allowed}, but got {codec!r} instead."
    )


def audio_encoder(kind: str) -> str:
    """The audio encoder for a container kind: AAC in MP4/MOV/MKV/AVI, Opus in WebM."""
    if kind == "webm":
        return "libopus" if "libopus" in av.codecs_available else "opus"
    return "aac"


def container_options(kind: str) -> dict[str, str]:
    """Muxer options: MP4/MOV get their index at the front so browsers can start playing at once."""
    return {"movflags": "+faststart"} if kind in {"mp4", "mov"} else {}


MUXERS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm"}


def even(n: int) -> int:
    """Round down to an even number (yuv420p needs even sizes), at least 2."""
    return max(2, n - n % 2)


# ---------------------------------------------------------------------------------------------------------
# images


def rotate_image(image: np.ndarray, clockwise_degrees: int) -> np.ndarray:
    """Rotate an image by 0/90/180/270 degrees clockwise."""
    r = clockwise_degrees % 360
    if r == 90:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if r == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if r == 270:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


def fit_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to fit ``width`` x ``height`` keeping its aspect ratio, padding with black."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    y0, x0 = (height - nh) // 2, (width - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = resized
    return out


class TailMuxer:
    """Mux one video stream's packets with the right durations, so the stream ends at an exact time.

    MP4 and WebM players take a video stream's end from its latest frame's timestamp plus that
    packet's duration, but encoders (libx264 through PyAV) leave packet durations at 0 and the muxer
    then guesses one nominal frame interval. The writer records each frame's intended duration in
    :attr:`durations` (keyed by pts); packets get it back here. The last few packets are held back
    so that :meth:`finish` can make the latest frame end exactly at the wanted end time.
    """

    def __init__(self, container: av.container.OutputContainer, hold: int = 16) -> None:
        self.container = container
        self.held: deque[av.Packet] = deque()
        self.hold = hold
        self.durations: dict[int, int] = {}

    def mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            if packet.pts is not None and not packet.duration:
                packet.duration = self.durations.pop(packet.pts, 0)
            self.held.append(packet)
            if len(self.held) > self.hold:
                self.container.mux(self.held.popleft())

    def finish(self, end_s: Fraction | None) -> None:
        timed = [p for p in self.held if p.pts is not None and p.time_base]
        if end_s is not None and timed:
            last = max(timed, key=lambda p: p.pts)
            duration = round(end_s / last.time_base) - last.pts
            if duration > 0:
                last.duration = duration
        while self.held:
            self.container.mux(self.held.popleft())
        self.durations.clear()

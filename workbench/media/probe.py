"""Probe a video: duration, frame rate, size, rotation, codecs, checksum and every frame's timestamp.

Timestamps come from the demuxed packets (their presentation timestamps, sorted), not from decoding,
so a one-hour file is probed in about the time it takes to read it once; a variable frame rate is
kept exactly as recorded.

Frame times are integer milliseconds, rounded *up*: a frame whose exact time is 33.33 ms gets 34,
so that "the frame shown at ``t`` ms" is the last frame with ``frame_time <= t`` for every integer
``t`` (at ``t = 33`` the previous frame is still on screen), and seeking a browser's ``<video>`` to
``frame_time / 1000`` s shows that frame.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from workbench.errors import MediaError
from workbench.media._common import (
    AV_ERRORS,
    BROWSER_AUDIO,
    BROWSER_CONTAINERS,
    BROWSER_PIXEL_FORMATS,
    first_audio_stream,
    first_video_stream,
    media_error,
    open_input,
)
from workbench.util import sha256_file

__all__ = ["MAX_FPS", "MIN_FPS", "VideoInfo", "browser_playable", "check_recording", "probe", "sha256_file"]

log = logging.getLogger("workbench.media")

_CHUNK = 1 << 20
#: Frame rates a recording of an interaction may have. Phones film slow motion at 240 fps (some at 960
#: fps for a second or two); nothing filmed for VIG needs more than 1000 fps, which is also where our
#: integer milliseconds stop telling frames apart. Below 1 fps a film no longer shows an interaction
#: (a time-lapse or a still).
MIN_FPS = 1.0
MAX_FPS = 1000.0
# FFmpeg's demuxers of single pictures ("png_pipe", "jpeg_pipe", ..., "image2"): an image, not a video.
_IMAGE_DEMUXERS = ("image2", "image2pipe")
_TRUNCATION_SLACK_S = 0.5
_EMPTY_I64 = np.zeros(0, dtype=np.int64)


def _frozen_array(values: Any) -> np.ndarray:
    array = np.array(values, dtype=np.int64)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class VideoInfo:
    """What :func:`probe` found out about a video file.

    Attributes
    ----------
    path : str
        The probed file.
    duration_ms : int
        Length of the video stream (end of the last frame) in ms.
    frame_count : int
        Number of frames (video packets).
    fps : float
        Nominal (average) frame rate.
    width, height : int
        Stored frame size in pixels, before ``rotation`` is applied (see :attr:`display_size`).
    rotation : int
        Clockwise rotation a player applies for display (0, 90, 180 or 270), from the container's
        display matrix or ``rotate`` tag. Phones filming upright store 90.
    codec : str
        Video codec ("h264", "hevc", "vp9", "mpeg4", ...).
    sha256 : str
        Hex SHA-256 of the file ("" when probed with ``checksum=False``).
    has_audio : bool
        Whether the file has an audio stream.
    audio_codec : str or None
        Its codec ("aac", "opus", ...).
    frame_times_ms : numpy.ndarray
        int64 presentation time of every frame in ms, sorted, relative to the video stream's start
        (so the first is normally 0). Read-only.
    container : str
        Demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm".
    pixel_format : str or None
        Decoded pixel format, e.g. "yuv420p".
    audio_sample_rate : int or None
        Audio sample rate in Hz.
    audio_channels : int
        Number of audio channels (0 without audio).
    time_base : fractions.Fraction
        Time base of the video stream's timestamps.
    start_pts : int
        Stream start, in ``time_base`` units (the origin of ``frame_times_ms``).
    pts : numpy.ndarray
        The raw sorted presentation timestamps (``time_base`` units), one per frame.
    keyframes : numpy.ndarray
        Indices of the frames that are keyframes (where decoding can start).
    """

    path: str
    duration_ms: int
    frame_count: int
    fps: float
    width: int
    height: int
    rotation: int
    codec: str
    sha256: str
    has_audio: bool
    audio_codec: str | None
    frame_times_ms: np.ndarray
    container: str = ""
    pixel_format: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int = 0
    time_base: Fraction = Fraction(1, 1000)
    start_pts: int = 0
    pts: np.ndarray = field(default_factory=lambda: _EMPTY_I64, repr=False)
    keyframes: np.ndarray = field(default_factory=lambda: _EMPTY_I64, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame_times_ms", _frozen_array(self.frame_times_ms))
        object.__setattr__(self, "pts", _frozen_array(self.pts))
        object.__setattr__(self, "keyframes", _frozen_array(self.keyframes))

    def __repr__(self) -> str:
        audio = f", audio={self.audio_codec}" if self.has_audio else ", no audio"
        rot = f", rotation={self.rotation}" if self.rotation else ""
        return (
            f"<VideoInfo | {Path(self.path).name}: {self.codec} {self.width}x{self.height}{rot}, "
            f"{self.frame_count} frames, {self.duration_ms} ms, {self.fps:.3f} fps{audio}>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VideoInfo):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray):
                if not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, i.e. after ``rotation``."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)

    def frame_at(self, time_ms: int) -> int:
        """Index of the frame shown at ``time_ms``: the last frame whose time is <= ``time_ms``.

        Times before the first frame give 0, times after the last give the last index.

        Examples
        --------
        >>> info.frame_times_ms[:3]  # doctest: +SKIP
        array([ 0, 40, 80])
        >>> info.frame_at(39), info.frame_at(40)  # doctest: +SKIP
        (0, 1)
        """
        if self.frame_count == 0:
            raise ValueError(f"Expected a video with frames, but {self.path!r} has none.")
        index = int(np.searchsorted(self.frame_times_ms, int(time_ms), side="right")) - 1
        return min(max(index, 0), self.frame_count - 1)

    def frame_time(self, index: int) -> int:
        """Presentation time in ms of frame ``index`` (0-based)."""
        if not 0 <= index < self.frame_count:
            raise IndexError(f"Expected a frame index 0 <= index < {self.frame_count}, but got {index}.")
        return int(self.frame_times_ms[index])


def pts_to_ms(pts: np.ndarray, start: int, time_base: Fraction) -> np.ndarray:
    """Exact integer conversion of timestamps to ms since ``start``, rounded up (see module docs)."""
    num = (np.asarray(pts, dtype=np.int64) - start) * (time_base.numerator * 1000)
    return -((-num) // time_base.denominator)


def _rotation(container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path) -> int:
    """Clockwise display rotation: from the ``rotate`` tag, else the first decoded frame's display matrix."""
    tag = stream.metadata.get("rotate")
    if tag is not None:
        try:
            return round(float(tag)) % 360
        except ValueError:
            log.info("Ignoring unreadable rotate tag %r in %s", tag, path)
    container.seek(stream.start_time or 0, stream=stream)
    try:
        for frame in container.decode(stream):
            ccw = frame.rotation  # FFmpeg: counter-clockwise, in [-180, 180]
            return round(-ccw / 90.0) * 90 % 360
    except AV_ERRORS as exc:
        raise media_error(path, "has a video stream whose first frame cannot be decoded", exc) from exc
    raise media_error(path, "has a video stream that decodes to no frames")


def probe(path: str | os.PathLike[str], *, checksum: bool = True) -> VideoInfo:
    """Read a video's properties and the presentation time of every frame, without decoding it.

    Parameters
    ----------
    path : str or os.PathLike
        The video file.
    checksum : bool
        Compute ``sha256`` (reads the whole file once more); False leaves it "".

    Returns
    -------
    VideoInfo
        Frame times, frame count, duration, nominal fps, size, rotation, codecs, checksum.

    Raises
    ------
    workbench.errors.MediaError
        If the file is missing, empty, not a media file, has no video stream, or is truncated.

    Examples
    --------
    >>> info = probe("session.mp4")  # doctest: +SKIP
    >>> info.frame_count, info.duration_ms, info.frame_at(1000)  # doctest: +SKIP
    (1500, 60000, 25)
    """
    p = Path(path)
    with open_input(p) as container:
        demuxer = container.format.name
        if demuxer in _IMAGE_DEMUXERS or demuxer.endswith("_pipe"):
            raise media_error(p, f"is a still image ({demuxer.removesuffix('_pipe')}), not a video")
        stream = first_video_stream(container)
        audio = first_audio_stream(container)
        # Audio packets are read only to detect truncation in containers without a frame index
        # (Matroska/WebM); in MP4 the index already says how many video frames there should be.
        scan_audio = audio is not None and not stream.frames
        keep = {stream.index} | ({audio.index} if scan_audio else set())
        for other in container.streams:
            if other.index not in keep:
                other.discard = av.stream.Discard.all
        time_base = stream.time_base or Fraction(1, 1000)
        pts_list: list[int] = []
        ends: list[int] = []
        keys: list[bool] = []
        missing_pts = empty = 0
        audio_end = 0  # in the audio stream's time base
        try:
            streams = [stream, audio] if scan_audio else [stream]
            for packet in container.demux(*streams):
                if packet.size == 0 or packet.is_discard:
                    # flush packets, and AVI's empty "repeat the previous frame" packets
                    empty += (
                        packet.size == 0 and packet.stream_index == stream.index and packet.pts is not None
                    )
                    continue
                pts = packet.pts if packet.pts is not None else packet.dts
                if packet.stream_index != stream.index:
                    if pts is not None:
                        audio_end = max(audio_end, pts + (packet.duration or 0))
                    continue
                if pts is None:
                    missing_pts += 1
                    continue
                pts_list.append(pts)
                ends.append(pts + (packet.duration or 0))
                keys.append(packet.is_keyframe)
        except AV_ERRORS as exc:
            raise media_error(p, f"is damaged or truncated after {len(pts_list)} video packets", exc) from exc
        if missing_pts:
            raise media_error(p, f"has {missing_pts} video packets without timestamps (a raw stream?)")
        if not pts_list:
            raise media_error(p, "has a video stream with no frames (truncated?)")
        if stream.frames and len(pts_list) + empty < stream.frames:
            raise media_error(
                p,
                f"is truncated: its index lists {stream.frames} video frames but only "
                f"{len(pts_list)} could be read",
            )
        # Containers without a frame index (Matroska/WebM) still declare their duration up front.
        audio_end_s = float(audio_end * audio.time_base) if audio is not None and audio.time_base else 0.0
        read_end_s = max(float((max(ends) - (stream.start_time or 0)) * time_base), audio_end_s)
        declared_s = container.duration / 1_000_000 if container.duration else None
        if declared_s is not None and declared_s > read_end_s + _TRUNCATION_SLACK_S:
            raise media_error(
                p,
                f"is truncated: it declares a duration of {declared_s:.3f} s but its streams end "
                f"after {read_end_s:.3f} s",
            )
        order = np.argsort(np.asarray(pts_list, dtype=np.int64), kind="stable")
        pts = np.asarray(pts_list, dtype=np.int64)[order]
        key_flags = np.asarray(keys, dtype=bool)[order]
        if np.any(np.diff(pts) == 0):
            log.info("%s has video packets with duplicate timestamps", p)
        start = int(pts[0]) if stream.start_time is None else min(int(stream.start_time), int(pts[0]))
        times = pts_to_ms(pts, start, time_base)

        # End of the video stream: its declared end (MP4: edit list / track duration), else the
        # packets' own ends (Matroska/WebM), else the file's duration, else one typical frame interval
        # after the last frame. (FFmpeg's MP4 reader can report up to a frame less than the edit list
        # says when B-frames meet irregular frame times; the frame times themselves are exact.)
        end_pts = int(stream.start_time or 0) + int(stream.duration) if stream.duration else max(ends)
        if end_pts > pts[-1]:
            duration_ms = int(pts_to_ms(np.array([end_pts]), start, time_base)[0])
        elif container.duration and container.duration / 1000 > times[-1]:
            duration_ms = round(container.duration / 1000)
        else:
            step = int(np.median(np.diff(times))) if times.size > 1 else 40
            duration_ms = int(times[-1]) + max(step, 1)

        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 1000.0 * len(times) / duration_ms
        rotation = _rotation(container, stream, p)
        ctx = stream.codec_context
        codec = ctx.codec.canonical_name if ctx.codec is not None else ctx.name
        info = VideoInfo(
            path=os.fspath(p),
            duration_ms=duration_ms,
            frame_count=int(pts.size),
            fps=fps,
            width=int(ctx.width),
            height=int(ctx.height),
            rotation=rotation,
            codec=codec,
            sha256=sha256_file(p) if checksum else "",
            has_audio=audio is not None,
            audio_codec=(audio.codec_context.codec.canonical_name if audio is not None else None),
            frame_times_ms=times,
            container=container.format.name,
            pixel_format=ctx.pix_fmt,
            audio_sample_rate=(int(audio.codec_context.sample_rate) if audio is not None else None),
            audio_channels=(int(audio.codec_context.layout.nb_channels) if audio is not None else 0),
            time_base=time_base,
            start_pts=start,
            pts=pts,
            keyframes=np.flatnonzero(key_flags),
        )
    return info


def _clock(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.3g} s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def check_recording(info: VideoInfo) -> None:
    """Refuse a video whose frame rate or frame times no recording of an interaction can have.

    Registering a recording calls this after :func:`probe`. A recording must have at least two
    frames, a positive duration, and a frame rate from :data:`MIN_FPS` to :data:`MAX_FPS` (1 to
    1000 fps) three ways: its frame count over its duration, the median interval between
    consecutive frames, and its nominal rate. A variable frame rate keeps the median interval
    close to its typical rate; a file whose frames are microseconds (or hours) apart cannot hide
    it behind a plausible nominal rate or duration.

    Raises
    ------
    workbench.errors.MediaError
        Naming the file, what was expected and what it has.

    Examples
    --------
    >>> check_recording(probe("session.mp4"))  # doctest: +SKIP
    """
    name = repr(info.path)
    expected = f"Expected a recording filmed at {MIN_FPS:g} to {MAX_FPS:g} frames per second"
    if info.frame_count < 2:
        raise MediaError(f"{expected}, but {name} has {info.frame_count} frame: a still picture, not a video.")
    if info.duration_ms <= 0:
        raise MediaError(f"{expected}, but {name} has {info.frame_count} frames in {info.duration_ms} ms.")
    overall = 1000.0 * info.frame_count / info.duration_ms
    median = float(np.median(np.diff(info.frame_times_ms)))
    between = 1000.0 / median if median > 0 else math.inf
    for rate, what in (
        (overall, f"has {info.frame_count} frames in {_clock(info.duration_ms)} ({overall:.6g} fps)"),
        (between, f"has frames {median:g} ms apart (median; {between:.6g} fps)"),
        (info.fps, f"declares {info.fps:.6g} fps"),
    ):
        if not MIN_FPS <= rate <= MAX_FPS:
            raise MediaError(f"{expected}, but {name} {what}.")


def browser_playable(info: VideoInfo) -> bool:
    """Whether Chromium's ``<video>`` plays the file as it is (else use :func:`transcode_for_browser`).

    True for H.264, VP9 or AV1 in MP4 and VP8, VP9 or AV1 in WebM, in 4:2:0, with AAC/MP3/Opus/FLAC
    (MP4) or Opus/Vorbis (WebM) audio or none. MPEG-4 Part 2 ("mp4v"), HEVC, AVI, MKV and MOV are not.
    """
    suffix = Path(info.path).suffix.lower()
    if "mp4" in info.container.split(",") and suffix in {".mp4", ".m4v"}:
        kind = "mp4"
    elif "webm" in info.container.split(",") and suffix == ".webm":
        kind = "webm"
    else:
        return False
    if info.codec not in BROWSER_CONTAINERS[kind]:
        return False
    if info.pixel_format is not None and info.pixel_format not in BROWSER_PIXEL_FORMATS:
        return False
    return not (info.has_audio and info.audio_codec not in BROWSER_AUDIO[kind])

"""Exact frames: the frame shown at a time, stills with captions, thumbnail strips.

"The frame shown at ``t`` ms" is the last frame whose presentation time is <= ``t`` (see
:meth:`VideoInfo.frame_at`). It is found by seeking to the keyframe before it and decoding forward
until the frame with exactly that timestamp comes out, so it is right for variable frame rates,
B-frames and long keyframe intervals alike.
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from workbench.errors import MediaError
from workbench.media._common import AV_ERRORS, first_video_stream, media_error, open_input, rotate_image
from workbench.media.probe import VideoInfo, probe, sha256_file

__all__ = ["read_frame", "read_frames", "thumbnail_strip", "write_still"]

log = logging.getLogger("workbench.media")


class _FrameReader:
    """Decodes frames by index from one open container, seeking only when decoding on would be slower."""

    def __init__(self, container: av.container.InputContainer, info: VideoInfo) -> None:
        if info.pts.size != info.frame_count or info.frame_count == 0:
            raise ValueError(
                f"Expected a VideoInfo from workbench.media.probe (with raw timestamps), but the one for "
                f"{info.path!r} has {info.pts.size} timestamps for {info.frame_count} frames."
            )
        self.container = container
        self.info = info
        self.stream = first_video_stream(container)
        self.stream.thread_type = "AUTO"
        for other in container.streams:
            if other.index != self.stream.index:
                other.discard = av.stream.Discard.all
        self.keyframes = info.keyframes if info.keyframes.size else np.array([0], dtype=np.int64)
        self._frames: object | None = None  # the current decode iterator
        self._last: av.VideoFrame | None = None
        self._last_index = -1

    def _keyframe_before(self, index: int) -> int:
        k = int(np.searchsorted(self.keyframes, index, side="right")) - 1
        return int(self.keyframes[max(k, 0)])

    def _seek(self, index: int, attempt: int) -> None:
        # Each retry starts one keyframe earlier; the last resort is the very start of the stream.
        k = int(np.searchsorted(self.keyframes, index, side="right")) - 1 - attempt
        pts = int(self.info.pts[int(self.keyframes[k])]) if k >= 0 else self.info.start_pts
        self.container.seek(pts, stream=self.stream, backward=True, any_frame=False)
        self._frames = iter(self.container.decode(self.stream))
        self._last, self._last_index = None, -1

    def frame(self, index: int) -> av.VideoFrame:
        """The decoded frame with index ``index``."""
        if index == self._last_index and self._last is not None:
            return self._last
        target = int(self.info.pts[index])
        must_seek = self._frames is None or index < self._last_index
        if not must_seek and self._keyframe_before(index) > self._last_index + 1:
            must_seek = True  # a keyframe lies ahead: jumping there beats decoding up to it
        attempts = 0
        if must_seek:
            self._seek(index, attempts)
        path = self.info.path
        while True:
            try:
                frame = next(self._frames)  # type: ignore[call-overload]
            except StopIteration:
                raise media_error(
                    path,
                    f"ended before frame {index} ({self.info.frame_time(index)} ms) could be decoded "
                    "(truncated?)",
                ) from None
            except AV_ERRORS as exc:
                raise media_error(path, f"could not be decoded around frame {index}", exc) from exc
            pts = frame.pts if frame.pts is not None else frame.dts
            if pts is None:
                continue
            if pts > target and self._last is None:
                # Landed after the target: the seek went to a later keyframe than asked. Go earlier.
                attempts += 1
                if attempts > 3:
                    raise media_error(
                        path, f"could not seek to frame {index} ({self.info.frame_time(index)} ms)"
                    )
                self._seek(index, attempts if attempts < 3 else len(self.keyframes))
                continue
            if pts > target:
                log.info(
                    "Frame %d of %s was not produced by the decoder; using the frame before it", index, path
                )
                return self._last  # type: ignore[return-value]
            self._last = frame
            self._last_index = int(np.searchsorted(self.info.pts, pts, side="left"))
            if pts == target:
                return frame


def _to_bgr(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    image = frame.to_ndarray(format="bgr24")
    return rotate_image(image, rotation) if rotation else image


def read_frames(
    path: str | os.PathLike[str],
    times_ms: Sequence[int] | np.ndarray,
    info: VideoInfo | None = None,
    *,
    rotate: bool = True,
) -> list[np.ndarray]:
    """The frames shown at several times, decoded in time order from one open file.

    Parameters
    ----------
    path : str or os.PathLike
        The video file.
    times_ms : sequence of int
        Times in ms, in any order (repeats allowed).
    info : VideoInfo, optional
        The file's :func:`probe` result; pass it when reading repeatedly (probing reads the file).
    rotate : bool
        Apply the file's display rotation, so frames look as a player shows them.

    Returns
    -------
    list of numpy.ndarray
        HxWx3 uint8 BGR frames, in the order of ``times_ms``.

    Raises
    ------
    workbench.errors.MediaError
        If the file cannot be read or decoded.
    """
    if info is None or info.pts.size != info.frame_count:
        # (a VideoInfo rebuilt from stored fields may lack the raw timestamps that seeking needs)
        info = probe(path, checksum=False)
    indices = [info.frame_at(int(t)) for t in times_ms]
    images: dict[int, np.ndarray] = {}
    with open_input(path) as container:
        reader = _FrameReader(container, info)
        for index in sorted(set(indices)):
            images[index] = _to_bgr(reader.frame(index), info.rotation if rotate else 0)
    return [images[i] for i in indices]


def read_frame(
    path: str | os.PathLike[str],
    time_ms: int,
    info: VideoInfo | None = None,
    *,
    rotate: bool = True,
) -> np.ndarray:
    """The exact frame shown at ``time_ms`` (the last frame whose time is <= ``time_ms``).

    Parameters
    ----------
    path : str or os.PathLike
        The video file.
    time_ms : int
        Time in ms from the start of the video; clamped to the first / last frame.
    info : VideoInfo, optional
        The file's :func:`probe` result (probed without checksum when not given).
    rotate : bool
        Apply the file's display rotation (``info.rotation``).

    Returns
    -------
    numpy.ndarray
        HxWx3 uint8 BGR image.

    Examples
    --------
    >>> info = probe("session.mp4")  # doctest: +SKIP
    >>> image = read_frame("session.mp4", 12_345, info)  # doctest: +SKIP
    """
    return read_frames(path, [time_ms], info, rotate=rotate)[0]


_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)


_UNICODE_TEXT = int(cv2.__version__.split(".")[0]) >= 5  # OpenCV 5 draws any Unicode text; 4 only ASCII


def _drawable(text: str) -> str:
    """The caption as OpenCV can draw it: as is on OpenCV 5, folded to ASCII on OpenCV 4."""
    if _UNICODE_TEXT:
        return text
    folded = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    out = "".join(c for c in folded if not unicodedata.combining(c))
    out = out.encode("ascii", "replace").decode("ascii")
    if out != text:
        log.info("Caption drawn without accents / non-ASCII characters (OpenCV < 5): %r", out)
    return out


def _wrap(text: str, font: int, scale: float, thickness: int, width: int) -> list[str]:
    """Greedy word wrap by measured text width (words longer than a line are split)."""

    def fits(line: str) -> bool:
        return cv2.getTextSize(line, font, scale, thickness)[0][0] <= width

    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if fits(candidate):
                line = candidate
                continue
            if line:
                lines.append(line)
            while not fits(word) and len(word) > 1:
                cut = max(1, len(word) - 1)
                while cut > 1 and not fits(word[:cut]):
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def draw_caption_band(image: np.ndarray, caption: str) -> np.ndarray:
    """Return ``image`` with a white band below it holding ``caption`` in black, wrapped to its width."""
    width = image.shape[1]
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.4, min(1.2, width / 900))
    thickness = 1 if scale < 0.8 else 2
    (_, char_h), baseline = cv2.getTextSize("Hg", font, scale, thickness)
    margin = max(6, char_h // 2)
    lines = _wrap(_drawable(caption), font, scale, thickness, width - 2 * margin)
    line_h = char_h + baseline + margin // 2
    band = np.full((len(lines) * line_h + 2 * margin, width, 3), 255, dtype=np.uint8)
    for k, line in enumerate(lines):
        y = margin + k * line_h + char_h
        cv2.putText(band, line, (margin, y), font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return np.vstack([image, band])


def write_still(
    path: str | os.PathLike[str],
    time_ms: int,
    out_png: str | os.PathLike[str],
    caption: str | None = None,
    info: VideoInfo | None = None,
    *,
    draw_caption: bool = False,
) -> Path:
    """Write the exact frame shown at ``time_ms`` as a PNG, with a JSON sidecar describing it.

    The sidecar ``<out_png without suffix>.json`` holds ``source`` (the video's file name),
    ``source_sha256``, ``time_ms`` (asked), ``frame_index``, ``frame_time_ms`` (the frame's own time),
    ``caption``, ``width``, ``height`` and ``caption_drawn``.

    Parameters
    ----------
    path : str or os.PathLike
        The video file.
    time_ms : int
        Time in ms.
    out_png : str or os.PathLike
        Output file, ending in ``.png``; parent folders are created.
    caption : str, optional
        Caption, stored in the sidecar (and drawn when ``draw_caption``).
    info : VideoInfo, optional
        The file's :func:`probe` result.
    draw_caption : bool
        Draw the caption in a white band under the image.

    Returns
    -------
    pathlib.Path
        The PNG's path.
    """
    out = Path(out_png)
    if out.suffix.lower() != ".png":
        raise ValueError(f"Expected 'out_png' to end in '.png', but got {os.fspath(out)!r}.")
    if info is None:
        info = probe(path)
    index = info.frame_at(int(time_ms))
    image = read_frame(path, int(time_ms), info)
    if draw_caption and caption:
        image = draw_caption_band(image, caption)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - cv2 always encodes uint8 BGR
        raise MediaError(f"Expected to encode the still as PNG, but OpenCV failed for {os.fspath(out)!r}.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encoded.tobytes())
    sidecar = {
        "source": Path(path).name,
        "source_sha256": info.sha256 or sha256_file(path),
        "time_ms": int(time_ms),
        "frame_index": index,
        "frame_time_ms": info.frame_time(index),
        "caption": caption,
        "width": int(image.shape[1]),
        "height": int(image.shape[0]),
        "caption_drawn": bool(draw_caption and caption),
    }
    out.with_suffix(".json").write_text(
        json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return out


def thumbnail_strip(
    path: str | os.PathLike[str],
    count: int = 20,
    height: int = 72,
    info: VideoInfo | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` thumbnails side by side, taken at the middles of ``count`` equal parts of the video.

    Parameters
    ----------
    path : str or os.PathLike
        The video file.
    count : int
        Number of thumbnails.
    height : int
        Thumbnail height in pixels; the width keeps the displayed aspect ratio.
    info : VideoInfo, optional
        The file's :func:`probe` result.

    Returns
    -------
    strip : numpy.ndarray
        ``height`` x ``count * thumb_width`` x 3 uint8 BGR image.
    times_ms : numpy.ndarray
        int64 time of each thumbnail's frame (its own presentation time).
    """
    if count < 1 or height < 1:
        raise ValueError(f"Expected count >= 1 and height >= 1, but got count={count}, height={height}.")
    if info is None:
        info = probe(path, checksum=False)
    targets = [int((2 * i + 1) * info.duration_ms // (2 * count)) for i in range(count)]
    times = np.array([info.frame_time(info.frame_at(t)) for t in targets], dtype=np.int64)
    display_w, display_h = info.display_size
    thumb_w = max(1, round(height * display_w / display_h))
    images = read_frames(path, times, info)
    thumbs = [cv2.resize(im, (thumb_w, height), interpolation=cv2.INTER_AREA) for im in images]
    return np.hstack(thumbs), times

"""Motion energy from video: how much of each person's region changes from one frame to the next.

This is the measure of Motion Energy Analysis (MEA; Ramseyer & Tschacher, 2011), the input of the
synchrony analysis in :mod:`workbench.analysis.synchrony` (rMEA's method): the video is made grey,
every frame is compared with the one before it pixel by pixel, a pixel counts as *changed* when its
grey level differs by more than a noise threshold, and the changed pixels are counted inside each
region of interest (one region per person, drawn around them in the displayed frame). MEA's own
output is the count of changed pixels per frame; here the value is the *proportion* of the region's
pixels that changed (count / region size, in [0, 1]), so regions of different sizes compare; the
region sizes are in ``result.attrs["roi_pixels"]`` (``result * sizes`` gives MEA's raw counts).

Grey is the video's luma (the Y plane the decoder produces, read without any colour conversion,
which is what keeps this as fast as decoding). ``threshold`` is in grey levels of the displayed
image (0 black, 255 white). Most video stores luma in "limited range" (16-235): there a pixel counts
as changed when ``|dY| > threshold * 219 / 255``, the same test on the luma's own scale. Full-range
video (JPEG range, e.g. ``yuvj420p``) and formats without a luma plane (decoded to grey by FFmpeg)
use ``threshold`` as it is.

Frames are decoded one after the other and only the previous frame is kept, so memory stays flat
whatever the length of the video.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import av
import cv2
import numpy as np
import pandas as pd

from workbench.errors import MediaError
from workbench.media._common import AV_ERRORS, first_video_stream, media_error, open_input, rotate_image
from workbench.media.probe import VideoInfo, probe, pts_to_ms

__all__ = ["motion_energy"]

log = logging.getLogger("workbench.media")

#: A rectangle ``(x, y, width, height)`` in pixels of the displayed frame.
Rect = tuple[int, int, int, int]
#: A polygon: three or more ``(x, y)`` corners in pixels of the displayed frame.
Polygon = Sequence[tuple[float, float]]

# Pixel formats whose first plane is 8-bit luma (the grey image), and those of them in full range.
_LUMA_FORMATS = frozenset(
    {
        "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p",
        "yuv411p", "yuvj411p", "yuv410p", "nv12", "nv21", "nv16", "nv24", "yuva420p", "gray",
    }
)  # fmt: skip
_FULL_RANGE_FORMATS = frozenset({"yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "yuvj411p", "gray"})
_JPEG_RANGE = 2  # AVCOL_RANGE_JPEG


@dataclass
class _Region:
    """One region of interest in stored-frame coordinates: its bounding box and, unless it fills the
    box, a 0/255 mask of the box."""

    name: str
    x0: int
    y0: int
    x1: int
    y1: int
    mask: np.ndarray | None
    pixels: int
    previous: np.ndarray | None = None
    buffer: np.ndarray | None = None


def _roi_mask(name: str, roi: object, width: int, height: int) -> np.ndarray:
    """A 0/255 uint8 mask of ``roi`` on the displayed frame (``width`` x ``height``)."""
    mask = np.zeros((height, width), dtype=np.uint8)
    values = np.asarray(roi, dtype=np.float64) if not isinstance(roi, np.ndarray) else roi.astype(np.float64)
    if values.ndim == 1 and values.size == 4:
        x, y, w, h = (round(float(v)) for v in values)
        if w < 1 or h < 1:
            raise ValueError(
                f"Expected region {name!r} to be a rectangle (x, y, width, height) with a positive size, "
                f"but got {tuple(roi)!r}."  # type: ignore[arg-type]
            )
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise ValueError(
                f"Expected region {name!r} inside the {width}x{height} displayed frame, but the rectangle "
                f"(x={x}, y={y}, width={w}, height={h}) reaches outside it."
            )
        mask[y : y + h, x : x + w] = 255
        return mask
    if values.ndim == 2 and values.shape[1] == 2 and values.shape[0] >= 3:
        points = np.round(values).astype(np.int32)
        if (
            points[:, 0].min() < 0
            or points[:, 1].min() < 0
            or points[:, 0].max() >= width
            or points[:, 1].max() >= height
        ):
            raise ValueError(
                f"Expected the corners of region {name!r} inside the {width}x{height} displayed frame "
                f"(0 <= x < {width}, 0 <= y < {height}), but got {points.tolist()}."
            )
        cv2.fillPoly(mask, [points.reshape(-1, 1, 2)], 255)
        return mask
    raise ValueError(
        f"Expected region {name!r} to be a rectangle (x, y, width, height) or a polygon of 3 or more "
        f"(x, y) corners, but got an array of shape {values.shape}."
    )


def _regions(rois: Mapping[str, object], info: VideoInfo) -> list[_Region]:
    if not isinstance(rois, Mapping) or not rois:
        raise ValueError(
            "Expected 'rois' to map region names to rectangles or polygons, e.g. "
            "{'parent': (0, 0, 640, 720), 'child': (640, 0, 640, 720)}, but got "
            f"{type(rois).__name__} {rois!r}."
        )
    display_w, display_h = info.display_size
    regions = []
    for name, roi in rois.items():
        try:
            shown = _roi_mask(str(name), roi, display_w, display_h)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ValueError) and str(exc).startswith("Expected"):
                raise
            raise ValueError(
                f"Expected region {name!r} to be a rectangle (x, y, width, height) or a polygon of (x, y) "
                f"corners, but got {roi!r}."
            ) from exc
        # the frames are decoded as stored; turn the displayed-frame mask back by the display rotation
        stored = rotate_image(shown, (360 - info.rotation) % 360) if info.rotation else shown
        x, y, w, h = cv2.boundingRect(stored)
        pixels = int(cv2.countNonZero(stored))
        if pixels == 0:
            raise ValueError(f"Expected region {name!r} to cover at least one pixel, but it covers none.")
        box = stored[y : y + h, x : x + w]
        mask = None if pixels == w * h else np.ascontiguousarray(box)
        regions.append(_Region(str(name), x, y, x + w, y + h, mask, pixels))
    return regions


def _grey_source(frame: av.VideoFrame) -> tuple[Callable[[av.VideoFrame], np.ndarray], bool]:
    """How to get the grey image of frames like ``frame``, and whether it is limited-range luma."""
    name = frame.format.name
    if name in _LUMA_FORMATS:

        def luma(f: av.VideoFrame) -> np.ndarray:
            plane = f.planes[0]
            rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
            return rows[:, : plane.width]  # a view of the decoder's buffer: no copy, no conversion

        full = name in _FULL_RANGE_FORMATS or frame.color_range == _JPEG_RANGE
        return luma, not full
    log.info("Motion energy: %s frames have no 8-bit luma plane; converting them to grey", name)
    return (lambda f: f.to_ndarray(format="gray")), False


def motion_energy(
    path: str | os.PathLike[str],
    rois: Mapping[str, Rect | Polygon],
    *,
    threshold: float = 10,
    info: VideoInfo | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Motion energy of each region of interest, frame by frame (MEA's frame differencing).

    Parameters
    ----------
    path : str or os.PathLike
        The video file.
    rois : mapping of str to rectangle or polygon
        Region name -> ``(x, y, width, height)`` or a polygon ``[(x, y), (x, y), (x, y), ...]`` in
        pixels of the *displayed* frame (after the file's rotation, as a player shows it; a polygon
        covers the pixels OpenCV's ``fillPoly`` fills, its outline included). Regions must lie inside
        the frame; they may overlap.
    threshold : float
        Noise threshold in grey levels (0-255): a pixel has changed when its grey level differs from
        the previous frame's by more than this (see the module notes on limited-range luma).
    info : VideoInfo, optional
        The file's :func:`probe` result (probed without checksum when not given); its frame
        timestamps and rotation are used.
    progress : callable, optional
        Called as ``progress(frames_done, frame_count)`` about every 1% of the frames and at the end.

    Returns
    -------
    pandas.DataFrame
        Indexed by frame time in ms (``time_ms``, the file's own frame timestamps), one float column
        per region in the order given: the proportion of the region's pixels that changed since the
        previous frame. The first frame has no previous frame: NaN. ``attrs`` holds ``threshold``,
        ``luma_threshold`` (the threshold on the luma scale actually used), ``roi_pixels`` (pixels per
        region), ``fps`` and ``source``.

    Raises
    ------
    workbench.errors.MediaError
        If the file cannot be opened or decoded.
    ValueError
        If a region is malformed or reaches outside the frame, or ``threshold`` is not in [0, 255).

    Examples
    --------
    >>> energy = motion_energy("session.mp4", {"parent": (0, 0, 640, 720), "child": (640, 0, 640, 720)})
    ... # doctest: +SKIP
    >>> energy["child"].idxmax()  # the frame time (ms) with the most movement of the child  # doctest: +SKIP
    """
    threshold = float(threshold)
    if not 0 <= threshold < 255:
        raise ValueError(f"Expected 'threshold' in grey levels, 0 <= threshold < 255, but got {threshold!r}.")
    if info is None or info.pts.size != info.frame_count:
        info = probe(path, checksum=False)
    regions = _regions(rois, info)
    expected = max(int(info.frame_count), 1)
    values = np.full((expected, len(regions)), np.nan)
    pts = np.zeros(expected, dtype=np.int64)
    every = max(1, expected // 100)
    count = 0
    grey_of: Callable[[av.VideoFrame], np.ndarray] | None = None
    luma_threshold = threshold
    with open_input(path) as container:
        stream = first_video_stream(container)
        stream.thread_type = "AUTO"
        for other in container.streams:
            if other.index != stream.index:
                other.discard = av.stream.Discard.all
        previous_frame: av.VideoFrame | None = None  # keeps the previous grey views' buffer alive
        try:
            for frame in container.decode(stream):
                if grey_of is None:
                    grey_of, limited = _grey_source(frame)
                    luma_threshold = threshold * 219.0 / 255.0 if limited else threshold
                grey = grey_of(frame)
                if grey.shape != (info.height, info.width):
                    raise media_error(
                        path,
                        f"changes frame size at frame {count} ({grey.shape[1]}x{grey.shape[0]} instead of "
                        f"{info.width}x{info.height})",
                    )
                if count == values.shape[0]:  # more frames than the packets promised: grow
                    values = np.concatenate([values, np.full_like(values, np.nan)])
                    pts = np.concatenate([pts, np.zeros_like(pts)])
                for k, region in enumerate(regions):
                    crop = grey[region.y0 : region.y1, region.x0 : region.x1]
                    if region.previous is not None:
                        diff = cv2.absdiff(crop, region.previous, dst=region.buffer)
                        cv2.threshold(diff, luma_threshold, 255, cv2.THRESH_BINARY, dst=diff)
                        if region.mask is not None:
                            cv2.bitwise_and(diff, region.mask, dst=diff)
                        region.buffer = diff
                        values[count, k] = cv2.countNonZero(diff) / region.pixels
                    region.previous = crop
                fallback = int(info.pts[count]) if count < info.pts.size else int(pts[count - 1]) + 1
                pts[count] = frame.pts if frame.pts is not None else fallback
                previous_frame = frame
                count += 1
                if progress is not None and count % every == 0:
                    progress(count, expected)
        except AV_ERRORS as exc:
            raise media_error(path, f"could not be decoded after frame {count}", exc) from exc
        del previous_frame
    if count == 0:
        raise MediaError(
            f"Expected a video file with a video stream, but {os.fspath(path)!r} decoded to no frames."
        )
    if progress is not None and count % every != 0:
        progress(count, max(count, expected))
    if count != info.frame_count:
        log.info("%s: decoded %d frames, probe counted %d", path, count, info.frame_count)
    times = pts_to_ms(pts[:count], info.start_pts, info.time_base)
    table = pd.DataFrame(
        values[:count],
        index=pd.Index(times, name="time_ms"),
        columns=[r.name for r in regions],
    )
    table.attrs.update(
        {
            "threshold": threshold,
            "luma_threshold": luma_threshold,
            "roi_pixels": {r.name: r.pixels for r in regions},
            "fps": info.fps,
            "source": os.fspath(path),
        }
    )
    return table

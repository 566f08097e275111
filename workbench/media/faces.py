"""Face detection and blurring for stills (de-identification), with no model downloaded.

The detector is OpenCV's Haar cascade (Viola-Jones) for frontal faces, plus the profile-face
cascade run on the image and its mirror. OpenCV 5 moved ``CascadeClassifier`` and the cascade
files out of the main wheels (opencv/opencv#25198), so:

- the cascade XML comes from ``cv2.data.haarcascades`` when that folder has it (OpenCV 4
  wheels), else from the copies shipped inside this package (``workbench/media/data/``);
- detection uses ``cv2.CascadeClassifier`` when this OpenCV has it, else a NumPy
  implementation of the same algorithm (:class:`HaarCascade`: integral images, variance-
  normalised Haar features, boosted stages with early rejection, a 1.1 scale pyramid and
  OpenCV's rectangle grouping).

A Haar cascade finds upright faces of reasonable size; it misses small, turned or covered
faces. Blurring is therefore conservative (the box is padded) and a report says that stills
were blurred, not that they are anonymous. Use ``blur_faces(image, everything=True)`` to blur a
whole still when in doubt.

Examples
--------
>>> import numpy as np
>>> from workbench.media.faces import blur_faces
>>> image = np.zeros((120, 160, 3), np.uint8)
>>> blurred, boxes = blur_faces(image)
>>> boxes
[]
"""

from __future__ import annotations

import gzip
import logging
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from workbench.errors import MediaError

__all__ = ["FaceBox", "HaarCascade", "blur_faces", "blur_still", "detect_faces", "detector_description"]

log = logging.getLogger("workbench.media")

_DATA = Path(__file__).resolve().parent / "data"
FRONTAL = "haarcascade_frontalface_default.xml"
PROFILE = "haarcascade_profileface.xml"


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A detected face: pixel box and which cascade found it (``"frontal"``, ``"profile"``)."""

    x: int
    y: int
    width: int
    height: int
    detector: str = "frontal"


# -- the cascade --------------------------------------------------------------------------------------


def _cascade_text(name: str) -> tuple[str, str]:
    """(XML text, where it came from) for a cascade file name."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", "") or ""
    path = Path(folder) / name if folder else None
    if path is not None and path.is_file():
        return path.read_text(encoding="utf-8"), f"OpenCV's {name}"
    packed = _DATA / f"{name}.gz"
    try:
        return gzip.decompress(packed.read_bytes()).decode("utf-8"), f"{name} shipped with the workbench"
    except OSError as exc:
        raise MediaError(f"Expected the face detector {name} in {_DATA.name}/ of the workbench, but it cannot be "
                         f"read ({exc}); reinstall the package.") from exc


class HaarCascade:
    """A boosted Haar cascade (OpenCV's XML format) evaluated with NumPy.

    It follows OpenCV's ``CascadeClassifier`` for ``HAAR`` stump and tree cascades without tilted
    features: each window's features are sums of weighted rectangles from the integral image,
    divided by the window's ``area * standard deviation`` (inner window, 1 pixel margin); a weak
    classifier adds its left leaf when the value is below its threshold, else its right leaf; a
    window passes a stage when the sum reaches the stage threshold.
    """

    def __init__(self, xml: str, source: str = "<xml>") -> None:
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as exc:
            raise MediaError(f"Expected a Haar cascade XML in {source}, but it cannot be parsed: {exc}") from exc
        c = root.find("cascade")
        if c is None or (c.findtext("featureType") or "").strip() != "HAAR":
            raise MediaError(f"Expected a HAAR cascade (OpenCV's new XML format) in {source}, but got another kind.")
        self.source = source
        self.width = int(c.findtext("width") or 0)
        self.height = int(c.findtext("height") or 0)
        feats = []
        for f in c.find("features"):  # type: ignore[union-attr]
            if (f.findtext("tilted") or "0").strip() == "1":
                raise MediaError(f"Expected upright Haar features in {source}, but it has tilted ones.")
            rects = [[float(v) for v in r.text.split()] for r in f.find("rects")]  # type: ignore[union-attr]
            rects += [[0, 0, 0, 0, 0.0]] * (3 - len(rects))
            feats.append(rects)
        self.features = np.asarray(feats, dtype=np.float64)  # (n, 3, 5): x, y, w, h, weight
        self.stages: list[tuple[float, list[tuple[np.ndarray, np.ndarray]]]] = []
        for s in c.find("stages"):  # type: ignore[union-attr]
            weak = []
            for w in s.find("weakClassifiers"):  # type: ignore[union-attr]
                nodes = np.asarray(w.findtext("internalNodes").split(), dtype=np.float64).reshape(-1, 4)
                leaves = np.asarray(w.findtext("leafValues").split(), dtype=np.float64)
                weak.append((nodes, leaves))
            self.stages.append((float(s.findtext("stageThreshold")), weak))
        # stump stages as arrays, to evaluate all of a stage's features at once for few windows
        self._stumps: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None] = []
        for _, weak in self.stages:
            if all(len(nodes) == 1 for nodes, _ in weak):
                fidx = np.array([int(nodes[0][2]) for nodes, _ in weak], dtype=np.int64)
                thr = np.array([nodes[0][3] for nodes, _ in weak], dtype=np.float64)
                left = np.array([leaves[int(-nodes[0][0])] for nodes, leaves in weak], dtype=np.float64)
                right = np.array([leaves[int(-nodes[0][1])] for nodes, leaves in weak], dtype=np.float64)
                self._stumps.append((fidx, thr, left, right))
            else:
                self._stumps.append(None)

    def _windows(self, gray: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Windows of one pyramid level that pass every stage: their top-left corners.

        While most windows are alive, features are computed for the whole grid at once from strided
        views of the integral image; once few survive, only theirs are gathered (flat indices).
        """
        h, w = gray.shape
        ii, sq = cv2.integral2(gray, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
        ny, nx = (h - self.height) // step + 1, (w - self.width) // step + 1
        if ny <= 0 or nx <= 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        stride = ii.shape[1]

        def dense(table: np.ndarray, x: int, y: int, bw: int, bh: int) -> np.ndarray:
            ys0, xs0 = slice(y, y + (ny - 1) * step + 1, step), slice(x, x + (nx - 1) * step + 1, step)
            ys1 = slice(y + bh, y + bh + (ny - 1) * step + 1, step)
            xs1 = slice(x + bw, x + bw + (nx - 1) * step + 1, step)
            return (table[ys1, xs1] - table[ys0, xs1] - table[ys1, xs0] + table[ys0, xs0]).ravel()

        flat = ii.ravel()

        def sparse(base: np.ndarray, x: int, y: int, bw: int, bh: int) -> np.ndarray:
            o00 = y * stride + x
            o01, o10, o11 = o00 + bw, o00 + bh * stride, o00 + bh * stride + bw
            return flat[base + o11] - flat[base + o01] - flat[base + o10] + flat[base + o00]

        # variance normalisation over the inner window (1 pixel margin), as OpenCV does
        area = (self.width - 2) * (self.height - 2)
        s = dense(ii, 1, 1, self.width - 2, self.height - 2)
        q = dense(sq, 1, 1, self.width - 2, self.height - 2)
        nf = area * q - s * s
        nf = np.where(nf > 0, np.sqrt(np.maximum(nf, 0)), 1.0)
        gy, gx = np.divmod(np.arange(ny * nx, dtype=np.int64), nx)
        alive = np.arange(ny * nx, dtype=np.int64)  # indices into the grid
        is_dense = True
        base = np.empty(0, np.int64)

        def feature(idx: int, sel: np.ndarray | None = None) -> np.ndarray:
            total: np.ndarray | float = 0.0
            for rx, ry, rw, rh, weight in self.features[idx]:
                if weight == 0:
                    continue
                if is_dense:
                    part = dense(ii, int(rx), int(ry), int(rw), int(rh))
                else:
                    part = sparse(base if sel is None else base[sel], int(rx), int(ry), int(rw), int(rh))
                total = total + weight * part
            return np.asarray(total, dtype=np.float64)

        for stage_index, (threshold, weak) in enumerate(self.stages):
            if alive.size == 0:
                break
            if is_dense and alive.size < 0.3 * ny * nx:
                is_dense = False
                nf = nf[alive]
                base = (gy[alive] * step) * stride + gx[alive] * step
            stumps = self._stumps[stage_index]
            if not is_dense and stumps is not None:
                passed = self._stage_sparse(flat, stride, base, nf, stumps) >= threshold
                alive, nf, base = alive[passed], nf[passed], base[passed]
                continue
            count = ny * nx if is_dense else alive.size
            score = np.zeros(count, dtype=np.float64)
            norm = nf
            for nodes, leaves in weak:
                if len(nodes) == 1:  # a stump
                    left, right, fidx, thr = nodes[0]
                    value = feature(int(fidx)) / norm
                    score += np.where(value < thr, leaves[int(-left)], leaves[int(-right)])
                    continue
                node = np.zeros(count, dtype=np.int64)  # a tree: walk it window by window
                leaf = np.full(count, -1, dtype=np.int64)
                for _ in range(len(nodes)):
                    todo = leaf < 0
                    if not todo.any():
                        break
                    for k in np.unique(node[todo]):
                        sel = todo & (node == k)
                        left, right, fidx, thr = nodes[k]
                        full = feature(int(fidx)) if is_dense else feature(int(fidx), sel)
                        value = (full[sel] if is_dense else full) / norm[sel]
                        nxt = np.where(value < thr, left, right).astype(np.int64)
                        node[sel] = np.where(nxt > 0, nxt, node[sel])
                        leaf[sel] = np.where(nxt <= 0, -nxt, -1)
                score += leaves[leaf]
            passed = score >= threshold
            if is_dense:
                alive = alive[passed[alive]]
            else:
                alive, nf, base = alive[passed], nf[passed], base[passed]
        return gx[alive] * step, gy[alive] * step

    def _stage_sparse(self, flat: np.ndarray, stride: int, base: np.ndarray, nf: np.ndarray,
                      stumps: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        """A stump stage's score for a few windows: all its features gathered at once (in chunks)."""
        fidx, thr, left, right = stumps
        rects = self.features[fidx]  # (F, 3, 5)
        x, y = rects[..., 0].astype(np.int64), rects[..., 1].astype(np.int64)
        w, h = rects[..., 2].astype(np.int64), rects[..., 3].astype(np.int64)
        o00 = y * stride + x
        offsets = np.stack([o00 + h * stride + w, o00 + w, o00 + h * stride, o00], axis=-1)  # (F, 3, 4)
        signs = np.array([1.0, -1.0, -1.0, 1.0])
        weights = rects[..., 4]  # (F, 3)
        out = np.empty(base.size, dtype=np.float64)
        chunk = max(1, 1_500_000 // max(1, offsets.size))
        for start in range(0, base.size, chunk):
            b = base[start: start + chunk]
            sums = flat[b[:, None, None, None] + offsets[None]] @ signs  # (n, F, 3)
            value = (sums * weights[None]).sum(axis=-1) / nf[start: start + chunk, None]
            out[start: start + chunk] = np.where(value < thr[None], left[None], right[None]).sum(axis=1)
        return out

    def detect(self, gray: np.ndarray, *, scale_factor: float = 1.1, min_neighbors: int = 3,
               min_size: int = 0) -> list[tuple[int, int, int, int]]:
        """Face boxes ``(x, y, w, h)`` in a grayscale image, grouped as OpenCV groups them."""
        if gray.ndim != 2:
            raise ValueError(f"Expected a grayscale image (2 dimensions), but got shape {gray.shape}.")
        h, w = gray.shape
        found: list[tuple[int, int, int, int]] = []
        factor = 1.0
        while True:
            win_w, win_h = round(self.width * factor), round(self.height * factor)
            sw, sh = round(w / factor), round(h / factor)
            if sw < self.width or sh < self.height or win_w > w or win_h > h:
                break
            if win_w >= min_size and win_h >= min_size:
                scaled = gray if factor == 1.0 else cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_LINEAR)
                xs, ys = self._windows(scaled, 1 if factor > 2 else 2)
                found.extend((round(x * factor), round(y * factor), win_w, win_h) for x, y in zip(xs, ys, strict=True))
            factor *= scale_factor
        return group_rectangles(found, min_neighbors, 0.2)


def group_rectangles(rects: list[tuple[int, int, int, int]], threshold: int, eps: float) -> list[
        tuple[int, int, int, int]]:
    """OpenCV's ``groupRectangles``: cluster similar boxes, keep clusters of more than ``threshold``
    members as their average, and drop boxes inside a stronger one."""
    n = len(rects)
    if n == 0 or threshold <= 0:
        return list(rects)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        x1, y1, w1, h1 = rects[i]
        for j in range(i + 1, n):
            x2, y2, w2, h2 = rects[j]
            delta = eps * (min(w1, w2) + min(h1, h2)) * 0.5
            if (abs(x1 - x2) <= delta and abs(y1 - y2) <= delta and abs(x1 + w1 - x2 - w2) <= delta
                    and abs(y1 + h1 - y2 - h2) <= delta):
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    averaged = []
    for members in groups.values():
        if len(members) <= threshold:
            continue
        arr = np.asarray([rects[i] for i in members], dtype=np.float64)
        x, y, w, h = (round(float(v)) for v in arr.mean(axis=0))
        averaged.append(((x, y, w, h), len(members)))
    out = []
    for i, (r1, n1) in enumerate(averaged):
        inside = False
        for j, (r2, n2) in enumerate(averaged):
            if i == j or n2 <= threshold:
                continue
            dx, dy = round(r2[2] * eps), round(r2[3] * eps)
            if (r1[0] >= r2[0] - dx and r1[1] >= r2[1] - dy and r1[0] + r1[2] <= r2[0] + r2[2] + dx
                    and r1[1] + r1[3] <= r2[1] + r2[3] + dy and (n2 > max(3, n1) or n1 < 3)):
                inside = True
                break
        if not inside:
            out.append(r1)
    return sorted(out)


@cache
def _detector(name: str) -> tuple[object, str]:
    xml, source = _cascade_text(name)
    if hasattr(cv2, "CascadeClassifier"):
        folder = getattr(getattr(cv2, "data", None), "haarcascades", "") or ""
        path = Path(folder) / name
        if not path.is_file():
            import tempfile

            path = Path(tempfile.mkdtemp(prefix="workbench-haar-")) / name
            path.write_text(xml, encoding="utf-8")
        classifier = cv2.CascadeClassifier(os.fspath(path))
        if not classifier.empty():
            return classifier, f"{source} (OpenCV CascadeClassifier)"
    return HaarCascade(xml, source), f"{source} (NumPy evaluation)"


def detector_description() -> str:
    """Which cascade files and which implementation detect faces here."""
    return "; ".join(_detector(n)[1] for n in (FRONTAL, PROFILE))


def _run(name: str, gray: np.ndarray, min_size: int, min_neighbors: int) -> list[tuple[int, int, int, int]]:
    det, _ = _detector(name)
    if isinstance(det, HaarCascade):
        return det.detect(gray, scale_factor=1.1, min_neighbors=min_neighbors, min_size=min_size)
    boxes = det.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=min_neighbors,  # type: ignore[attr-defined]
                                 minSize=(min_size, min_size))
    return [tuple(int(v) for v in b) for b in boxes]  # type: ignore[misc]


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"Expected an 8-bit image array (H x W or H x W x 3), but got "
                         f"{getattr(image, 'dtype', type(image).__name__)} with shape {getattr(image, 'shape', '?')}.")
    return image


def detect_faces(image: np.ndarray, *, profile: bool = True, min_size: int = 24, min_neighbors: int = 3,
                 max_side: int = 480) -> list[FaceBox]:
    """Faces in an image (BGR or grayscale, uint8): frontal, and with ``profile`` both profiles.

    Large images are searched at a reduced size (longest side ``max_side``) and the boxes scaled
    back.
    """
    image = _as_bgr(image)
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = 1.0
    if max(gray.shape) > max_side:
        scale = max_side / max(gray.shape)
        gray = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)),
                          interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    min_px = max(1, round(min_size * scale))
    boxes = [(*b, "frontal") for b in _run(FRONTAL, gray, min_px, min_neighbors)]
    if profile:
        boxes += [(*b, "profile") for b in _run(PROFILE, gray, min_px, min_neighbors)]
        w = gray.shape[1]
        boxes += [(w - x - bw, y, bw, bh, "profile") for x, y, bw, bh in
                  _run(PROFILE, cv2.flip(gray, 1), min_px, min_neighbors)]
    out = [FaceBox(round(x / scale), round(y / scale), round(bw / scale), round(bh / scale), kind)
           for x, y, bw, bh, kind in boxes]
    return sorted(out, key=lambda b: (b.y, b.x, b.detector))


def _obscure(region: np.ndarray, cells: int = 6) -> np.ndarray:
    """The region reduced to about ``cells`` x ``cells`` colours, smoothly enlarged and blurred: no facial
    structure survives (a mosaic of small blocks would keep enough for a detector, and for a person)."""
    h, w = region.shape[:2]
    small = cv2.resize(region, (max(1, min(cells, w)), max(1, min(cells, h))), interpolation=cv2.INTER_AREA)
    out = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    k = max(3, (min(h, w) // 6) | 1)
    return cv2.GaussianBlur(out, (k, k), 0)


def _blur_box(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """Obscure the ellipse inscribed in the box, feathered into its surroundings (in place)."""
    region = image[y0:y1, x0:x1]
    h, w = region.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, h // 2), (max(1, w // 2), max(1, h // 2)), 0, 0, 360, 1.0, -1)
    k = max(3, (min(h, w) // 8) | 1)
    mask = cv2.GaussianBlur(mask, (k, k), 0)
    mask = np.maximum(mask, cv2.erode(mask, np.ones((3, 3), np.uint8)))  # the core stays fully obscured
    if region.ndim == 3:
        mask = mask[..., None]
    mixed = _obscure(region).astype(np.float32) * mask + region.astype(np.float32) * (1 - mask)
    image[y0:y1, x0:x1] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def blur_faces(image: np.ndarray, faces: list[FaceBox] | None = None, *, padding: float = 0.25,
               everything: bool = False) -> tuple[np.ndarray, list[FaceBox]]:
    """A copy of ``image`` with every face obscured: the ellipse in its box (grown by ``padding``) is
    reduced to a few colours and blurred, feathered at the edge.

    Parameters
    ----------
    image : ndarray
        BGR or grayscale uint8.
    faces : list of FaceBox, optional
        The boxes to blur (default: :func:`detect_faces`).
    padding : float
        Grow each box by this share of its width and height on every side.
    everything : bool
        Blur the whole image (when faces must not be risked at all).

    Returns
    -------
    (ndarray, list of FaceBox)
        The blurred copy and the boxes blurred.
    """
    image = _as_bgr(image)
    out = image.copy()
    if everything:
        return _obscure(out, cells=16), [FaceBox(0, 0, image.shape[1], image.shape[0], "everything")]
    boxes = detect_faces(image) if faces is None else list(faces)
    h, w = image.shape[:2]
    for b in boxes:
        px, py = round(b.width * padding), round(b.height * padding)
        x0, y0 = max(0, b.x - px), max(0, b.y - py)
        x1, y1 = min(w, b.x + b.width + px), min(h, b.y + b.height + py)
        if x1 > x0 and y1 > y0:
            _blur_box(out, x0, y0, x1, y1)
    return out, boxes


def blur_still(src: str | os.PathLike[str], dst: str | os.PathLike[str], **kwargs: object) -> list[FaceBox]:
    """Read an image file, blur its faces (see :func:`blur_faces`) and write it to ``dst``."""
    image = cv2.imread(os.fspath(src), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(f"Expected an image at {os.fspath(src)!r}, but it cannot be read.")
    out, boxes = blur_faces(image, **kwargs)  # type: ignore[arg-type]
    if not cv2.imwrite(os.fspath(dst), out):
        raise MediaError(f"Expected to write the blurred still to {os.fspath(dst)!r}, but OpenCV could not.")
    return boxes

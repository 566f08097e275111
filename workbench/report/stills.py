"""Stills as a report or a pack embeds them: read, face-blurred on request, scaled down, PNG bytes.

The one place in :mod:`workbench.report` that calls OpenCV: reports (:class:`~workbench.report.base.ReportData`)
and accreditation packs (:func:`~workbench.report.pack.build_pack`) both take their stills from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.model import Still
    from workbench.project import Project

__all__ = ["StillImage", "still_image"]


@dataclass(frozen=True, slots=True)
class StillImage:
    """A still encoded for a report: PNG bytes, their size and how many faces were blurred."""

    png: bytes
    width: int
    height: int
    blurred: bool
    faces: int


def still_image(
    project: Project,
    still: Still,
    *,
    blur_faces: bool = False,
    max_width: int | None = None,
    compression: int | None = None,
    where: str = "in the project's stills folder",
    damaged: str = " (missing or damaged file)",
) -> StillImage:
    """Read a still's image file and encode it as PNG, face-blurred and scaled down on request.

    Parameters
    ----------
    project : Project
        Where the still's file is (:meth:`Project.still_path`).
    still : Still
        The still.
    blur_faces : bool
        Blur the faces OpenCV finds (:func:`workbench.media.faces.blur_faces`).
    max_width : int, optional
        Scale the image down (area interpolation) to at most this many pixels across.
    compression : int, optional
        PNG compression level 0-9 (default: OpenCV's).
    where, damaged : str
        Said in the error after "the image of still N" and after "cannot be read".

    Raises
    ------
    WorkbenchError
        If the file is missing or cannot be decoded.
    """
    import cv2

    image = cv2.imread(str(project.still_path(still)), cv2.IMREAD_COLOR)
    if image is None:
        raise WorkbenchError(f"Expected the image of still {still.id} {where}, but it cannot be read{damaged}.")
    faces = 0
    if blur_faces:
        from workbench.media.faces import blur_faces as blur

        image, boxes = blur(image)
        faces = len(boxes)
    h, w = image.shape[:2]
    if max_width is not None and w > max_width:
        scale = max_width / w
        image = cv2.resize(image, (max_width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    params = [cv2.IMWRITE_PNG_COMPRESSION, int(compression)] if compression is not None else []
    ok, png = cv2.imencode(".png", image, params)
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
        raise WorkbenchError(f"Expected to encode still {still.id} as PNG, but OpenCV failed.")
    return StillImage(png=png.tobytes(), width=int(image.shape[1]), height=int(image.shape[0]), blurred=blur_faces,
                      faces=faces)

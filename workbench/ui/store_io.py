"""Every read and write of the review, in one place: what it loads, and the commands of its state run on the store.

:class:`ReviewStore` wraps the project for one recording's review. The review's state
(:mod:`workbench.ui.state`) never sees the store: it returns commands, which :meth:`ReviewStore.run` carries
out and answers with the stored record.

``add_annotation`` and ``update_annotation`` return the stored :class:`~workbench.model.Annotation` (with
its new version), so an edit costs its one write and no read of the row afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.annotations import AnnotationTable
from workbench.model import Comment, Moment, Recording, Session
from workbench.scheme import CodingScheme
from workbench.ui.rows import AnnotationLike, StoredAnnotation
from workbench.ui.state import (
    AddAnnotation,
    AddComment,
    AddMoment,
    AddStill,
    Command,
    DeleteAnnotation,
    UpdateAnnotation,
    UpdateMoment,
)

if TYPE_CHECKING:
    from workbench.project import Project

__all__ = ["Project", "ReviewStore"]


class ReviewStore:
    """The project as one recording's review uses it.

    Parameters
    ----------
    project : Project
        The open project; every write is one transaction of it.
    recording : Recording or int
        The recording reviewed.
    """

    def __init__(self, project: Project, recording: Recording | int) -> None:
        self.project = project
        self.recording: Recording = project.recording(recording)

    # -- reads -------------------------------------------------------------------------------------------

    @property
    def scheme(self) -> CodingScheme:
        """The project's coding scheme."""
        return self.project.scheme

    @property
    def coder(self) -> str:
        """The project's coder (who codes when the review is not told)."""
        return self.project.coder

    def session(self) -> Session:
        """The recording's session."""
        return self.project.session(self.recording.session_id)

    def guider(self) -> str:
        """The guider of the recording's case ('' if none is recorded)."""
        return self.project.case(self.session().case_id).guider.strip()

    def actors(self) -> list[str]:
        """The labels of the case's participants, in the store's order."""
        return [p.label for p in self.project.participants(self.session().case_id)]

    def frame_times(self) -> list[int]:
        """The recording's frame timestamps (ms)."""
        return [int(t) for t in self.project.frame_times(self.recording)]

    def annotations(self, coder: str | None = None) -> AnnotationTable:
        """The recording's annotations (by ``coder``; None: everyone's), with their versions."""
        return self.project.annotations(self.recording, coder=coder)

    def moments(self) -> list[Moment]:
        """The recording's moments."""
        return self.project.moments(self.recording)

    def comments(self) -> list[Comment]:
        """The recording's comments."""
        return self.project.comments(self.recording)

    def annotation(self, annotation_id: int) -> AnnotationLike:
        """One stored annotation."""
        return _record(self.project.annotation(annotation_id))

    # -- the state's commands ------------------------------------------------------------------------------

    def run(self, command: Command) -> Any:
        """Carry out a command of :class:`~workbench.ui.state.ReviewState`; return what it stored (None: deleted).

        Raises
        ------
        WorkbenchError
            What the store raises: ``ConflictError`` for a stale version, ``AnnotationError`` naming the
            field of an invalid edit, ``NotFoundError`` for a row that is gone.
        """
        p, rec = self.project, self.recording
        match command:
            case AddAnnotation():
                c = command
                return p.add_annotation(rec, c.actor, c.code, c.onset_ms, c.offset_ms, coder=c.coder, note=c.note)
            case UpdateAnnotation():
                return p.update_annotation(command.id, expected_version=command.expected_version,
                                           **dict(command.changes))  # fmt: skip
            case DeleteAnnotation():
                p.delete_annotation(command.id, expected_version=command.expected_version)
                return None
            case AddMoment():
                return p.add_moment(rec, command.onset_ms, command.offset_ms, command.title)
            case UpdateMoment():
                return p.update_moment(command.id, expected_version=command.expected_version, **dict(command.changes))
            case AddStill():
                return p.add_still(rec, command.time_ms, caption=command.caption)
            case AddComment():
                return p.add_comment(rec, command.time_ms, command.author, command.text, status=command.status)
        raise TypeError(f"Expected a command of workbench.ui.state, but got {command!r}.")

    # -- media ---------------------------------------------------------------------------------------------

    @property
    def folder(self) -> Path | None:
        """The project folder (None for a project without one)."""
        return self.project.folder

    def media_path(self, recording: Recording | None = None) -> Path:
        """The film of ``recording`` (default: the reviewed one) on disk."""
        return self.project.media_path(recording or self.recording)

    def session_recordings(self) -> list[Recording]:
        """The recordings of the reviewed recording's session."""
        return self.project.recordings(self.recording.session_id)

    def add_recording(self, path: Path, *, label: str, copy: bool = True) -> Recording:
        """Register a film in the reviewed recording's session (copied into the project unless ``copy=False``)."""
        return self.project.add_recording(self.session(), path, copy=copy, label=label)


def _record(row: Any) -> AnnotationLike:
    """An annotation as the state takes it: today's dict from the store, or the store's record."""
    return StoredAnnotation.of(row) if isinstance(row, Mapping) else row

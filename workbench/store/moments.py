"""Moments, with their stills, and comments: the repository of what is marked in a recording.

A moment is a segment "better than usual"; a still is one exact frame kept as an image (with
its caption), linked to a moment or not; a comment is a supervisor's word at a time. The store
never decodes a frame: :meth:`MomentRepository.plan_still` checks a still and says where its
image goes, :meth:`workbench.project.Project.add_still` writes the image there, and
:meth:`MomentRepository.register_still` stores the row.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from workbench.model import Comment, CommentStatus, Moment, Recording, Still, parse_enum
from workbench.store import schema as t
from workbench.store import values as checks
from workbench.store.kernel import Kernel, now, utc
from workbench.store.recordings import RecordingRepository
from workbench.store.recordings import duration as recording_duration

__all__ = ["MomentRepository", "PlannedStill"]


@dataclasses.dataclass(frozen=True)
class PlannedStill:
    """A still checked and ready to be written: the frame to take and where its image goes.

    Attributes
    ----------
    recording : Recording
        The recording the frame is of.
    time_ms : int
        The frame's time (within the recording).
    caption : str
        The still's caption.
    moment_id : int or None
        The moment it illustrates (of the same recording).
    path : Path
        Where the PNG goes (``<folder>/stills/rec<id>-<time>ms-<random>.png``).
    stored : str
        How the row names the image (relative to the project folder).
    """

    recording: Recording
    time_ms: int
    caption: str
    moment_id: int | None
    path: Path
    stored: str


def _moment(r: Row) -> Moment:
    return Moment(
        id=r.id,
        recording_id=r.recording_id,
        onset_ms=int(r.onset_ms),
        offset_ms=int(r.offset_ms),
        title=r.title,
        reason=r.reason,
        reflection=r.reflection,
        version=r.version,
    )


def _still(r: Row) -> Still:
    return Still(
        id=r.id,
        recording_id=r.recording_id,
        time_ms=int(r.time_ms),
        image_path=r.image_path,
        caption=r.caption,
        moment_id=r.moment_id,
        version=r.version,
    )


def _comment(r: Row) -> Comment:
    return Comment(
        id=r.id,
        recording_id=r.recording_id,
        time_ms=int(r.time_ms),
        author=r.author,
        text=r.text,
        status=CommentStatus(r.status),
        created_at=utc(r.created_at),
        version=r.version,
    )


class MomentRepository:
    """Mark, read, change and delete moments, stills and comments."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    # -- moments --------------------------------------------------------------------------

    def add_moment(
        self,
        recording: Recording | int,
        onset_ms: int,
        offset_ms: int,
        title: str,
        reason: str = "",
        reflection: str = "",
    ) -> Moment:
        """Mark a moment ("better than usual") of a recording.

        Raises
        ------
        ValueError
            If the span is not inside the recording or the title is empty.
        """
        rid = Kernel.id_of(recording, "recording", Recording)
        title = checks.text(title, "title")
        reason, reflection = (
            checks.text(reason, "reason", required=False),
            checks.text(reflection, "reflection", required=False),
        )
        with self.kernel.write() as conn:
            on, off = checks.span(onset_ms, offset_ms, recording_duration(conn, rid), rid)
            row = conn.execute(
                sa.insert(t.moments)
                .values(recording_id=rid, onset_ms=on, offset_ms=off, title=title, reason=reason, reflection=reflection)
                .returning(*t.moments.c)
            ).one()
            self.kernel.added(conn, "moment", row)
        return _moment(row)

    def moments(self, recording: Recording | int | None = None) -> list[Moment]:
        """Moments of a recording (or all), by recording and onset."""
        q = sa.select(t.moments).order_by(t.moments.c.recording_id, t.moments.c.onset_ms, t.moments.c.id)
        if recording is not None:
            q = q.where(t.moments.c.recording_id == Kernel.id_of(recording, "recording", Recording))
        with self.kernel.read() as conn:
            return [_moment(r) for r in conn.execute(q)]

    def moment(self, moment_id: Moment | int) -> Moment:
        """One moment by id."""
        return _moment(self.kernel.get(t.moments, Kernel.id_of(moment_id, "moment", Moment), "moment"))

    def update_moment(self, moment_id: Moment | int, *, expected_version: int | None = None, **changes: Any) -> Moment:
        """Change a moment's ``onset_ms``, ``offset_ms``, ``title``, ``reason`` or ``reflection``."""
        checks.check_changes(changes, ("onset_ms", "offset_ms", "title", "reason", "reflection"), "moment")
        mid = Kernel.id_of(moment_id, "moment", Moment)
        values = dict(changes)
        if "title" in values:
            values["title"] = checks.text(values["title"], "title")
        for key in ("reason", "reflection"):
            if key in values:
                values[key] = checks.text(values[key], key, required=False)
        with self.kernel.write() as conn:
            cur = Kernel.require(conn, t.moments, mid, "moment", lock=True)
            if "onset_ms" in values or "offset_ms" in values:
                values["onset_ms"], values["offset_ms"] = checks.span(
                    values.get("onset_ms", cur.onset_ms),
                    values.get("offset_ms", cur.offset_ms),
                    recording_duration(conn, cur.recording_id),
                    cur.recording_id,
                )
            row = self.kernel.update(conn, t.moments, "moment", mid, expected_version, values)
        return _moment(row)

    def delete_moment(self, moment_id: Moment | int, *, expected_version: int | None = None) -> None:
        """Delete a moment (its stills stay, no longer linked to it)."""
        mid = Kernel.id_of(moment_id, "moment", Moment)
        with self.kernel.write() as conn:
            self.kernel.delete(conn, t.moments, "moment", mid, expected_version)

    # -- stills ---------------------------------------------------------------------------

    def plan_still(
        self, recording: Recording | int, time_ms: int, caption: str = "", moment: Moment | int | None = None
    ) -> PlannedStill:
        """Check a still before its frame is written, and choose where its image goes.

        Raises
        ------
        ReadOnlyProjectError
            If the project is read-only.
        ValueError
            If ``time_ms`` is outside the recording or the moment is of another recording.
        """
        self.kernel.writable()
        rec = recording if isinstance(recording, Recording) else RecordingRepository(self.kernel).recording(recording)
        caption = checks.text(caption, "caption", required=False)
        ms = checks.time_in(time_ms, rec.duration_ms, rec.id)
        mid = None if moment is None else Kernel.id_of(moment, "moment", Moment)
        if mid is not None and self.moment(mid).recording_id != rec.id:
            raise ValueError(f"Expected a moment of recording {rec.id}, but moment {mid} is of another recording.")
        folder = self.kernel.need_folder("stills")
        out = folder / "stills" / f"rec{rec.id}-{ms:09d}ms-{uuid.uuid4().hex[:8]}.png"
        return PlannedStill(rec, ms, caption, mid, out, out.relative_to(folder).as_posix())

    def register_still(self, plan: PlannedStill) -> Still:
        """Store the row of a still whose image was written where ``plan`` says (one transaction, audited)."""
        with self.kernel.write() as conn:
            Kernel.require(conn, t.recordings, plan.recording.id, "recording")
            if plan.moment_id is not None:
                Kernel.require(conn, t.moments, plan.moment_id, "moment")
            row = conn.execute(
                sa.insert(t.stills)
                .values(
                    recording_id=plan.recording.id,
                    time_ms=plan.time_ms,
                    image_path=plan.stored,
                    caption=plan.caption,
                    moment_id=plan.moment_id,
                )
                .returning(*t.stills.c)
            ).one()
            self.kernel.added(conn, "still", row)
        return _still(row)

    def stills(self, recording: Recording | int | None = None, moment: Moment | int | None = None) -> list[Still]:
        """Stills of a recording and/or a moment (or all), by recording and time."""
        q = sa.select(t.stills).order_by(t.stills.c.recording_id, t.stills.c.time_ms, t.stills.c.id)
        if recording is not None:
            q = q.where(t.stills.c.recording_id == Kernel.id_of(recording, "recording", Recording))
        if moment is not None:
            q = q.where(t.stills.c.moment_id == Kernel.id_of(moment, "moment", Moment))
        with self.kernel.read() as conn:
            return [_still(r) for r in conn.execute(q)]

    def still(self, still_id: Still | int) -> Still:
        """One still by id."""
        return _still(self.kernel.get(t.stills, Kernel.id_of(still_id, "still", Still), "still"))

    def still_path(self, still: Still | int) -> Path:
        """Where the still's image file is (absolute path)."""
        s = still if isinstance(still, Still) else self.still(still)
        return self.kernel.file(s.image_path)

    def delete_still(self, still_id: Still | int, *, expected_version: int | None = None) -> None:
        """Delete a still and its image file."""
        sid = Kernel.id_of(still_id, "still", Still)
        with self.kernel.write() as conn:
            path = Kernel.require(conn, t.stills, sid, "still").image_path
            self.kernel.delete(conn, t.stills, "still", sid, expected_version)
        self.kernel.remove_files([("still", path)])

    # -- comments -------------------------------------------------------------------------

    def add_comment(
        self,
        recording: Recording | int,
        time_ms: int,
        author: str,
        text: str,
        status: CommentStatus | str = "discuss",
    ) -> Comment:
        """Comment at a time of a recording (a supervisor's agree / discuss / revise)."""
        rid = Kernel.id_of(recording, "recording", Recording)
        values = {
            "author": checks.text(author, "author").strip(),
            "text": checks.text(text, "text"),
            "status": parse_enum(CommentStatus, status, "status").value,
        }
        with self.kernel.write() as conn:
            ms = checks.time_in(time_ms, recording_duration(conn, rid), rid)
            row = conn.execute(
                sa.insert(t.comments)
                .values(recording_id=rid, time_ms=ms, created_at=now(), **values)
                .returning(*t.comments.c)
            ).one()
            self.kernel.added(conn, "comment", row)
        return _comment(row)

    def comments(self, recording: Recording | int | None = None) -> list[Comment]:
        """Comments of a recording (or all), by recording and time."""
        q = sa.select(t.comments).order_by(t.comments.c.recording_id, t.comments.c.time_ms, t.comments.c.id)
        if recording is not None:
            q = q.where(t.comments.c.recording_id == Kernel.id_of(recording, "recording", Recording))
        with self.kernel.read() as conn:
            return [_comment(r) for r in conn.execute(q)]

    def comment(self, comment_id: Comment | int) -> Comment:
        """One comment by id."""
        return _comment(self.kernel.get(t.comments, Kernel.id_of(comment_id, "comment", Comment), "comment"))

    def update_comment(
        self, comment_id: Comment | int, *, expected_version: int | None = None, **changes: Any
    ) -> Comment:
        """Change a comment's ``time_ms``, ``author``, ``text`` or ``status``."""
        checks.check_changes(changes, ("time_ms", "author", "text", "status"), "comment")
        cid = Kernel.id_of(comment_id, "comment", Comment)
        values = dict(changes)
        if "author" in values:
            values["author"] = checks.text(values["author"], "author").strip()
        if "text" in values:
            values["text"] = checks.text(values["text"], "text")
        if "status" in values:
            values["status"] = parse_enum(CommentStatus, values["status"], "status").value
        with self.kernel.write() as conn:
            if "time_ms" in values:
                cur = Kernel.require(conn, t.comments, cid, "comment", lock=True)
                values["time_ms"] = checks.time_in(
                    values["time_ms"], recording_duration(conn, cur.recording_id), cur.recording_id
                )
            row = self.kernel.update(conn, t.comments, "comment", cid, expected_version, values)
        return _comment(row)

    def delete_comment(self, comment_id: Comment | int, *, expected_version: int | None = None) -> None:
        """Delete a comment."""
        cid = Kernel.id_of(comment_id, "comment", Comment)
        with self.kernel.write() as conn:
            self.kernel.delete(conn, t.comments, "comment", cid, expected_version)

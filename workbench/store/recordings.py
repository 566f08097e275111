"""Recordings: the repository of registered films and what probing them found.

The store never opens a video: :meth:`RecordingRepository.register` takes the facts a probe
found (:class:`RecordingFacts`) and where the file is kept. Probing and copying the film are
the job of :meth:`workbench.project.Project.add_recording`, which sits above the store and
:mod:`workbench.media`.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from workbench.errors import NotFoundError
from workbench.model import Case, Recording, Session
from workbench.store import schema as t
from workbench.store import values as checks
from workbench.store.kernel import Kernel, now

__all__ = ["RecordingFacts", "RecordingRepository", "duration", "pack_times", "unpack_times"]


@dataclasses.dataclass(frozen=True, eq=False)
class RecordingFacts:
    """What probing a film found, as the store keeps it (see :func:`workbench.media.probe`).

    Attributes
    ----------
    sha256 : str
        Hex SHA-256 of the file.
    duration_ms, frame_count : int
        Length in ms and number of frames.
    fps : float
        Nominal frame rate.
    width, height, rotation : int
        Stored frame size, and the clockwise rotation a player applies.
    codec : str
        The video codec.
    frame_times_ms : numpy.ndarray
        The real presentation time of every frame (int64 ms).
    """

    sha256: str
    duration_ms: int
    frame_count: int
    fps: float
    width: int
    height: int
    frame_times_ms: np.ndarray
    rotation: int = 0
    codec: str = ""

    @classmethod
    def of(cls, info: Any) -> RecordingFacts:
        """The facts of a probe's result (a :class:`~workbench.media.VideoInfo`, any object or mapping with
        these names; ``rotation`` and ``codec`` may be missing)."""

        def get(name: str, default: Any = None) -> Any:
            return info.get(name, default) if isinstance(info, Mapping) else getattr(info, name, default)

        return cls(
            sha256=str(get("sha256")),
            duration_ms=int(get("duration_ms")),
            frame_count=int(get("frame_count")),
            fps=float(get("fps")),
            width=int(get("width")),
            height=int(get("height")),
            frame_times_ms=np.asarray(get("frame_times_ms"), dtype=np.int64),
            rotation=int(get("rotation", 0) or 0),
            codec=str(get("codec", "") or ""),
        )


def _recording(r: Row) -> Recording:
    return Recording(
        id=r.id,
        session_id=r.session_id,
        path=r.path,
        sha256=r.sha256,
        duration_ms=int(r.duration_ms),
        frame_count=r.frame_count,
        fps=float(r.fps),
        width=r.width,
        height=r.height,
        rotation=r.rotation,
        codec=r.codec,
        label=r.label,
        version=r.version,
    )


def pack_times(times: Any) -> bytes:
    """Frame times (ms) -> zlib of their little-endian int64 differences (constant steps pack tiny)."""
    a = np.asarray(times, dtype=np.int64).ravel()
    steps = np.diff(a, prepend=np.int64(0)) if a.size else a
    return zlib.compress(steps.astype("<i8").tobytes(), 6)


def unpack_times(blob: bytes) -> np.ndarray:
    steps = np.frombuffer(zlib.decompress(bytes(blob)), dtype="<i8")
    return np.cumsum(steps, dtype=np.int64)


def duration(conn: Connection, recording_id: int) -> int:
    """The recording's duration in ms (NotFoundError if there is no such recording)."""
    row = conn.execute(sa.select(t.recordings.c.duration_ms).where(t.recordings.c.id == recording_id)).first()
    if row is None:
        raise NotFoundError(f"Expected an existing recording id, but got {recording_id}.")
    return int(row.duration_ms)


class RecordingRepository:
    """Register, read, relabel and delete recordings."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def register(
        self,
        session: Session | int,
        facts: RecordingFacts,
        *,
        path: str,
        label: str | None = None,
        original_name: str | None = None,
    ) -> Recording:
        """Store a probed film of a session (one transaction, audited).

        Parameters
        ----------
        session : Session or int
            The session it was filmed in.
        facts : RecordingFacts
            What probing it found.
        path : str
            Where the file is: relative to the project folder for a copy inside it, else absolute.
        label : str, optional
            How reports and the review name it. Default: ``"<session label>, film N"``.
        original_name : str, optional
            Protected: the file's name before it was copied in (exports are checked against it).
        """
        sid = Kernel.id_of(session, "session", Session)
        values = {
            "session_id": sid,
            "path": path,
            "sha256": str(facts.sha256),
            "duration_ms": int(facts.duration_ms),
            "frame_count": int(facts.frame_count),
            "fps": float(facts.fps),
            "width": int(facts.width),
            "height": int(facts.height),
            "rotation": int(facts.rotation),
            "codec": str(facts.codec),
            "label": checks.text(label or "", "label", required=False),
            "original_name": original_name,
            "frame_times": pack_times(facts.frame_times_ms),
            "created_at": now(),
        }
        with self.kernel.write() as conn:
            Kernel.require(conn, t.sessions, sid, "session")
            if not values["label"].strip():
                values["label"] = self._film_label(conn, sid)
            row = conn.execute(sa.insert(t.recordings).values(**values).returning(*t.recordings.c)).one()
            self.kernel.added(conn, "recording", row)
        return _recording(row)

    @staticmethod
    def _film_label(conn: Connection, session_id: int) -> str:
        """``"<session label>, film N"``: the next number in the session, unused by its recordings."""
        session = conn.execute(sa.select(t.sessions).where(t.sessions.c.id == session_id)).one()
        name = session.label or f"{session.kind} {session.date.isoformat()}"
        taken = set(
            conn.execute(sa.select(t.recordings.c.label).where(t.recordings.c.session_id == session_id)).scalars()
        )
        n = len(taken) + 1
        while f"{name}, film {n}" in taken:
            n += 1
        return f"{name}, film {n}"

    def recordings(self, session: Session | int | None = None, case: Case | int | str | None = None) -> list[Recording]:
        """Recordings of a session, of a case, or all, by id."""
        with self.kernel.read() as conn:
            q = sa.select(t.recordings).order_by(t.recordings.c.id)
            if session is not None:
                q = q.where(t.recordings.c.session_id == Kernel.id_of(session, "session", Session))
            if case is not None:
                cid = self.kernel.case_id(conn, case)
                q = q.join(t.sessions, t.recordings.c.session_id == t.sessions.c.id).where(t.sessions.c.case_id == cid)
            return [_recording(r) for r in conn.execute(q)]

    def recording(self, recording_id: Recording | int) -> Recording:
        """One recording by id."""
        rid = Kernel.id_of(recording_id, "recording", Recording)
        return _recording(self.kernel.get(t.recordings, rid, "recording"))

    def update_recording(
        self, recording_id: Recording | int, *, expected_version: int | None = None, **changes: Any
    ) -> Recording:
        """Change a recording's ``label``."""
        checks.check_changes(changes, ("label",), "recording")
        values = {k: checks.text(v, k, required=False) for k, v in changes.items()}
        rid = Kernel.id_of(recording_id, "recording", Recording)
        with self.kernel.write() as conn:
            row = self.kernel.update(conn, t.recordings, "recording", rid, expected_version, values)
        return _recording(row)

    def delete_recording(self, recording_id: Recording | int, *, expected_version: int | None = None) -> None:
        """Delete a recording with its annotations, moments, stills (files too) and its media copy."""
        rid = Kernel.id_of(recording_id, "recording", Recording)
        with self.kernel.write() as conn:
            files = Kernel.files_of(conn, t.recordings.c.id == rid)
            self.kernel.delete(conn, t.recordings, "recording", rid, expected_version)
        self.kernel.remove_files(files)

    def frame_times(self, recording: Recording | int) -> np.ndarray:
        """The recording's real frame timestamps (int64 ms), as probed."""
        rid = Kernel.id_of(recording, "recording", Recording)
        with self.kernel.read() as conn:
            blob = conn.execute(sa.select(t.recordings.c.frame_times).where(t.recordings.c.id == rid)).scalar()
        if blob is None:
            raise NotFoundError(f"Expected an existing recording id, but got {rid}.")
        return unpack_times(blob)

    def media_path(self, recording: Recording | int) -> Path:
        """Where the recording's video file is (absolute path)."""
        rec = recording if isinstance(recording, Recording) else self.recording(recording)
        return self.kernel.file(rec.path)

"""Planning a batch: what to read from the project, one job per result, and each result's key.

This is the only part of the batch that reads the project, and it reads it once per batch, in the
client: the recordings, their video paths, the annotations of every recording (for annotation
tasks) and the names that say which recording a job was for. Workers get a :class:`Job`'s
``source`` (a path or an :class:`~workbench.batch.tasks.AnnotationInput`), never the project.

A result's key is ``<sha256>-<hash>``: the SHA-256 of the recording's video (as registered) and the
first 16 hex digits of the SHA-256 of the task's name, version and parameters (canonical JSON), and,
for annotation tasks, of the annotations, scheme and duration they read. Keys are what find stored
results again, so this text must not change: changing it orphans every stored result.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from workbench.annotations import AnnotationTable
from workbench.batch.tasks import AnnotationInput, Task
from workbench.errors import NotFoundError
from workbench.model import Case, Recording, Session
from workbench.scheme import CodingScheme
from workbench.util import sha256_bytes

__all__ = [
    "AnnotationRows",
    "BatchProject",
    "Job",
    "annotation_rows",
    "digest",
    "plan",
    "recording_names",
    "select_recordings",
]


@runtime_checkable
class BatchProject(Protocol):
    """What the batch reads from a project: the few methods of :class:`~workbench.project.Project` it calls.

    Any object with these works (a project, a read-only view of one, a test double); the batch never
    writes to it.
    """

    @property
    def folder(self) -> Path | None:
        """The project folder (results go under ``<folder>/results/``); None for a bare database."""
        ...

    @property
    def scheme(self) -> CodingScheme:
        """The project's coding scheme."""
        ...

    def recordings(self) -> list[Recording]:
        """Every recording, by id."""
        ...

    def media_path(self, recording: Recording) -> Path:
        """Where a recording's video file is."""
        ...

    def annotations(self, recording: Recording | None = None) -> AnnotationTable:
        """Stored annotations of one recording (or all), with the store's ``version`` column."""
        ...

    def sessions(self) -> list[Session]:
        """Every session."""
        ...

    def cases(self) -> list[Case]:
        """Every case."""
        ...


@dataclass
class Job:
    """One task for one recording (or for several recordings sharing one video): one stored result."""

    task: Task
    key: str
    sha256: str
    recording_ids: list[int]
    source: Any  # the video's path or an AnnotationInput: what task.func gets on the worker
    params: dict[str, Any]
    input_digest: str | None = None  # annotation tasks: hash of what they read
    problem: str | None = None  # found before running (a missing file)


def digest(obj: Any, n: int = 16) -> str:
    """The first ``n`` hex digits of the SHA-256 of ``obj`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return sha256_bytes(text.encode("utf-8"))[:n]


def _annotations_digest(frame: pd.DataFrame) -> str:
    df = frame.drop(columns=["version"], errors="ignore")
    df = df.sort_values(["id", "onset_ms"], kind="mergesort").reset_index(drop=True) if len(df) else df
    return sha256_bytes(df.to_csv(index=False).encode("utf-8"))[:16]


def select_recordings(project: BatchProject, recordings: Iterable[Recording | int] | None) -> list[Recording]:
    """The project's recordings (all, or those named by record or id, each once, in the order given)."""
    every = project.recordings()
    if recordings is None:
        return every
    by_id = {r.id: r for r in every}
    out: list[Recording] = []
    for item in recordings:
        rid = item.id if isinstance(item, Recording) else item
        if isinstance(rid, bool) or not isinstance(rid, numbers.Integral):
            raise TypeError(f"Expected recordings as records or integer ids, but got {item!r}.")
        if int(rid) not in by_id:
            raise NotFoundError(f"Expected an existing recording id, but got {rid}.")
        if all(r.id != int(rid) for r in out):
            out.append(by_id[int(rid)])
    return out


@dataclass(frozen=True)
class AnnotationRows:
    """What annotation tasks read, once per batch: each recording's rows (without ``version``) and digests."""

    scheme: CodingScheme
    scheme_digest: str
    rows: dict[int, pd.DataFrame]
    digests: dict[int, str]


def annotation_rows(project: BatchProject, recs: Sequence[Recording]) -> AnnotationRows:
    """Read the annotations of ``recs`` (one query) and the scheme, and hash each recording's rows."""
    scheme = project.scheme
    if len(recs) == 1:
        frame = project.annotations(recs[0]).to_dataframe()
    else:
        frame = project.annotations().to_dataframe() if recs else pd.DataFrame(columns=["recording_id"])
    frame = frame.drop(columns=["version"], errors="ignore")
    groups = dict(tuple(frame.groupby("recording_id", sort=False))) if len(frame) else {}
    rows = {int(rec.id): groups.get(rec.id, frame.iloc[0:0]).reset_index(drop=True) for rec in recs}
    digests = {i: _annotations_digest(r) for i, r in rows.items()}
    return AnnotationRows(scheme, digest(scheme.to_dict()), rows, digests)


def plan(
    project: BatchProject,
    task: Task,
    params: dict[str, Any],
    recs: Sequence[Recording],
    annotations: AnnotationRows | None = None,
) -> list[Job]:
    """One job per distinct key: media jobs are shared by recordings of the same video.

    ``annotations`` (read by :func:`annotation_rows` when not given) lets several annotation tasks
    of one batch share one read of the store.
    """
    base = {"task": task.name, "version": task.version, "params": params}
    jobs: dict[str, Job] = {}
    if task.source == "media":
        phash = digest(base)
        for rec in recs:
            key = f"{rec.sha256}-{phash}"
            if key in jobs:
                jobs[key].recording_ids.append(rec.id)
                continue
            path = project.media_path(rec)
            problem = None if path.is_file() else f"Expected the video file at {path}, but it is missing."
            jobs[key] = Job(task, key, rec.sha256, [rec.id], path, params, problem=problem)
        return list(jobs.values())
    read = annotations if annotations is not None else annotation_rows(project, recs)
    for rec in recs:
        rows = read.rows[int(rec.id)]
        input_digest = digest(
            {
                "recording": rec.id,
                "duration_ms": rec.duration_ms,
                "scheme": read.scheme_digest,
                "rows": read.digests[int(rec.id)],
            }
        )
        key = f"{rec.sha256}-{digest({**base, 'input': input_digest})}"
        source = AnnotationInput(int(rec.id), rows, read.scheme, int(rec.duration_ms))
        jobs[key] = Job(task, key, rec.sha256, [rec.id], source, params, input_digest=input_digest)
    return list(jobs.values())


def recording_names(project: BatchProject, recs: Sequence[Recording]) -> dict[int, str]:
    """Who each recording is, for reports: id, label, case pseudonym, session, file (never a real name)."""
    sessions = {s.id: s for s in project.sessions()}
    cases = {c.id: c.pseudonym for c in project.cases()}
    names = {}
    for rec in recs:
        session = sessions.get(rec.session_id)
        where = (
            f"{cases.get(session.case_id, '?')}, {session.kind.value} {session.date.isoformat()}"
            if session is not None
            else f"session {rec.session_id}"
        )
        label = f" {rec.label!r}" if rec.label else ""
        names[rec.id] = f"recording {rec.id}{label} ({where}, {Path(rec.path).name})"
    return names

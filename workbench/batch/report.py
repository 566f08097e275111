"""What a batch did: one :class:`JobResult` per job and the :class:`BatchReport` of the whole run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import pandas as pd

__all__ = ["BatchReport", "JobResult"]


@dataclass(frozen=True)
class JobResult:
    """What happened to one job: one task for one recording (or several sharing a video).

    Attributes
    ----------
    task : str
        The task.
    recording_ids : tuple of int
        The recordings the job was for.
    recording : str
        Who they are: id, label, case pseudonym, session (never a real name).
    status : {"done", "skipped", "failed"}
        Computed now, found already stored, or failed.
    key : str
        ``<sha256>-<hash>``.
    file : str or None
        The stored result (absolute path), None when failed.
    error : str or None
        ``"Type: message"`` when failed.
    seconds : float
        Time on the worker (NaN when skipped).
    warnings : tuple of str
        Warnings the task raised on the worker.
    """

    task: str
    recording_ids: tuple[int, ...]
    recording: str
    status: Literal["done", "skipped", "failed"]
    key: str
    file: str | None = None
    error: str | None = None
    seconds: float = float("nan")
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchReport:
    """The outcome of :func:`~workbench.batch.run_batch`: counts and, for each failure, the recording and the error.

    Attributes
    ----------
    jobs : tuple of JobResult
        Every job, by task then recording.
    seconds : float
        Wall time of the whole batch.
    scheduler : str
        Where the jobs ran.
    """

    jobs: tuple[JobResult, ...]
    seconds: float
    scheduler: str

    def _count(self, status: str) -> int:
        return sum(j.status == status for j in self.jobs)

    @property
    def done(self) -> int:
        """Jobs computed in this run."""
        return self._count("done")

    @property
    def skipped(self) -> int:
        """Jobs whose result was already stored."""
        return self._count("skipped")

    @property
    def failed(self) -> int:
        """Jobs that failed (nothing stored for them)."""
        return self._count("failed")

    @property
    def ok(self) -> bool:
        """True when no job failed."""
        return self.failed == 0

    @property
    def errors(self) -> list[str]:
        """One line per failed job: ``"<task>: <recording>: <error>"``."""
        return [f"{j.task}: {j.recording}: {j.error}" for j in self.jobs if j.status == "failed"]

    def to_frame(self) -> pd.DataFrame:
        """One row per job (``task, recording_ids, recording, status, key, file, error, seconds``)."""
        rows = [dataclasses.asdict(j) for j in self.jobs]
        columns = [f.name for f in dataclasses.fields(JobResult)]
        return pd.DataFrame(rows, columns=columns)

    def summary(self) -> str:
        """A few lines: the totals, a line per task, then every failure."""
        lines = [
            f"batch: {self.done} done, {self.skipped} skipped, {self.failed} failed in {self.seconds:.1f} s "
            f"({self.scheduler})"
        ]
        for task in dict.fromkeys(j.task for j in self.jobs):
            mine = [j for j in self.jobs if j.task == task]
            counts = {s: sum(j.status == s for j in mine) for s in ("done", "skipped", "failed")}
            lines.append(f"  {task:16} " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        if self.failed:
            lines.append("failed:")
            lines.extend(f"  {e}" for e in self.errors)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"<BatchReport | {self.done} done, {self.skipped} skipped, {self.failed} failed "
            f"in {self.seconds:.1f} s ({self.scheduler})>"
        )

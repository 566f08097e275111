"""Batch jobs over every recording of a project, on Dask: probing, thumbnails, motion energy, analyses.

:func:`run_batch` runs *tasks* over a project's recordings: a local Dask cluster by default (two
worker processes), an existing cluster by address (``"tcp://host:8786"``), or this process alone
(``scheduler="sync"``, for tests and debugging). A progress bar shows how far it got (``tqdm.auto``:
text in a terminal, a widget in a notebook).

How the work is split
---------------------
A task is a pure function ``func(source, params) -> result`` that runs on a worker:

- *media* tasks get the path of the recording's video file (the workers must see the project folder
  at the same path: the same machine, or a shared file system);
- *annotation* tasks get an :class:`AnnotationInput`: the recording's stored annotations (read by the
  client), the project's coding scheme and the recording's duration.

The result is a DataFrame (stored as Parquet) or a dict of arrays (stored as ``.npz``). Workers never
open the project database: this process (the client) reads the inputs from the store and writes
every result, as it arrives, under ``<project folder>/results/<task>/<key>.parquet`` (or ``.npz``),
with a small JSON index beside it (``index.json``: parameters, run time, the result's ``attrs``).

Keys and reruns
---------------
A result's key is ``<sha256>-<hash>``: the SHA-256 of the recording's video (as registered) and a
hash of the task's name, version and parameters, and, for annotation tasks, of the annotations,
scheme and duration they read (so editing the coding of one recording recomputes that recording
only). A rerun skips every key already stored; changing a parameter recomputes. Recordings that
share one video file share media results. A failure is never stored, so a rerun retries it.

One failing recording does not stop the others: :class:`BatchReport` counts the jobs done, skipped
and failed and names each failed recording with its error (never a bare traceback; tracebacks are
logged at DEBUG level). Read results back with :func:`load_results` (one tidy DataFrame per task) or
:func:`load_result` (one recording's stored object). :func:`prune_results` removes the results of
videos no longer in the project (after a case is deleted); a purge removes a case's results with
:func:`forget_results`.

Tasks are pluggable: :func:`register_task` adds a :class:`Task` to :data:`TASKS`.

Where the parts live
--------------------
- :mod:`workbench.batch.tasks`: :class:`Task`, :class:`AnnotationInput`, the built-in tasks and
  the registry (:data:`TASKS`, :func:`register_task`);
- :mod:`workbench.batch.plan`: what a batch reads from the project (:class:`~workbench.batch.plan.BatchProject`,
  the few methods it calls), one job per result, and each result's key;
- :mod:`workbench.store.results`: the results store, files and ``index.json`` under ``results/``, and
  :func:`forget_results` (persistence: the store keeps it, so that a purge removes a case's results);
- :mod:`workbench.batch.runner`: running jobs in this process or on Dask, and the progress bar;
- :mod:`workbench.batch.report`: :class:`JobResult` and :class:`BatchReport`;
- here: the entry points, which put them together.

Examples
--------
>>> from workbench.batch import load_results, run_batch
>>> report = run_batch("my-project")  # doctest: +SKIP
>>> report  # doctest: +SKIP
<BatchReport | 24 done, 0 skipped, 0 failed in 41.3 s (LocalCluster, 2 workers)>
>>> energy = load_results("my-project", "motion_energy")  # doctest: +SKIP
>>> energy.groupby(["recording_id", "region"])["energy"].mean()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from workbench.batch.plan import BatchProject, Job, annotation_rows, plan, recording_names, select_recordings
from workbench.batch.report import BatchReport, JobResult
from workbench.batch.runner import SYNC_SCHEDULERS as SYNC_SCHEDULERS  # public in workbench.batch before the split
from workbench.batch.runner import check_scheduler, describe, open_runner, progress_bar
from workbench.batch.tasks import (
    DEFAULT_TASKS,
    TASKS,
    AnnotationInput,
    Task,
    halves,
    params_for,
    register_task,
    resolve_tasks,
)
from workbench.errors import NotFoundError, WorkbenchError
from workbench.model import Recording
from workbench.store.results import (
    RESULTS_DIR,
    Result,
    ResultIndex,
    forget_results,
    prune_stored,
    read_stored,
    results_root,
    stored_file,
    write_result,
)

__all__ = [
    "DEFAULT_TASKS",
    "RESULTS_DIR",
    "TASKS",
    "AnnotationInput",
    "BatchProject",
    "BatchReport",
    "JobResult",
    "Task",
    "forget_results",
    "halves",
    "load_result",
    "load_results",
    "prune_results",
    "register_task",
    "run_batch",
]

logger = logging.getLogger(__name__)

#: How long to wait for a Dask scheduler given by address (seconds); read at each :func:`run_batch`.
CONNECT_TIMEOUT_S = 10

#: A project to run on: an open project (see :class:`~workbench.batch.plan.BatchProject`) or its folder.
ProjectArg = BatchProject | str | os.PathLike[str]


@contextlib.contextmanager
def _opened(project: ProjectArg) -> Iterator[BatchProject]:
    """The project itself, or the project folder opened for the time of the block."""
    if isinstance(project, str | os.PathLike):
        from workbench.store import open_store  # the store is all a batch reads

        with open_store(project) as opened:
            yield opened
    else:
        yield project


def run_batch(
    project: ProjectArg,
    tasks: str | Task | Iterable[str | Task] = DEFAULT_TASKS,
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    recordings: Iterable[Recording | int] | None = None,
    scheduler: Any = None,
    progress: bool = True,
    force: bool = False,
) -> BatchReport:
    """Run tasks over the recordings of a project on Dask, storing every result in the project.

    Parameters
    ----------
    project : Project, str or path
        An open :class:`~workbench.project.Project` (it must have a folder), or a project folder.
    tasks : str, Task or iterable of them
        Names in :data:`TASKS` (``"probe"``, ``"thumbnails"``, ``"motion_energy"``,
        ``"contingency"``, ``"sequential"``, and any registered) or :class:`Task` objects.
    params : mapping of task name to mapping, optional
        Parameters per task, over its defaults, e.g. ``{"thumbnails": {"count": 10}}``.
    recordings : iterable of Recording or int, optional
        Only these recordings (default: all).
    scheduler : None, str, distributed.Client or cluster
        ``None``: a local cluster of 2 worker processes (1 thread each), closed at the end;
        ``"tcp://host:8786"``: that scheduler (its workers must see the project folder at the same
        path and have the workbench installed); a ``Client`` or a cluster object you made;
        ``"sync"``: this process, one job after the other (tests, debugging).
    progress : bool
        Show a progress bar (``tqdm.auto``: a widget in a notebook, text on stderr in a terminal).
    force : bool
        Recompute and overwrite results that are already stored.

    Returns
    -------
    BatchReport
        Counts of jobs done, skipped and failed, and each failure with its recording named.

    Raises
    ------
    ValueError, TypeError
        For an unknown task, parameter or scheduler.
    StoreError
        If the project has no folder for results.
    WorkbenchError
        If the scheduler at the given address cannot be reached.

    Examples
    --------
    >>> report = run_batch(project, ["probe", "thumbnails"], params={"thumbnails": {"count": 10}})
    ... # doctest: +SKIP
    >>> report.failed, report.errors  # doctest: +SKIP
    (1, ["probe: recording 2 'home visit' (Family B, filming 2026-01-15, rec-3f2a.mp4): MediaError: ..."])
    """
    start = time.perf_counter()
    check_scheduler(scheduler)
    chosen = resolve_tasks(tasks)
    task_params = params_for(chosen, params)
    with _opened(project) as proj:
        root = results_root(proj.folder)
        recs = select_recordings(proj, recordings)
        names = recording_names(proj, recs)
        read = annotation_rows(proj, recs) if any(t.source != "media" for t in chosen) else None
        plans = {t.name: plan(proj, t, task_params[t.name], recs, read) for t in chosen}
    indexes = {t.name: ResultIndex(root / t.name) for t in chosen}
    results: list[JobResult] = []

    def result(job: Job, status: Literal["done", "skipped", "failed"], **kw: Any) -> None:
        label = "; ".join(names[r] for r in job.recording_ids)
        results.append(JobResult(job.task.name, tuple(job.recording_ids), label, status, job.key, **kw))

    to_run: list[Job] = []
    for task in chosen:
        folder = root / task.name
        for job in plans[task.name]:
            stored = None if force else stored_file(folder, job.key)
            if stored is not None:
                if job.key not in indexes[task.name].entries:  # e.g. interrupted before the index was written
                    indexes[task.name].add(job.key, _index_entry(job, stored, None, None))
                result(job, "skipped", file=str(stored))
            elif job.problem is not None:
                result(job, "failed", error=f"MediaError: {job.problem}")
            else:
                to_run.append(job)

    skipped = sum(r.status == "skipped" for r in results)
    failed = sum(r.status == "failed" for r in results)
    bar = progress_bar(len(to_run), enabled=progress, skipped=skipped, failed=failed)
    description = "nothing to run"
    try:
        if to_run:
            with open_runner(scheduler, connect_timeout_s=CONNECT_TIMEOUT_S) as runner:
                description = runner.description
                for job, outcome in runner.run(to_run):
                    for text in outcome["warnings"]:
                        warnings.warn(f"{job.task.name}: {names[job.recording_ids[0]]}: {text}", stacklevel=2)
                    timing = {"seconds": float(outcome["seconds"]), "warnings": tuple(outcome["warnings"])}
                    path, error = _store(job, outcome, root / job.task.name, indexes[job.task.name])
                    if error is None:
                        result(job, "done", file=str(path), **timing)
                    else:
                        failed += 1
                        if outcome.get("traceback"):
                            logger.debug(
                                "%s failed for %s:\n%s", job.task.name, job.recording_ids, outcome["traceback"]
                            )
                        result(job, "failed", error=error, **timing)
                        bar.set_postfix(skipped=skipped, failed=failed, refresh=False)
                    bar.update(1)
    finally:
        bar.close()
        for index in indexes.values():
            index.flush(force=True)
    order = {t.name: i for i, t in enumerate(chosen)}
    results.sort(key=lambda r: (order[r.task], r.recording_ids))
    report = BatchReport(tuple(results), time.perf_counter() - start, description)
    logger.info("%r", report)
    return report


def _store(job: Job, outcome: Mapping[str, Any], folder: Path, index: ResultIndex) -> tuple[Path | None, str | None]:
    """Store a job's value and index it: ``(file, None)``, or ``(None, error)`` if it failed or is refused."""
    error = outcome["error"]
    if error is None:
        error = _check_sha256(job, outcome["value"])
    if error is not None:
        return None, error
    try:
        path, attrs = write_result(folder, job.key, outcome["value"], job.task.name)
    except (OSError, TypeError, ValueError, WorkbenchError) as exc:
        return None, f"could not store the result: {describe(exc)}"
    index.add(job.key, _index_entry(job, path, outcome, attrs))
    index.flush()
    return path, None


def _index_entry(job: Job, path: Path, outcome: Mapping[str, Any] | None, attrs: Any) -> dict[str, Any]:
    """The ``index.json`` entry of a job's stored result (``outcome`` None: found stored, not computed now)."""
    return {
        "task": job.task.name,
        "task_version": job.task.version,
        "sha256": job.sha256,
        "recording_ids": sorted(job.recording_ids),
        "params": job.params,
        "input_digest": job.input_digest,
        "file": path.name,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": None if outcome is None else round(float(outcome["seconds"]), 3),
        "worker": None if outcome is None else outcome["worker"],
        "attrs": attrs,
    }


def _check_sha256(job: Job, value: Any) -> str | None:
    """A result that names the file's SHA-256 (probe) must name the one the recording was registered with."""
    if isinstance(value, pd.DataFrame) and "sha256" in value.columns and len(value):
        found = str(value["sha256"].iloc[0])
        if found and found != job.sha256:
            return (
                "MediaError: Expected the video to have the SHA-256 it was registered with "
                f"({job.sha256[:16]}...), "
                f"but it has {found[:16]}...: the file was changed or replaced after it was registered."
            )
    return None


def _lookup(
    proj: BatchProject, task: Task, params: Mapping[str, Any] | None, recordings: Iterable[Recording | int] | None
) -> tuple[Path, dict[str, Any], list[Recording], list[Job]]:
    root = results_root(proj.folder)
    resolved = task.params(params)
    recs = select_recordings(proj, recordings)
    return root / task.name, resolved, recs, plan(proj, task, resolved, recs)


def load_results(
    project: ProjectArg,
    task: str | Task,
    *,
    params: Mapping[str, Any] | None = None,
    recordings: Iterable[Recording | int] | None = None,
) -> pd.DataFrame:
    """The stored results of a task for the project's recordings, as one tidy DataFrame.

    Only results that are current are returned: for the recording's video as registered, the given
    parameters and (annotation tasks) the annotations as they are now.

    Parameters
    ----------
    project : Project, str or path
        An open project or a project folder.
    task : str or Task
        The task.
    params : mapping, optional
        The parameters the batch ran with (default: the task's defaults).
    recordings : iterable of Recording or int, optional
        Only these recordings.

    Returns
    -------
    DataFrame
        ``recording_id`` first, then the task's columns: ``probe`` one row per recording;
        ``thumbnails`` one row per thumbnail (``thumbnail, time_ms, x, width, height``: where it is
        in the strip :func:`load_result` returns); ``motion_energy`` one row per frame and region
        (``time_ms, region, energy``); ``contingency`` one row per initiative, partner and coder;
        ``sequential`` one row per coder, given and target. ``attrs`` holds ``task``, ``params``
        and ``missing`` (recording ids without a current result).

    Warns
    -----
    UserWarning
        If some recordings have no current result (run :func:`run_batch` for them).
    """
    (chosen,) = resolve_tasks(task)
    frames: list[tuple[int, pd.DataFrame]] = []
    missing: list[int] = []
    with _opened(project) as proj:
        folder, resolved, _recs, jobs = _lookup(proj, chosen, params, recordings)
    for job in jobs:
        stored = stored_file(folder, job.key)
        if stored is None:
            missing.extend(job.recording_ids)
            continue
        value = read_stored(stored)
        tidy = chosen.tidy(value) if chosen.tidy is not None else value
        if not isinstance(tidy, pd.DataFrame):
            raise TypeError(
                f"Expected task {chosen.name!r} to load as a DataFrame; give the Task a 'tidy' function."
            )
        for rid in job.recording_ids:
            part = tidy.copy()
            if "recording_id" in part.columns:
                part["recording_id"] = pd.array([rid] * len(part), dtype="Int64")
                part = part[["recording_id", *[c for c in part.columns if c != "recording_id"]]]
            else:
                part.insert(0, "recording_id", pd.array([rid] * len(part), dtype="Int64"))
            frames.append((rid, part))
    if missing:
        warnings.warn(
            f"Expected a stored {chosen.name!r} result for every recording, but recordings "
            f"{', '.join(map(str, sorted(missing)))} have none for these parameters"
            f"{_annotations_note(chosen)}; "
            "run workbench.batch.run_batch for them.",
            stacklevel=2,
        )
    frames.sort(key=lambda item: item[0])  # by recording (stable: a recording's rows stay in order)
    nonempty = [f for _rid, f in frames if len(f)]
    if nonempty:
        out = (
            pd.concat(nonempty, ignore_index=True)
            if len(nonempty) > 1
            else nonempty[0].reset_index(drop=True)
        )
    elif frames:
        out = frames[0][1].iloc[0:0].reset_index(drop=True)
    else:
        out = pd.DataFrame({"recording_id": pd.array([], dtype="Int64")})
    out.attrs = {"task": chosen.name, "params": resolved, "missing": sorted(missing)}
    return out


def _annotations_note(task: Task) -> str:
    return " and the current annotations" if task.source == "annotations" else ""


def load_result(
    project: ProjectArg, task: str | Task, recording: Recording | int, *, params: Mapping[str, Any] | None = None
) -> Result:
    """One recording's stored result as the task returned it (a DataFrame with its attrs, or arrays).

    Parameters
    ----------
    project : Project, str or path
        An open project or a project folder.
    task : str or Task
        The task.
    recording : Recording or int
        The recording.
    params : mapping, optional
        The parameters the batch ran with (default: the task's defaults).

    Returns
    -------
    DataFrame or dict of numpy.ndarray

    Raises
    ------
    NotFoundError
        If there is no current result for the recording (run :func:`run_batch`).
    """
    (chosen,) = resolve_tasks(task)
    with _opened(project) as proj:
        folder, _resolved, _recs, jobs = _lookup(proj, chosen, params, [recording])
    job = jobs[0]
    stored = stored_file(folder, job.key)
    if stored is None:
        recording_ids = ", ".join(map(str, job.recording_ids))
        raise NotFoundError(
            f"Expected a stored {chosen.name!r} result for recording {recording_ids} with these parameters"
            f"{_annotations_note(chosen)}, but there is none; run workbench.batch.run_batch."
        )
    value = read_stored(stored)
    if isinstance(value, pd.DataFrame):
        entry = ResultIndex(folder).entries.get(job.key, {})
        value.attrs = dict(entry.get("attrs") or {})
    return value


def prune_results(project: ProjectArg) -> list[Path]:
    """Remove stored results whose video is no longer a recording of the project (after deletions).

    Parameters
    ----------
    project : Project, str or path
        An open project or a project folder.

    Returns
    -------
    list of Path
        The files removed.
    """
    with _opened(project) as proj:
        root = results_root(proj.folder)
        keep = {r.sha256 for r in proj.recordings()}
    removed = prune_stored(root, keep)
    if removed:
        logger.info("Removed %d batch results of recordings no longer in the project.", len(removed))
    return removed

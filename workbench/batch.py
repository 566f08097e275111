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
import dataclasses
import datetime as dt
import hashlib
import importlib.util
import io
import json
import logging
import math
import numbers
import os
import re
import socket
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from workbench.annotations import AnnotationTable
from workbench.errors import NotFoundError, StoreError, WorkbenchError
from workbench.model import Recording
from workbench.scheme import CodingScheme
from workbench.util import atomic_write_bytes

__all__ = [
    "DEFAULT_TASKS",
    "RESULTS_DIR",
    "TASKS",
    "AnnotationInput",
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

#: Folder of batch results inside a project folder.
RESULTS_DIR = "results"
#: The tasks :func:`run_batch` runs when none are named.
DEFAULT_TASKS: tuple[str, ...] = ("probe", "thumbnails", "motion_energy", "contingency")
#: Names accepted for running in this process, one job after the other (Dask's synchronous scheduler).
SYNC_SCHEDULERS = frozenset({"sync", "synchronous", "single-threaded"})
#: How long to wait for a Dask scheduler given by address (seconds).
CONNECT_TIMEOUT_S = 10
_INDEX = "index.json"
_FLUSH_EVERY_S = 2.0
_TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_SUFFIXES = (".parquet", ".npz")

Result = pd.DataFrame | dict[str, np.ndarray]


# -- hashing ----------------------------------------------------------------------------


def _canonical(value: Any, where: str) -> Any:
    """A JSON-like copy of a parameter value (tuples, arrays -> lists; 10.0 -> 10), or TypeError."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"Expected finite numbers in {where}, but got {value!r}.")
        return int(f) if f.is_integer() else f  # 10.0 and 10 are one parameter value (one key)
    if isinstance(value, np.ndarray):
        return _canonical(value.tolist(), where)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, where) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, where) for v in value]
    raise TypeError(
        f"Expected JSON-like values (numbers, strings, lists, mappings) in {where}, "
        f"but got {type(value).__name__}."
    )


def _digest(obj: Any, n: int = 16) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def _annotations_digest(frame: pd.DataFrame) -> str:
    df = frame.drop(columns=["version"], errors="ignore")
    df = df.sort_values(["id", "onset_ms"], kind="mergesort").reset_index(drop=True) if len(df) else df
    return hashlib.sha256(df.to_csv(index=False).encode("utf-8")).hexdigest()[:16]


# -- tasks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnotationInput:
    """What an annotation task gets on a worker: one recording's annotations and their context.

    Attributes
    ----------
    recording_id : int
        The recording.
    annotations : DataFrame
        Its stored annotations (every coder; AnnotationTable columns and extras, without the store's
        ``version``).
    scheme : CodingScheme
        The project's coding scheme.
    duration_ms : int
        The recording's duration.
    """

    recording_id: int
    annotations: pd.DataFrame
    scheme: CodingScheme
    duration_ms: int

    def table(self) -> AnnotationTable:
        """The annotations as an :class:`~workbench.annotations.AnnotationTable` (codes not checked)."""
        return AnnotationTable(self.annotations, source=f"the annotations of recording {self.recording_id}")


@dataclass(frozen=True, eq=False)
class Task:
    """A batch task: a pure function run on a worker for each recording.

    Attributes
    ----------
    name : str
        Lower-case name (letters, digits, ``-``, ``_``): the folder of its results.
    func : callable
        ``func(source, params) -> DataFrame | dict[str, numpy.ndarray]``; ``source`` is the video's
        path (``source="media"``) or an :class:`AnnotationInput` (``source="annotations"``);
        ``params`` is the task's parameters (defaults updated with the caller's), JSON-like. It must
        be importable or picklable (cloudpickle) to reach the workers, and must not open the store.
    source : {"media", "annotations"}
        What the function reads.
    defaults : mapping
        Every parameter the task takes, with its default (JSON-like values).
    version : int
        Bump it when the function's output changes: the results are then recomputed.
    description : str
        One line saying what it computes.
    tidy : callable, optional
        ``tidy(stored) -> DataFrame`` for :func:`load_results` (the stored DataFrame or dict of
        arrays); default: the stored DataFrame as it is.
    """

    name: str
    func: Callable[[Any, dict[str, Any]], Result]
    source: Literal["media", "annotations"]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    version: int = 1
    description: str = ""
    tidy: Callable[[Any], pd.DataFrame] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _TASK_NAME.match(self.name):
            raise ValueError(
                f"Expected a task name of lower-case letters, digits, '-' and '_', but got {self.name!r}."
            )
        if self.source not in ("media", "annotations"):
            raise ValueError(
                f"Invalid value for the 'source' parameter. Allowed values are 'media' and 'annotations', "
                f"but got {self.source!r} instead."
            )
        if not callable(self.func):
            raise TypeError(f"Expected 'func' of task {self.name!r} to be callable, but got {self.func!r}.")
        object.__setattr__(
            self, "defaults", _canonical(dict(self.defaults), f"the defaults of task {self.name!r}")
        )

    def __repr__(self) -> str:
        return f"<Task {self.name} v{self.version} | {self.source}; params {sorted(self.defaults)}>"

    def params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The task's defaults updated with ``overrides`` (checked: only known parameters)."""
        if overrides is None:
            return dict(self.defaults)
        if not isinstance(overrides, Mapping):
            raise TypeError(
                f"Expected the parameters of task {self.name!r} as a mapping, "
                f"but got {type(overrides).__name__}."
            )
        unknown = sorted(set(map(str, overrides)) - set(self.defaults))
        if unknown:
            allowed = ", ".join(sorted(self.defaults)) or "none"
            raise ValueError(
                f"Expected parameters of task {self.name!r} among {allowed}, "
                f"but got {', '.join(map(repr, unknown))}."
            )
        return {**self.defaults, **_canonical(dict(overrides), f"the parameters of task {self.name!r}")}


def _probe_task(path: Path, params: dict[str, Any]) -> pd.DataFrame:
    """One row: what :func:`workbench.media.probe` reads from the file, and whether a browser plays it."""
    from workbench.media import browser_playable, probe

    info = probe(path)
    steps = np.diff(info.frame_times_ms)
    row = {
        "sha256": info.sha256,
        "file_bytes": int(Path(path).stat().st_size),
        "duration_ms": int(info.duration_ms),
        "frame_count": int(info.frame_count),
        "fps": float(info.fps),
        "width": int(info.width),
        "height": int(info.height),
        "rotation": int(info.rotation),
        "codec": info.codec,
        "pixel_format": info.pixel_format,
        "container": info.container,
        "has_audio": bool(info.has_audio),
        "audio_codec": info.audio_codec,
        "audio_sample_rate": info.audio_sample_rate,
        "audio_channels": int(info.audio_channels),
        "keyframe_count": int(info.keyframes.size),
        "min_frame_interval_ms": int(steps.min()) if steps.size else None,
        "max_frame_interval_ms": int(steps.max()) if steps.size else None,
        "browser_playable": bool(browser_playable(info)),
    }
    out = pd.DataFrame([row])
    for col in ("audio_sample_rate", "min_frame_interval_ms", "max_frame_interval_ms"):
        out[col] = out[col].astype("Int64")
    return out


def _thumbnails_task(path: Path, params: dict[str, Any]) -> dict[str, np.ndarray]:
    """A :func:`workbench.media.thumbnail_strip` and the time of each thumbnail."""
    from workbench.media import thumbnail_strip

    strip, times = thumbnail_strip(path, count=int(params["count"]), height=int(params["height"]))
    return {"strip": strip, "times_ms": np.asarray(times, dtype=np.int64)}


def _tidy_thumbnails(stored: Mapping[str, np.ndarray]) -> pd.DataFrame:
    times = np.asarray(stored["times_ms"], dtype=np.int64)
    strip = stored["strip"]
    height, total = int(strip.shape[0]), int(strip.shape[1])
    width = total // max(len(times), 1)
    return pd.DataFrame(
        {
            "thumbnail": np.arange(len(times), dtype=np.int64),
            "time_ms": times,
            "x": np.arange(len(times), dtype=np.int64) * width,
            "width": np.full(len(times), width, dtype=np.int64),
            "height": np.full(len(times), height, dtype=np.int64),
        }
    )


def halves(width: int, height: int) -> dict[str, tuple[int, int, int, int]]:
    """The default motion-energy regions: the left and right halves of a displayed frame.

    Examples
    --------
    >>> halves(640, 360)
    {'left': (0, 0, 320, 360), 'right': (320, 0, 320, 360)}
    """
    half = width // 2
    return {"left": (0, 0, half, height), "right": (half, 0, width - half, height)}


def _motion_task(path: Path, params: dict[str, Any]) -> pd.DataFrame:
    """:func:`workbench.media.motion_energy` in the given regions (default: left and right halves)."""
    from workbench.media import motion_energy, probe

    info = probe(path, checksum=False)
    rois = params["rois"] if params["rois"] is not None else halves(*info.display_size)
    return motion_energy(path, rois, threshold=float(params["threshold"]), info=info)


def _tidy_motion(stored: pd.DataFrame) -> pd.DataFrame:
    wide = stored.reset_index() if "time_ms" not in stored.columns else stored
    regions = [c for c in wide.columns if c != "time_ms"]
    long = wide.melt(id_vars="time_ms", value_vars=regions, var_name="region", value_name="energy")
    return long[["time_ms", "region", "energy"]]


def _per_coder(inp: AnnotationInput, analyse: Callable[[AnnotationTable], pd.DataFrame]) -> pd.DataFrame:
    """``analyse`` on each coder's annotations separately, with a ``coder`` column (never mixing coders)."""
    table = inp.table()
    parts = []
    for coder in table.coders or ("",):
        part = analyse(table.filter(coder=coder) if table.coders else table)
        part.insert(0, "coder", pd.Series([coder] * len(part), index=part.index, dtype=object))
        parts.append(part)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    out.attrs = dict(parts[0].attrs)
    return out


def _contingency_task(inp: AnnotationInput, params: dict[str, Any]) -> pd.DataFrame:
    """:func:`workbench.analysis.contingency.contingencies` per coder."""
    from workbench.analysis.contingency import contingencies

    window = tuple(int(v) for v in params["window_ms"])
    return _per_coder(inp, lambda t: contingencies(t, inp.scheme, window_ms=window))  # type: ignore[arg-type]


def _sequential_task(inp: AnnotationInput, params: dict[str, Any]) -> pd.DataFrame:
    """:func:`workbench.analysis.sequential.lag_tables` of each coder's event sequence."""
    from workbench.analysis.sequential import event_sequences, lag_tables

    def analyse(table: AnnotationTable) -> pd.DataFrame:
        sequences = event_sequences(table, with_actor=bool(params["with_actor"]))
        out = lag_tables(sequences, int(params["lag"]), omit_repeats=bool(params["omit_repeats"]))
        out.insert(0, "recording_id", pd.array([inp.recording_id] * len(out), dtype="Int64"))
        return out

    return _per_coder(inp, analyse)


#: The registered tasks, by name (see :func:`register_task`).
TASKS: dict[str, Task] = {}


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Make ``task`` available to :func:`run_batch` and :func:`load_results` by its name.

    Parameters
    ----------
    task : Task
        The task.
    replace : bool
        Replace a registered task of the same name.

    Returns
    -------
    Task
        ``task``.

    Raises
    ------
    ValueError
        If another task has that name and ``replace`` is false.

    Examples
    --------
    >>> import pandas as pd
    >>> def file_size(path, params):
    ...     return pd.DataFrame({"bytes": [path.stat().st_size], "unit": params["unit"]})
    >>> task = Task("file-size", file_size, "media", {"unit": "B"})
    >>> task
    <Task file-size v1 | media; params ['unit']>
    >>> register_task(task)  # doctest: +SKIP
    >>> run_batch(project, "file-size")  # doctest: +SKIP
    """
    if not isinstance(task, Task):
        raise TypeError(f"Expected a Task, but got {type(task).__name__}.")
    if task.name in TASKS and not replace and TASKS[task.name] is not task:
        raise ValueError(f"Expected a new task name, but {task.name!r} is registered; pass replace=True.")
    TASKS[task.name] = task
    return task


for _task in (
    Task(
        "probe",
        _probe_task,
        "media",
        {},
        description="probe: codec, size, frames, sha256 check, browser-playable",
    ),
    Task(
        "thumbnails",
        _thumbnails_task,
        "media",
        {"count": 20, "height": 72},
        description="a strip of thumbnails (.npz: strip, times_ms)",
        tidy=_tidy_thumbnails,
    ),
    Task(
        "motion_energy",
        _motion_task,
        "media",
        {"rois": None, "threshold": 10},
        description="motion energy per frame per region (default: left and right halves)",
        tidy=_tidy_motion,
    ),
    Task(
        "contingency",
        _contingency_task,
        "annotations",
        {"window_ms": [0, 3000]},
        description="initiative -> reception -> response outcomes, per coder",
    ),
    Task(
        "sequential",
        _sequential_task,
        "annotations",
        {"lag": 1, "omit_repeats": False, "with_actor": True},
        description="lag tables of each coder's event sequence (GSEQ statistics)",
    ),
):
    register_task(_task)
del _task


def _resolve_tasks(tasks: str | Task | Iterable[str | Task]) -> list[Task]:
    items = [tasks] if isinstance(tasks, str | Task) else list(tasks)
    if not items:
        raise ValueError(f"Expected at least one task among {', '.join(TASKS)}, but got none.")
    out: list[Task] = []
    for item in items:
        if isinstance(item, Task):
            task = item
        elif isinstance(item, str) and item in TASKS:
            task = TASKS[item]
        else:
            raise ValueError(
                f"Invalid task. Allowed values are {', '.join(map(repr, TASKS))}, but got {item!r} instead."
            )
        if all(t.name != task.name for t in out):
            out.append(task)
    return out


# -- planning ---------------------------------------------------------------------------


@dataclass
class _Job:
    task: Task
    key: str
    sha256: str
    recording_ids: list[int]
    source: Any
    params: dict[str, Any]
    input_digest: str | None = None
    problem: str | None = None  # found before running (a missing file)


def _results_root(project: Any) -> Path:
    folder = getattr(project, "folder", None)
    if folder is None:
        raise StoreError(
            "Expected a project folder to keep batch results in, but this project has none; "
            "open the database with open_project(url, folder=...)."
        )
    return Path(folder) / RESULTS_DIR


def _select_recordings(project: Any, recordings: Iterable[Recording | int] | None) -> list[Recording]:
    every = project.recordings()
    if recordings is None:
        return every
    by_id = {r.id: r for r in every}
    out = []
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
class _AnnotationRows:
    """What annotation tasks read, once per batch: each recording's rows (without ``version``) and digests."""

    scheme: CodingScheme
    scheme_digest: str
    rows: dict[int, pd.DataFrame]
    digests: dict[int, str]


def _annotation_rows(project: Any, recs: Sequence[Recording]) -> _AnnotationRows:
    scheme = project.scheme
    if len(recs) == 1:
        frame = project.annotations(recs[0]).to_dataframe()
    else:
        frame = project.annotations().to_dataframe() if recs else pd.DataFrame(columns=["recording_id"])
    frame = frame.drop(columns=["version"], errors="ignore")
    groups = dict(tuple(frame.groupby("recording_id", sort=False))) if len(frame) else {}
    rows = {int(rec.id): groups.get(rec.id, frame.iloc[0:0]).reset_index(drop=True) for rec in recs}
    digests = {i: _annotations_digest(r) for i, r in rows.items()}
    return _AnnotationRows(scheme, _digest(scheme.to_dict()), rows, digests)


def _plan(
    project: Any,
    task: Task,
    params: dict[str, Any],
    recs: Sequence[Recording],
    annotations: _AnnotationRows | None = None,
) -> list[_Job]:
    """One job per distinct key: media jobs are shared by recordings of the same video.

    ``annotations`` (read by :func:`_annotation_rows` when not given) lets several annotation tasks
    of one batch share one read of the store.
    """
    base = {"task": task.name, "version": task.version, "params": params}
    jobs: dict[str, _Job] = {}
    if task.source == "media":
        phash = _digest(base)
        for rec in recs:
            key = f"{rec.sha256}-{phash}"
            if key in jobs:
                jobs[key].recording_ids.append(rec.id)
                continue
            path = project.media_path(rec)
            problem = None if path.is_file() else f"Expected the video file at {path}, but it is missing."
            jobs[key] = _Job(task, key, rec.sha256, [rec.id], path, params, problem=problem)
        return list(jobs.values())
    read = annotations if annotations is not None else _annotation_rows(project, recs)
    for rec in recs:
        rows = read.rows[int(rec.id)]
        digest = _digest(
            {
                "recording": rec.id,
                "duration_ms": rec.duration_ms,
                "scheme": read.scheme_digest,
                "rows": read.digests[int(rec.id)],
            }
        )
        key = f"{rec.sha256}-{_digest({**base, 'input': digest})}"
        source = AnnotationInput(int(rec.id), rows, read.scheme, int(rec.duration_ms))
        jobs[key] = _Job(task, key, rec.sha256, [rec.id], source, params, input_digest=digest)
    return list(jobs.values())


def _stored_file(folder: Path, key: str) -> Path | None:
    for suffix in _SUFFIXES:
        path = folder / f"{key}{suffix}"
        if path.is_file():
            return path
    return None


# -- running on a worker ----------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """``"Type: message"``; for an unexpected error also where it was raised (not the whole traceback)."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if not isinstance(exc, WorkbenchError | ValueError | TypeError | OSError):
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            last = frames[-1]
            text += f" (raised in {Path(last.filename).name}:{last.lineno}, {last.name})"
    return text


def _execute(
    func: Callable[[Any, dict[str, Any]], Any], source: Any, params: dict[str, Any]
) -> dict[str, Any]:
    """Run one job (on a worker): never raises, reports the error, the warnings and the time taken."""
    start = time.perf_counter()
    value, error, trace = None, None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = func(source, dict(params))
        except Exception as exc:
            error, trace = _describe(exc), traceback.format_exc()
    return {
        "value": value,
        "error": error,
        "traceback": trace,
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "seconds": time.perf_counter() - start,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


class _SyncRunner:
    """Runs the jobs here, one after the other (like Dask's synchronous scheduler)."""

    description = "this process, synchronous"

    def run(self, jobs: Sequence[_Job]) -> Iterator[tuple[_Job, dict[str, Any]]]:
        for job in jobs:
            yield job, _execute(job.task.func, job.source, job.params)


class _DaskRunner:
    """Submits every job to a Dask cluster and yields them as they complete."""

    def __init__(self, client: Any, description: str) -> None:
        self.client = client
        self.description = description

    def run(self, jobs: Sequence[_Job]) -> Iterator[tuple[_Job, dict[str, Any]]]:
        from distributed import as_completed

        if not jobs:
            return
        futures = {}
        for job in jobs:
            name = f"workbench-{job.task.name}-{job.key[:12]}-{uuid.uuid4().hex[:8]}"
            futures[
                self.client.submit(_execute, job.task.func, job.source, job.params, key=name, pure=False)
            ] = job
        try:
            for future in as_completed(list(futures)):
                job = futures.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker died (KilledWorker), the job was cancelled, ...
                    outcome = {
                        "value": None,
                        "error": _describe(exc),
                        "traceback": None,
                        "warnings": [],
                        "seconds": float("nan"),
                        "worker": "",
                    }
                future.release()
                yield job, outcome
        finally:
            for future in futures:
                future.cancel()


def _check_scheduler(scheduler: Any) -> None:
    if (
        scheduler is not None
        and not isinstance(scheduler, str)
        and not hasattr(scheduler, "submit")  # a Client
        and not hasattr(scheduler, "scheduler_address")  # a cluster (LocalCluster, ...)
    ):
        raise TypeError(
            "Expected scheduler None, 'sync', an address like 'tcp://host:8786', a distributed.Client or "
            f"a cluster, but got {type(scheduler).__name__}."
        )
    if (
        isinstance(scheduler, str)
        and scheduler.strip().lower() not in SYNC_SCHEDULERS
        and "://" not in scheduler
    ):
        raise ValueError(
            "Invalid value for the 'scheduler' parameter. Allowed values are None (a local cluster), 'sync' "
            f"and a scheduler address like 'tcp://host:8786', but got {scheduler!r} instead."
        )


@contextlib.contextmanager
def _quiet(name: str, level: int = logging.WARNING) -> Iterator[None]:
    """Keep a library's INFO chatter (a local cluster starting and stopping) out of the user's log."""
    log = logging.getLogger(name)
    old = log.level
    if log.getEffectiveLevel() < level:
        log.setLevel(level)
    try:
        yield
    finally:
        log.setLevel(old)


@contextlib.contextmanager
def _runner(scheduler: Any) -> Iterator[_SyncRunner | _DaskRunner]:
    if isinstance(scheduler, str) and scheduler.strip().lower() in SYNC_SCHEDULERS:
        yield _SyncRunner()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency of the workbench
        raise WorkbenchError(
            "Expected Dask's distributed scheduler to run a batch, but it is not installed. "
            "Install it with: pip install 'dask[distributed]' (or pass scheduler='sync')."
        ) from exc
    if scheduler is None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_quiet("distributed"))
            try:
                cluster = stack.enter_context(
                    LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
                )
            except (RuntimeError, OSError, TimeoutError) as exc:
                raise WorkbenchError(
                    f"Expected to start a local Dask cluster of 2 worker processes, but it failed ({exc}). "
                    "In a script, call run_batch under `if __name__ == '__main__':` (the worker processes "
                    "import the script again), or pass scheduler='sync'."
                ) from exc
            client = stack.enter_context(Client(cluster))
            dashboard = client.dashboard_link if importlib.util.find_spec("bokeh") else "none (needs bokeh)"
            logger.info("Started a local Dask cluster (2 worker processes); dashboard: %s", dashboard)
            yield _DaskRunner(client, "LocalCluster, 2 workers")
        return
    if hasattr(scheduler, "submit"):  # a Client the caller owns: used, not closed
        address = getattr(getattr(scheduler, "scheduler", None), "address", "?")
        yield _DaskRunner(scheduler, f"Dask scheduler {address}")
        return
    try:
        client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        where = (
            scheduler if isinstance(scheduler, str) else getattr(scheduler, "scheduler_address", scheduler)
        )
        raise WorkbenchError(
            f"Expected a Dask scheduler at {where}, but could not connect within {CONNECT_TIMEOUT_S} s "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    with client:
        address = scheduler if isinstance(scheduler, str) else scheduler.scheduler_address
        yield _DaskRunner(client, f"Dask scheduler {address}")


# -- storing ----------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=_json_default))
    except (TypeError, ValueError):
        return None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _write_result(folder: Path, key: str, value: Any, task: Task) -> tuple[Path, dict[str, Any]]:
    """Write atomically; returns the file and the result's attrs (kept in the index)."""
    if isinstance(value, pd.DataFrame):
        path, attrs = folder / f"{key}.parquet", _jsonable(value.attrs) or {}
        frame = value.copy(deep=False)
        frame.attrs = {}
        frame.columns = [str(c) for c in frame.columns]
        buffer = io.BytesIO()
        try:
            frame.to_parquet(buffer)
        except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
            raise WorkbenchError(
                "Expected pyarrow to store results as Parquet, but it is not installed: pip install pyarrow."
            ) from exc
        data = buffer.getvalue()
    elif isinstance(value, Mapping) and value and all(isinstance(k, str) for k in value):
        arrays = {k: np.asarray(v) for k, v in value.items()}
        if any(a.dtype == object for a in arrays.values()):
            raise TypeError("Expected numeric arrays, but an array holds Python objects.")
        path, attrs = folder / f"{key}.npz", {}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        data = buffer.getvalue()
    else:
        raise TypeError(
            f"Expected task {task.name!r} to return a DataFrame or a dict of arrays, "
            f"but got {type(value).__name__}."
        )
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path, attrs


def _read_stored(path: Path) -> Result:
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        return pd.read_parquet(path)
    except Exception as exc:
        raise StoreError(f"Expected a readable batch result at {path}, but reading it failed: {exc}") from exc


class _Index:
    """``results/<task>/index.json``: metadata of each stored result, merged with the file on every flush."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / _INDEX
        self.entries: dict[str, dict[str, Any]] = self._read()
        self.dirty: set[str] = set()
        self.last_flush = time.monotonic()

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["results"]
            if not isinstance(entries, dict):
                raise TypeError("'results' is not an object")
            return entries
        except (OSError, ValueError, KeyError, TypeError) as exc:
            warnings.warn(
                f"Expected a JSON index of batch results at {self.path}, but it is unreadable ({exc}); "
                "it will be rebuilt from the results written from now on.",
                stacklevel=4,
            )
            return {}

    def add(self, key: str, entry: dict[str, Any]) -> None:
        self.entries[key] = entry
        self.dirty.add(key)

    def remove(self, key: str) -> None:
        if self.entries.pop(key, None) is not None:
            self.dirty.add(key)

    def flush(self, force: bool = False) -> None:
        if not self.dirty or (not force and time.monotonic() - self.last_flush < _FLUSH_EVERY_S):
            return
        merged = self._read() if self.path.is_file() else {}
        for key in self.dirty:
            if key in self.entries:
                merged[key] = self.entries[key]
            else:
                merged.pop(key, None)
        self.entries = merged
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": 1, "results": merged}, indent=1, sort_keys=True, ensure_ascii=False)
        atomic_write_bytes(self.path, (text + "\n").encode("utf-8"))
        self.dirty.clear()
        self.last_flush = time.monotonic()


def _entry(job: _Job, path: Path, outcome: Mapping[str, Any] | None, attrs: Any) -> dict[str, Any]:
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


# -- the report -------------------------------------------------------------------------


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
    """The outcome of :func:`run_batch`: counts and, for each failure, the recording and the error.

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


def _recording_names(project: Any, recs: Sequence[Recording]) -> dict[int, str]:
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


# -- the entry points -------------------------------------------------------------------


@contextlib.contextmanager
def _opened(project: Any) -> Iterator[Any]:
    if isinstance(project, str | os.PathLike):
        from workbench.store import open_store  # the store is all a batch reads

        with open_store(project) as opened:
            yield opened
    else:
        yield project


def _params_for(
    tasks: Sequence[Task], params: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    params = dict(params or {})
    names = {t.name for t in tasks}
    unknown = sorted(set(params) - names)
    if unknown:
        raise ValueError(
            f"Expected parameters for the tasks being run ({', '.join(sorted(names))}), "
            f"but got parameters for {', '.join(map(repr, unknown))}."
        )
    return {t.name: t.params(params.get(t.name)) for t in tasks}


def run_batch(
    project: Any,
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
        An open :class:`~workbench.store.Project` (it must have a folder), or a project folder.
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
    _check_scheduler(scheduler)
    chosen = _resolve_tasks(tasks)
    task_params = _params_for(chosen, params)
    with _opened(project) as proj:
        root = _results_root(proj)
        recs = _select_recordings(proj, recordings)
        names = _recording_names(proj, recs)
        read = _annotation_rows(proj, recs) if any(t.source != "media" for t in chosen) else None
        plans = {t.name: _plan(proj, t, task_params[t.name], recs, read) for t in chosen}
    indexes = {t.name: _Index(root / t.name) for t in chosen}
    results: list[JobResult] = []

    def result(job: _Job, status: Literal["done", "skipped", "failed"], **kw: Any) -> None:
        label = "; ".join(names[r] for r in job.recording_ids)
        results.append(JobResult(job.task.name, tuple(job.recording_ids), label, status, job.key, **kw))

    to_run: list[_Job] = []
    for task in chosen:
        folder = root / task.name
        for job in plans[task.name]:
            stored = None if force else _stored_file(folder, job.key)
            if stored is not None:
                if job.key not in indexes[task.name].entries:  # e.g. interrupted before the index was written
                    indexes[task.name].add(job.key, _entry(job, stored, None, None))
                result(job, "skipped", file=str(stored))
            elif job.problem is not None:
                result(job, "failed", error=f"MediaError: {job.problem}")
            else:
                to_run.append(job)

    from tqdm.auto import tqdm

    skipped = sum(r.status == "skipped" for r in results)
    failed = sum(r.status == "failed" for r in results)
    bar = tqdm(
        total=len(to_run),
        desc="workbench batch",
        unit="job",
        disable=not (progress and to_run),
        dynamic_ncols=True,
    )
    bar.set_postfix(skipped=skipped, failed=failed, refresh=False)
    description = "nothing to run"
    try:
        if to_run:
            with _runner(scheduler) as runner:
                description = runner.description
                for job, outcome in runner.run(to_run):
                    for text in outcome["warnings"]:
                        warnings.warn(f"{job.task.name}: {names[job.recording_ids[0]]}: {text}", stacklevel=2)
                    error = outcome["error"]
                    if error is None:
                        error = _check_sha256(job, outcome["value"])
                    if error is None:
                        try:
                            path, attrs = _write_result(
                                root / job.task.name, job.key, outcome["value"], job.task
                            )
                        except (OSError, TypeError, ValueError, WorkbenchError) as exc:
                            error = f"could not store the result: {_describe(exc)}"
                        else:
                            indexes[job.task.name].add(job.key, _entry(job, path, outcome, attrs))
                            indexes[job.task.name].flush()
                            result(
                                job,
                                "done",
                                file=str(path),
                                seconds=float(outcome["seconds"]),
                                warnings=tuple(outcome["warnings"]),
                            )
                    if error is not None:
                        failed += 1
                        if outcome.get("traceback"):
                            logger.debug(
                                "%s failed for %s:\n%s",
                                job.task.name,
                                job.recording_ids,
                                outcome["traceback"],
                            )
                        result(
                            job,
                            "failed",
                            error=error,
                            seconds=float(outcome["seconds"]),
                            warnings=tuple(outcome["warnings"]),
                        )
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


def _check_sha256(job: _Job, value: Any) -> str | None:
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
    proj: Any, task: Task, params: Mapping[str, Any] | None, recordings: Iterable[Recording | int] | None
) -> tuple[Path, dict[str, Any], list[Recording], list[_Job]]:
    root = _results_root(proj)
    resolved = task.params(params)
    recs = _select_recordings(proj, recordings)
    return root / task.name, resolved, recs, _plan(proj, task, resolved, recs)


def load_results(
    project: Any,
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
    (chosen,) = _resolve_tasks(task)
    frames: list[tuple[int, pd.DataFrame]] = []
    missing: list[int] = []
    with _opened(project) as proj:
        folder, resolved, _recs, jobs = _lookup(proj, chosen, params, recordings)
    for job in jobs:
        stored = _stored_file(folder, job.key)
        if stored is None:
            missing.extend(job.recording_ids)
            continue
        value = _read_stored(stored)
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
    project: Any, task: str | Task, recording: Recording | int, *, params: Mapping[str, Any] | None = None
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
    (chosen,) = _resolve_tasks(task)
    with _opened(project) as proj:
        folder, _resolved, _recs, jobs = _lookup(proj, chosen, params, [recording])
    job = jobs[0]
    stored = _stored_file(folder, job.key)
    if stored is None:
        recording_ids = ", ".join(map(str, job.recording_ids))
        raise NotFoundError(
            f"Expected a stored {chosen.name!r} result for recording {recording_ids} with these parameters"
            f"{_annotations_note(chosen)}, but there is none; run workbench.batch.run_batch."
        )
    value = _read_stored(stored)
    if isinstance(value, pd.DataFrame):
        entry = _Index(folder).entries.get(job.key, {})
        value.attrs = dict(entry.get("attrs") or {})
    return value


def prune_results(project: Any) -> list[Path]:
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
        root = _results_root(proj)
        keep = {r.sha256 for r in proj.recordings()}
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        index = _Index(folder)
        for path in sorted(folder.iterdir()):
            if path.suffix not in _SUFFIXES or path.name.startswith("."):
                continue
            key = path.stem
            if key.split("-", 1)[0] not in keep:
                path.unlink(missing_ok=True)
                index.remove(key)
                removed.append(path)
        for key in [k for k, e in index.entries.items() if e.get("sha256") not in keep]:
            index.remove(key)
        index.flush(force=True)
    if removed:
        logger.info("Removed %d batch results of recordings no longer in the project.", len(removed))
    return removed


def forget_results(folder: str | os.PathLike[str], sha256s: Iterable[str], recording_ids: Iterable[int]) -> list[Path]:
    """Remove the batch results of purged recordings (what :func:`~workbench.store.purge_case` calls).

    Removed: every result of a video in ``sha256s`` (videos no other recording uses), and every
    result computed from the annotations of a recording in ``recording_ids``. A result of a video
    that another recording still uses stays; its index entry forgets the purged recording ids.

    Parameters
    ----------
    folder : str or path
        The project folder (results are under ``<folder>/results/``).
    sha256s : iterable of str
        SHA-256 of the videos whose results go.
    recording_ids : iterable of int
        The purged recordings.

    Returns
    -------
    list of Path
        The files removed (index files are rewritten, not listed).
    """
    root = Path(folder) / RESULTS_DIR
    shas = {str(s) for s in sha256s}
    rids = {int(r) for r in recording_ids}
    removed: list[Path] = []
    if not root.is_dir() or not (shas or rids):
        return removed
    for task_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        index = _Index(task_dir)
        doomed = set()
        for key, entry in index.entries.items():
            ids = {int(i) for i in entry.get("recording_ids") or []}
            if entry.get("sha256") in shas or (entry.get("input_digest") is not None and ids & rids):
                doomed.add(key)
            elif ids & rids:  # a shared video's result stays, without the purged ids
                index.add(key, {**entry, "recording_ids": sorted(ids - rids)})
        for path in sorted(task_dir.iterdir()):
            if path.suffix in _SUFFIXES and (path.stem in doomed or path.stem.split("-", 1)[0] in shas):
                path.unlink(missing_ok=True)
                doomed.add(path.stem)
                removed.append(path)
        for key in doomed:
            index.remove(key)
        index.flush(force=True)
    return removed

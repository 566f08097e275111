"""Batch tasks: what runs on a worker for one recording, the built-in tasks and the registry.

A :class:`Task` is a pure function ``func(source, params) -> result``: ``source`` is the path of a
recording's video (*media* tasks) or an :class:`AnnotationInput` (*annotation* tasks). Parameters are
checked and made canonical here (a tuple and a list, ``10.0`` and ``10`` are one value), because a
result's key is a hash of them (:mod:`workbench.batch.plan`).

:data:`TASKS` holds the tasks :func:`~workbench.batch.run_batch` knows by name; :func:`register_task`
adds one.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from workbench.annotations import AnnotationTable
from workbench.scheme import CodingScheme
from workbench.store.results import Result

__all__ = [
    "DEFAULT_TASKS",
    "TASKS",
    "AnnotationInput",
    "Task",
    "halves",
    "params_for",
    "register_task",
    "resolve_tasks",
]

#: The tasks :func:`~workbench.batch.run_batch` runs when none are named.
DEFAULT_TASKS: tuple[str, ...] = ("probe", "thumbnails", "motion_energy", "contingency")
_TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


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
        ``tidy(stored) -> DataFrame`` for :func:`~workbench.batch.load_results` (the stored DataFrame
        or dict of arrays); default: the stored DataFrame as it is.
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


# -- the built-in tasks ---------------------------------------------------------------------


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


def _contingency_task(inp: AnnotationInput, params: dict[str, Any]) -> pd.DataFrame:
    """:func:`workbench.analysis.contingency.contingencies_by_coder`: each coder's coding apart."""
    from workbench.analysis.contingency import contingencies_by_coder

    # as stored (a list, checked by contingencies: start, end); a tuple of ints, as the key was made of
    window = cast(tuple[int, int], tuple(int(v) for v in params["window_ms"]))
    return contingencies_by_coder(inp.table(), inp.scheme, window_ms=window)


def _sequential_task(inp: AnnotationInput, params: dict[str, Any]) -> pd.DataFrame:
    """:func:`workbench.analysis.sequential.lag_tables` of each coder's event sequence."""
    from workbench.analysis.sequential import event_sequences, lag_tables

    table = inp.table()
    parts = []
    for coder in table.coders or ("",):  # never mixing two codings of one recording
        sequences = event_sequences(
            table.filter(coder=coder) if table.coders else table, with_actor=bool(params["with_actor"])
        )
        part = lag_tables(sequences, int(params["lag"]), omit_repeats=bool(params["omit_repeats"]))
        part.insert(0, "recording_id", pd.array([inp.recording_id] * len(part), dtype="Int64"))
        part.insert(0, "coder", pd.Series([coder] * len(part), index=part.index, dtype=object))
        parts.append(part)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    out.attrs = dict(parts[0].attrs)
    return out


# -- the registry -----------------------------------------------------------------------------

#: The registered tasks, by name (see :func:`register_task`).
TASKS: dict[str, Task] = {}


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Make ``task`` available to :func:`~workbench.batch.run_batch` and
    :func:`~workbench.batch.load_results` by its name.

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


def resolve_tasks(tasks: str | Task | Iterable[str | Task]) -> list[Task]:
    """The tasks named (registered names or :class:`Task` objects), each once, in the order given."""
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


def params_for(tasks: Iterable[Task], params: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Each task's parameters: its defaults updated with ``params[task.name]`` (only tasks being run)."""
    tasks = list(tasks)
    params = dict(params or {})
    names = {t.name for t in tasks}
    unknown = sorted(set(params) - names)
    if unknown:
        raise ValueError(
            f"Expected parameters for the tasks being run ({', '.join(sorted(names))}), "
            f"but got parameters for {', '.join(map(repr, unknown))}."
        )
    return {t.name: t.params(params.get(t.name)) for t in tasks}

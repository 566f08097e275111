"""The results store: batch results in the project folder, and their index.

Layout (unchanged since the first batch: results already stored are found again)::

    <project folder>/results/<task>/<key>.parquet     a DataFrame result
    <project folder>/results/<task>/<key>.npz         a dict-of-arrays result
    <project folder>/results/<task>/index.json        {"format": 1, "results": {key: entry}}

``key`` is ``<sha256 of the video>-<hash of task, version, parameters and input>``
(:mod:`workbench.batch.plan`). An index entry holds the task, its version and parameters, the
recordings, the input digest, the file's name, when and where it was computed, and the result's
``attrs`` (Parquet does not keep them). Files are written atomically; the index is merged with the
file on disk at every flush, so two batches writing one index lose nothing.

This module knows nothing of tasks, jobs or projects (it imports only :mod:`workbench.errors` and
:mod:`workbench.util`): what keeps results and what removes them when a case is purged need not
depend on what computes them.
"""

from __future__ import annotations

import io
import json
import os
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from workbench.errors import StoreError, WorkbenchError
from workbench.util import atomic_write_bytes

__all__ = [
    "RESULTS_DIR",
    "Result",
    "ResultIndex",
    "forget_results",
    "prune_stored",
    "read_stored",
    "results_root",
    "stored_file",
    "write_result",
]

#: Folder of batch results inside a project folder.
RESULTS_DIR = "results"
_INDEX = "index.json"
_FLUSH_EVERY_S = 2.0
_SUFFIXES = (".parquet", ".npz")

#: What a task returns and what is stored: a DataFrame (Parquet) or a dict of arrays (``.npz``).
Result: TypeAlias = pd.DataFrame | dict[str, np.ndarray]


def results_root(folder: str | os.PathLike[str] | None) -> Path:
    """``<folder>/results``; StoreError when the project has no folder (a bare database URL)."""
    if folder is None:
        raise StoreError(
            "Expected a project folder to keep batch results in, but this project has none; "
            "open the database with open_project(url, folder=...)."
        )
    return Path(folder) / RESULTS_DIR


def stored_file(folder: Path, key: str) -> Path | None:
    """The stored result of ``key`` in a task's folder, or None."""
    for suffix in _SUFFIXES:
        path = folder / f"{key}{suffix}"
        if path.is_file():
            return path
    return None


def _attrs_json(value: Any) -> Any:
    """A task's ``attrs`` as they go into ``index.json``: through :func:`json.dumps` (None if it refuses).

    Not :func:`workbench.util.jsonable`: for the built-in tasks' attrs both give the same JSON, but
    for other values they differ (NumPy arrays become lists here and make ``jsonable`` raise; NaN,
    datetimes, sets and ``True`` keys are written differently), and a registered task's attrs must
    come back from :func:`~workbench.batch.load_result` as they always did.
    """
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


def write_result(folder: Path, key: str, value: Any, task_name: str) -> tuple[Path, dict[str, Any]]:
    """Write atomically; returns the file and the result's attrs (kept in the index)."""
    if isinstance(value, pd.DataFrame):
        path, attrs = folder / f"{key}.parquet", _attrs_json(value.attrs) or {}
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
            f"Expected task {task_name!r} to return a DataFrame or a dict of arrays, "
            f"but got {type(value).__name__}."
        )
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path, attrs


def read_stored(path: Path) -> Result:
    """A stored result: the DataFrame (without attrs) or the dict of arrays."""
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        return pd.read_parquet(path)
    except Exception as exc:
        raise StoreError(f"Expected a readable batch result at {path}, but reading it failed: {exc}") from exc


class ResultIndex:
    """``results/<task>/index.json``: metadata of each stored result, merged with the file on every flush.

    An unreadable index is warned about (and rebuilt from the results written from now on); the
    warning points ``stacklevel`` frames up from the code that opens the index (2: its caller).
    """

    def __init__(self, folder: Path, *, stacklevel: int = 2) -> None:
        self.path = folder / _INDEX
        self._stacklevel = stacklevel
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
                stacklevel=self._stacklevel + 2,
            )
            return {}

    def add(self, key: str, entry: dict[str, Any]) -> None:
        """Record ``entry`` for ``key`` (written at the next flush)."""
        self.entries[key] = entry
        self.dirty.add(key)

    def remove(self, key: str) -> None:
        """Forget ``key`` (at the next flush)."""
        if self.entries.pop(key, None) is not None:
            self.dirty.add(key)

    def flush(self, force: bool = False) -> None:
        """Merge the changes into the file on disk (at most every 2 s unless ``force``)."""
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


def prune_stored(root: Path, keep: set[str]) -> list[Path]:
    """Remove every result under ``root`` whose video's SHA-256 is not in ``keep``; returns the files removed."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        index = ResultIndex(folder, stacklevel=3)  # the caller of prune_results
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
        index = ResultIndex(task_dir)
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

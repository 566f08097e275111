"""Running batch jobs: in this process or on Dask, each job's outcome as it completes, and the progress bar.

A job runs through :func:`execute`, which never raises: it returns the task's value or its error
(``"Type: message"``; the traceback apart, for the log), the warnings the task raised and the time
it took. :func:`open_runner` gives a runner for a scheduler (``"sync"``, a local cluster, an
address, a client or a cluster); its ``run(jobs)`` yields ``(job, outcome)`` in the order the jobs
complete. Nothing here reads the project or stores results.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from workbench.batch.plan import Job
from workbench.errors import WorkbenchError

__all__ = [
    "SYNC_SCHEDULERS",
    "DaskRunner",
    "Runner",
    "SyncRunner",
    "check_scheduler",
    "describe",
    "execute",
    "open_runner",
    "progress_bar",
]

logger = logging.getLogger(__name__)

#: Names accepted for running in this process, one job after the other (Dask's synchronous scheduler).
SYNC_SCHEDULERS = frozenset({"sync", "synchronous", "single-threaded"})


def describe(exc: BaseException) -> str:
    """``"Type: message"``; for an unexpected error also where it was raised (not the whole traceback)."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if not isinstance(exc, WorkbenchError | ValueError | TypeError | OSError):
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            last = frames[-1]
            text += f" (raised in {Path(last.filename).name}:{last.lineno}, {last.name})"
    return text


def execute(func: Callable[[Any, dict[str, Any]], Any], source: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Run one job (on a worker): never raises, reports the error, the warnings and the time taken."""
    start = time.perf_counter()
    value, error, trace = None, None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = func(source, dict(params))
        except Exception as exc:
            error, trace = describe(exc), traceback.format_exc()
    return {
        "value": value,
        "error": error,
        "traceback": trace,
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "seconds": time.perf_counter() - start,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


class Runner(Protocol):
    """Where the jobs run: ``description`` names it; ``run`` yields each job with its outcome."""

    description: str

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
        """Run ``jobs``; yield ``(job, outcome of execute)`` as each completes."""
        ...


class SyncRunner:
    """Runs the jobs here, one after the other (like Dask's synchronous scheduler)."""

    description = "this process, synchronous"

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
        """Run each job in turn."""
        for job in jobs:
            yield job, execute(job.task.func, job.source, job.params)


class DaskRunner:
    """Submits every job to a Dask cluster and yields them as they complete."""

    def __init__(self, client: Any, description: str) -> None:
        self.client = client
        self.description = description

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
        """Submit every job; yield each as it completes (a lost worker fails its job, not the batch)."""
        from distributed import as_completed

        if not jobs:
            return
        futures = {}
        for job in jobs:
            name = f"workbench-{job.task.name}-{job.key[:12]}-{uuid.uuid4().hex[:8]}"
            futures[self.client.submit(execute, job.task.func, job.source, job.params, key=name, pure=False)] = job
        try:
            for future in as_completed(list(futures)):
                job = futures.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker died (KilledWorker), the job was cancelled, ...
                    outcome = {
                        "value": None,
                        "error": describe(exc),
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


def check_scheduler(scheduler: Any) -> None:
    """Refuse a scheduler :func:`open_runner` cannot use (before anything is read or run)."""
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
def open_runner(scheduler: Any, *, connect_timeout_s: float) -> Iterator[Runner]:
    """A runner for ``scheduler`` (see :func:`~workbench.batch.run_batch`), closed on exit if it made one.

    ``connect_timeout_s`` is how long to wait for a scheduler given by address.
    """
    if isinstance(scheduler, str) and scheduler.strip().lower() in SYNC_SCHEDULERS:
        yield SyncRunner()
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
            yield DaskRunner(client, "LocalCluster, 2 workers")
        return
    if hasattr(scheduler, "submit"):  # a Client the caller owns: used, not closed
        address = getattr(getattr(scheduler, "scheduler", None), "address", "?")
        yield DaskRunner(scheduler, f"Dask scheduler {address}")
        return
    try:
        client = Client(scheduler, timeout=f"{connect_timeout_s}s")
    except (OSError, TimeoutError) as exc:
        where = (
            scheduler if isinstance(scheduler, str) else getattr(scheduler, "scheduler_address", scheduler)
        )
        raise WorkbenchError(
            f"Expected a Dask scheduler at {where}, but could not connect within {connect_timeout_s} s "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    with client:
        address = scheduler if isinstance(scheduler, str) else scheduler.scheduler_address
        yield DaskRunner(client, f"Dask scheduler {address}")


def progress_bar(total: int, *, enabled: bool, skipped: int, failed: int) -> Any:
    """A ``tqdm.auto`` bar of jobs (a widget in a notebook, text on stderr in a terminal).

    Shown only when ``enabled`` and there is something to run; its postfix counts ``skipped`` and
    ``failed``.
    """
    from tqdm.auto import tqdm

    bar = tqdm(
        total=total,
        desc="workbench batch",
        unit="job",
        disable=not (enabled and total),
        dynamic_ncols=True,
    )
    bar.set_postfix(skipped=skipped, failed=failed, refresh=False)
    return bar

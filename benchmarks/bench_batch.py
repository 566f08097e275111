"""Benchmark of workbench.batch: the default tasks over a small corpus, on a LocalCluster vs a plain loop.

Builds a project in a temporary folder with ``--recordings`` numbered films (default 6) of ``--seconds``
each (default 20 s; 640x360, 25 fps, H.264 "ultrafast", no audio), each with a few coded initiatives
and answers, then runs the default tasks (probe, thumbnails, motion_energy, contingency) over it:

1. ``plain loop``: every task function called on every recording in this process, one after the
   other, results kept in memory (no Dask, no storing): the floor;
2. ``run_batch(scheduler="sync")``: the same jobs through the batch machinery in this process
   (reading the store, hashing, writing Parquet/npz and the index);
3. ``run_batch()`` with its default LocalCluster (2 worker processes, 1 thread each), cluster start
   and stop included;
4. ``run_batch(scheduler=client)`` on a LocalCluster that is already running (start excluded);
5. a rerun with everything stored (all skipped).

Each timed batch starts from an empty ``results/`` folder; each measure is the best of ``--repeat``
runs (after one untimed warm-up of the loop, so that imports are not counted). Reports seconds and the
plain loop's time divided by each (above 1: faster than the loop).

Usage::

    python benchmarks/bench_batch.py [--recordings 6] [--seconds 20] [--width 640 --height 360] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench.batch import DEFAULT_TASKS, TASKS, AnnotationInput, run_batch
from workbench.media.synth import write_numbered_video
from workbench.project import open_project


def build(folder: Path, films: Path, n: int, seconds: float, size: tuple[int, int]) -> None:
    """The corpus: ``n`` films, each with child initiatives every ~3 s and some parent answers."""
    rng = np.random.default_rng(11)
    with open_project(folder, create=True, coder="bench") as project:
        case = project.add_case("Bench")
        session = project.add_session(case, "filming", "2026-01-15")
        for i in range(n):
            # films of different lengths (and so different sha256s)
            path = write_numbered_video(
                films / f"film{i}.mp4",
                seconds=seconds + i * 0.2,
                fps=25,
                size=size,
                audio=False,
                preset="ultrafast",
            )
            rec = project.add_recording(session, path, label=f"film {i}")
            for onset in range(500, int(seconds * 1000) - 3000, 3000):
                project.add_annotation(rec, "child", "initiative-verbal", onset)
                if rng.random() < 0.7:
                    project.add_annotation(
                        rec, "parent", "returning-eye-contact", onset + int(rng.integers(200, 900))
                    )
                if rng.random() < 0.5:
                    project.add_annotation(rec, "parent", "receiving-responding", onset + 1200, onset + 2000)


def plain_loop(folder: Path) -> float:
    """Every default task on every recording, here, in memory."""
    start = time.perf_counter()
    with open_project(folder) as project:
        recs = project.recordings()
        paths = [project.media_path(r) for r in recs]
        table = project.annotations().to_dataframe().drop(columns=["version"])
        scheme = project.scheme
    for name in DEFAULT_TASKS:
        task = TASKS[name]
        for rec, path in zip(recs, paths, strict=True):
            if task.source == "media":
                task.func(path, task.params())
            else:
                rows = table[table["recording_id"] == rec.id].reset_index(drop=True)
                task.func(AnnotationInput(rec.id, rows, scheme, rec.duration_ms), task.params())
    return time.perf_counter() - start


def timed_batch(folder: Path, **kwargs: object) -> float:
    """Seconds for the default tasks from an empty results folder (all 4 x n jobs done)."""
    shutil.rmtree(folder / "results", ignore_errors=True)
    start = time.perf_counter()
    report = run_batch(folder, progress=False, **kwargs)  # type: ignore[arg-type]
    took = time.perf_counter() - start
    assert report.failed == 0 and report.skipped == 0, report.summary()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        folder, films = Path(tmp) / "project", Path(tmp) / "films"
        films.mkdir()
        start = time.perf_counter()
        build(folder, films, args.recordings, args.seconds, (args.width, args.height))
        rows = [
            (
                "corpus",
                f"{args.recordings} x {args.seconds:g} s, {args.width}x{args.height} 25 fps, "
                f"built in {time.perf_counter() - start:.1f} s",
            ),
            ("cores", f"{os.cpu_count()}"),
        ]
        plain_loop(folder)  # warm-up: imports, file cache
        best = min
        loop = best(plain_loop(folder) for _ in range(args.repeat))
        rows.append(("plain loop (task functions, in memory)", f"{loop:7.2f} s"))
        sync = best(timed_batch(folder, scheduler="sync") for _ in range(args.repeat))
        rows.append(("run_batch sync (this process)", f"{sync:7.2f} s  loop/this {loop / sync:.2f}"))
        local = best(timed_batch(folder) for _ in range(args.repeat))
        rows.append(
            ("run_batch LocalCluster, start+stop incl.", f"{local:7.2f} s  loop/this {loop / local:.2f}")
        )
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: __import__("workbench.media") and None)  # warm the workers' imports
            warm = best(timed_batch(folder, scheduler=client) for _ in range(args.repeat))
        rows.append(("run_batch on a running LocalCluster", f"{warm:7.2f} s  loop/this {loop / warm:.2f}"))
        start = time.perf_counter()
        again = run_batch(folder, progress=False)
        rows.append(
            ("rerun, everything stored", f"{time.perf_counter() - start:7.2f} s  ({again.skipped} skipped)")
        )

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 50}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()

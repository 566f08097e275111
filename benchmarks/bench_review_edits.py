"""What one edit in the review costs: store calls, SQL statements, refresh time and bytes sent, before and after.

Builds a project with one 30-minute recording and 5,000 annotations by two coders (the large case of
``bench_browser.py``), opens the supervisor's review (both codings side by side, agreement shown) and sends
it the messages its widgets send - a cell edited (a note, an onset), a coding key tapped, a row deleted, the
delete undone - several times each. For each kind of edit it prints:

- the store calls it makes (reads and writes, counted at the project's public methods) and the SQL statements
  they run (counted with a SQLAlchemy ``before_cursor_execute`` listener on the project's engine);
- the time from the message to the new rows and chart data ready to send (the widgets' comm messages
  serialised to JSON, as the kernel does), median of the repeats, and how much of it the store took;
- the bytes of the comm messages that edit sends to the browser.

"Before" is the review as it was before it had a state model (commit :data:`BEFORE`, extracted with
``git archive``), "after" is this checkout; both run in their own process on their own copy of the same
project, so both sides are printed by one command::

    python benchmarks/bench_review_edits.py [--repeats 7] [--before REV]

The machine's load is printed with the figures: on a shared machine, compare the two sides of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The last commit whose review had no state model (issue 13 starts from it).
BEFORE = "547d8ec9be367719dccb94b5f8002365744559a2"
MINUTES = 30
ANNOTATIONS = 5000
EDITS = ("edit note", "edit onset", "key tap", "delete", "undo")


# -- the project ---------------------------------------------------------------------------------------


def build_project(folder: Path) -> None:
    """One case, one 30-minute film (160x90, 2 fps), 5,000 annotations (2,500 each by ``trainee`` and
    ``supervisor``, actors parent/child, codes drawn from the default scheme, a third points, the rest states
    of 0.3-4 s; seeded), 10 comments and 5 moments."""
    import numpy as np
    import pandas as pd

    import workbench
    from workbench.media.synth import write_numbered_video

    rng = np.random.default_rng(20261207)
    folder.mkdir(parents=True)
    video = write_numbered_video(folder.parent / "film.mp4", seconds=MINUTES * 60, fps=2, size=(160, 90),
                                 audio=False, preset="ultrafast")  # fmt: skip
    with workbench.open_project(folder, create=True, coder="supervisor") as p:
        case = p.add_case("Big", guider="trainee")
        for label in ("parent", "child"):
            p.add_participant(case, label, label)
        rec = p.add_recording(p.add_session(case, "filming", "2026-01-15"), video, label="30 minutes")
        codes = [c.key for c in p.scheme.codes]
        n = ANNOTATIONS
        onset = rng.integers(0, rec.duration_ms - 5000, n)
        length = np.where(rng.random(n) < 1 / 3, 0, rng.integers(300, 4000, n))
        p.add_annotations(rec, pd.DataFrame({
            "actor": rng.choice(["parent", "child"], n), "code": rng.choice(codes, n), "onset_ms": onset,
            "offset_ms": onset + length, "coder": ["trainee", "supervisor"] * (n // 2), "note": "",
        }))  # fmt: skip
        for i in range(10):
            p.add_comment(rec, 60_000 * (i + 1), "supervisor", f"comment {i}")
        for i in range(5):
            p.add_moment(rec, 200_000 * (i + 1), 200_000 * (i + 1) + 8_000, f"moment {i}")
    video.unlink()


# -- one side, in its own process ----------------------------------------------------------------------


class Meter:
    """Counts store calls (outermost public Project methods), SQL statements and comm bytes, and store time."""

    WRITES = ("add_", "update_", "delete_", "set_", "import_", "restore_", "purge_")

    def __init__(self, project: Any) -> None:
        import comm
        import sqlalchemy as sa

        self.calls: Counter[str] = Counter()
        self.sql: Counter[str] = Counter()
        self.sent = 0
        self.store_s = 0.0
        self._depth = 0
        sa.event.listen(project.engine, "before_cursor_execute", self._statement)
        for name in dir(type(project)):
            attr = getattr(type(project), name, None)
            if not name.startswith("_") and callable(attr) and name not in ("close", "engine"):
                setattr(project, name, self._wrap(name, getattr(project, name)))
        meter = self

        def publish(_comm: Any, _msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None,
                    **_keys: Any) -> None:  # fmt: skip
            meter.sent += len(json.dumps(data, default=str))  # what the kernel serialises for the browser

        comm.DummyComm.publish_msg = publish  # type: ignore[method-assign]

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        self.sql[word] += 1

    def _wrap(self, name: str, method: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.calls[("write " if name.startswith(self.WRITES) else "read ") + name] += 1
                    self.store_s += time.perf_counter() - t0

        return wrapped

    def reset(self) -> None:
        self.calls.clear()
        self.sql.clear()
        self.sent = 0
        self.store_s = 0.0


def measure(folder: Path, repeats: int) -> dict[str, Any]:
    """Open the supervisor's review of ``folder`` and time each kind of edit ``repeats`` times."""
    import workbench
    from workbench.ui import Review

    project = workbench.open_project(folder, coder="supervisor")
    meter = Meter(project)
    t0 = time.perf_counter()
    review = Review(project, 1, mode="supervision", coder="supervisor")
    opened_s = time.perf_counter() - t0
    assert len(review.table.rows) == ANNOTATIONS, len(review.table.rows)
    mine = [r for r in review.table.rows if r["coder"] == "supervisor"]
    initiatives = [r for r in mine if project.scheme.kind_of(r["code"]) == "initiative"]
    results: dict[str, Any] = {}

    def row(i: int) -> dict[str, Any]:
        return next(r for r in review.table.rows if r["id"] == i)

    def run(kind: str, send: Any) -> None:
        meter.reset()
        t = time.perf_counter()
        send()
        took = time.perf_counter() - t
        status = review.status.value
        if "color:#a33" in status:
            raise RuntimeError(f"Expected the {kind} to be stored, but the review says {status}")
        entry = results.setdefault(kind, {"ms": [], "store_ms": [], "sent": [], "calls": None, "sql": None})
        entry["ms"].append(1000 * took)
        entry["store_ms"].append(1000 * meter.store_s)
        entry["sent"].append(meter.sent)
        entry["calls"], entry["sql"] = dict(meter.calls), dict(meter.sql)

    for n in range(repeats):
        r = row(mine[10 + 37 * n]["id"])
        run("edit note", lambda r=r, n=n: review._on_table_msg(
            None, {"type": "edit", "id": r["id"], "version": r["version"], "field": "note", "value": f"n {n}"}, None))
        r = row(initiatives[5 + 19 * n]["id"])
        run("edit onset", lambda r=r: review._on_table_msg(
            None, {"type": "edit", "id": r["id"], "version": r["version"], "field": "onset_ms",
                   "value": r["onset_ms"] + 200}, None))  # fmt: skip
        at = 100_000 + 50_000 * n
        run("key tap", lambda at=at, n=n: review._on_player_msg(None, {
            "type": "key", "key": "1", "phase": "up", "onset_ms": at, "time_ms": at + 20,
            "down_wall_ms": 10_000 * n, "actor": "child"}, None))  # fmt: skip
        r = row(mine[500 + 41 * n]["id"])
        run("delete", lambda r=r: review._on_table_msg(
            None, {"type": "delete", "id": r["id"], "version": r["version"]}, None))
        run("undo", lambda: review._on_table_msg(None, {"type": "undo"}, None))
    review.close()
    project.close()
    return {"open_ms": 1000 * opened_s, "edits": results}


# -- both sides ----------------------------------------------------------------------------------------


def extract(rev: str, into: Path) -> Path:
    """The package and the widgets of commit ``rev``, written under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "workbench", "widgets"],
                             check=True, capture_output=True).stdout  # fmt: skip
    into.mkdir(parents=True)
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def side(tree: Path, folder: Path, repeats: int, registry: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree), "WORKBENCH_MEDIA_REGISTRY": str(registry)}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", str(folder), "--repeats", str(repeats)],
        capture_output=True, text=True, env=env, cwd=tree,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"Expected the measurement in {tree} to finish, but it failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def describe(entry: dict[str, Any]) -> tuple[str, str, str, str]:
    calls = Counter({k: v for k, v in entry["calls"].items()})
    reads = sum(v for k, v in calls.items() if k.startswith("read "))
    writes = sum(v for k, v in calls.items() if k.startswith("write "))
    named = ", ".join(f"{k.split(' ', 1)[1]}×{v}" if v > 1 else k.split(" ", 1)[1] for k, v in sorted(calls.items()))
    sql = entry["sql"]
    selects = sql.get("SELECT", 0)
    changes = sum(sql.get(k, 0) for k in ("INSERT", "UPDATE", "DELETE"))
    return (f"{reads} reads + {writes} write ({named})", f"{selects} SELECT + {changes} INSERT/UPDATE/DELETE "
            f"({sum(sql.values())} statements)", f"{statistics.median(entry['ms']):7.1f} ms "
            f"(store {statistics.median(entry['store_ms']):5.1f})", f"{statistics.median(entry['sent']) / 1e3:9.1f} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--before", default=BEFORE, help="the commit measured as 'before'")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeats)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-review-edits-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        sys.path.insert(0, str(ROOT))
        build_project(base / "project")
        print(f"project: {ANNOTATIONS:,} annotations by two coders on a {MINUTES}-minute film "
              f"(built in {time.perf_counter() - t0:.0f} s); {args.repeats} repeats of each edit; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)  # fmt: skip
        sides = {"before": extract(args.before, base / "before"), "after": ROOT}
        got = {}
        for name, tree in sides.items():
            folder = base / f"project-{name}"
            shutil.copytree(base / "project", folder)
            got[name] = side(tree, folder, args.repeats, base / f"registry-{name}")
        for name in sides:
            print(f"\n{name} ({args.before[:10] if name == 'before' else 'this checkout'}): "
                  f"Review opened in {got[name]['open_ms']:.0f} ms")  # fmt: skip
            for kind in EDITS:
                calls, sql, took, sent = describe(got[name]["edits"][kind])
                print(f"  {kind:10} {took}  sent {sent}  store: {calls}; SQL: {sql}")


if __name__ == "__main__":
    main()

"""Trust: nothing acknowledged is lost, nobody overwrites anybody silently, bad input is refused clearly.

- Crash safety: a child process writes annotations through ``Project.add_annotation`` (which
  returns only after commit) and reports each id through a pipe; the test kills it with SIGKILL
  at random moments, 50 times on SQLite (15 on PostgreSQL), and after every kill opens the project
  and checks that every acknowledged row is there exactly once. Big imports killed mid-way are
  all there or not at all.
- Concurrent coders: two real processes (a trainee and a supervisor) edit the same rows at the
  same moment, on SQLite and on PostgreSQL: exactly one edit wins each race, the other gets a
  ConflictError, and the trainee's review widget shows the conflict and reloads.
- Imports are all or nothing; annotations outside the recording, of unknown codes or actors, or
  overlapping states of one mutually exclusive group are refused with the row named.
- The audit log records who changed what and when.

Fixtures (``project``, ``_project_target``, ``store_video``, ``cfr_video``) are in ``tests/fixtures/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from workbench.annotations import AnnotationTable
from workbench.errors import AnnotationError, ConflictError, FormatError, StoreError
from workbench.model import Recording
from workbench.project import Project, open_project
from workbench.scheme import default_scheme, scheme_from_dict

ROOT = Path(__file__).resolve().parents[1]
#: Counts reported by the tests of this module (printed at the end of the module; see the report).
COUNTS: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _print_counts() -> Iterator[None]:
    yield
    if COUNTS:
        sys.__stdout__.write(f"\n[trust counts] {json.dumps(COUNTS, sort_keys=True)}\n")


def _open(target: tuple[str, Path], **kwargs: Any) -> Project:
    where, files = target
    if "://" in where:
        kwargs.setdefault("folder", files)
    return open_project(where, **kwargs)


def _dump(project: Project) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (and SQLite's id counters), read with plain SQL, to compare states."""
    with project.engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        out = {n: [tuple(r) for r in conn.exec_driver_sql(f'SELECT * FROM "{n}" ORDER BY 1')] for n in names}
        if project.dialect == "sqlite":
            out["sqlite_sequence"] = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM sqlite_sequence")]
    return out


# -- crash safety ---------------------------------------------------------------------------------


def _writer_child(target: tuple[str, Path], rid: int, start: int, ack: int, bulk: int) -> None:
    """In a forked child: write annotations forever, acknowledging each committed one on ``ack``."""
    try:
        project = _open(target, coder="crash")
        os.write(ack, b"ready\n")
        if bulk:  # one import of `bulk` rows; acknowledged once committed
            rows = [
                {"actor": "child", "code": "waiting", "onset_ms": i % 2000, "note": f"b{start}-{i}"}
                for i in range(bulk)
            ]
            ids = project.add_annotations(rid, rows)
            os.write(ack, f"done {len(ids)}\n".encode())
        seq = start
        while not bulk:
            aid = project.add_annotation(rid, "child", "waiting", seq % 2000, note=f"n{seq}").id
            os.write(ack, f"{seq} {aid}\n".encode())  # < PIPE_BUF: written whole or not at all
            seq += 1
    except BaseException:  # pragma: no cover - the parent sees the exit status
        os._exit(3)
    os._exit(0)


def _run_and_kill(
    target: tuple[str, Path], rid: int, start: int, delay: float, bulk: int = 0, *, after_ready: bool = True
) -> list[str]:
    """Fork a writer and SIGKILL it ``delay`` seconds after it opened the project (or after it started,
    with ``after_ready=False``: then it may die while opening); return the lines it acknowledged."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        _writer_child(target, rid, start, w, bulk)
    os.close(w)
    chunks: list[bytes] = []
    deadline = time.monotonic() + (60.0 if after_ready else delay)
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            data = os.read(r, 65536)
            if not data:
                break
            chunks.append(data)
            if after_ready and b"ready\n" in b"".join(chunks) and deadline - time.monotonic() > delay:
                deadline = time.monotonic() + delay
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    while data := os.read(r, 65536):
        chunks.append(data)
    os.close(r)
    assert os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 0, f"writer failed with status {status}"
    text = b"".join(chunks).decode()
    lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
    return [line for line in lines if line != "ready"]


def _crash_rounds(target: tuple[str, Path], rid: int, kills: int, rng: np.random.Generator) -> dict[str, int]:
    acked: dict[int, int] = {}  # seq -> id
    extra_total = rows_checked = 0
    start = 0
    with _open(target) as warm:  # import and cache in the parent what every forked writer needs
        AnnotationTable([{"actor": "a", "code": "waiting", "onset_ms": 1}], scheme=warm.scheme).to_dataframe()
    for k in range(kills):  # every fifth kill at any moment (even while opening), the others while writing
        lines = _run_and_kill(target, rid, start, float(rng.uniform(0.0, 0.4)), after_ready=k % 5 != 4)
        for line in lines:
            seq, aid = map(int, line.split())
            acked[seq] = aid
        with _open(target) as project, project.engine.connect() as conn:  # opens cleanly after every kill
            if project.dialect == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            rows = conn.exec_driver_sql("SELECT id, note FROM annotations WHERE coder = 'crash'").all()
            audited = conn.exec_driver_sql(
                "SELECT count(*) FROM audit_log WHERE kind = 'annotation' AND coder = 'crash'"
            ).scalar()
        by_seq = Counter(int(note[1:]) for _, note in rows)
        ids = {int(note[1:]): i for i, note in rows}
        assert all(n == 1 for n in by_seq.values()), "a row was stored twice"
        missing = [s for s in acked if s not in ids]
        assert not missing, f"acknowledged rows lost: {missing[:5]}"
        assert all(ids[s] == aid for s, aid in acked.items())
        unacked = sorted(set(ids) - set(acked))
        # at most the one row in flight when the child died (committed, not yet acknowledged)
        assert len(unacked) <= 1 and all(s >= start for s in unacked)
        assert audited == len(rows), "a row and its audit entry were not committed together"
        extra_total += len(unacked)
        acked.update({s: ids[s] for s in unacked})  # committed rows are the store's now
        rows_checked += len(acked)
        start = max(ids, default=-1) + 1
    return {"kills": kills, "acknowledged": len(acked) - extra_total, "in_flight_committed": extra_total,
            "rows_checked": rows_checked}  # fmt: skip


def test_sigkill_loses_no_acknowledged_row(
    project_recording: tuple[Project, Recording], _project_target: tuple[str, Path], rng: np.random.Generator
) -> None:
    project, rec = project_recording
    kills = 50 if project.dialect == "sqlite" else 15
    dialect = project.dialect
    project.close()
    result = _crash_rounds(_project_target, rec.id, kills, rng)
    COUNTS.setdefault("crash", {})[dialect] = result
    # most kills land after some rows were acknowledged (a loaded machine writes fewer per kill)
    assert result["kills"] == kills and result["acknowledged"] >= kills // 3


def test_killed_import_is_all_or_nothing(
    project_recording: tuple[Project, Recording], _project_target: tuple[str, Path], rng: np.random.Generator
) -> None:
    project, rec = project_recording
    dialect = project.dialect
    project.close()
    outcomes = Counter()
    before = 0
    bulk = 3000 if dialect == "sqlite" else 1000
    for k in range(6):
        lines = _run_and_kill(_project_target, rec.id, k, float(rng.uniform(0.0, 1.2)), bulk=bulk)
        with _open(_project_target) as p, p.engine.connect() as conn:
            n = conn.exec_driver_sql("SELECT count(*) FROM annotations WHERE coder = 'crash'").scalar()
        assert n - before in (0, bulk), f"an import killed mid-way left {n - before} of its {bulk} rows"
        if any(line.startswith("done") for line in lines):
            assert n - before == bulk  # acknowledged: all there
        outcomes["committed" if n > before else "rolled back"] += 1
        before = n
    COUNTS.setdefault("killed_imports", {})[dialect] = dict(outcomes)


# -- two coders in two processes ----------------------------------------------------------------------

_CODER_MAIN = """
import json, sys, time
sys.path.insert(0, {root!r})
from tests.test_trust import _coder_loop
_coder_loop(json.loads(sys.argv[1]))
"""


def _coder_loop(cfg: dict[str, Any]) -> None:
    """A coder's process: JSON commands on stdin, JSON answers on stdout (see _Coder)."""
    os.environ["WORKBENCH_MEDIA_REGISTRY"] = cfg["registry"]
    kwargs: dict[str, Any] = {"coder": cfg["coder"]}
    if "://" in cfg["target"]:
        kwargs["folder"] = cfg["folder"]
    project = open_project(cfg["target"], **kwargs)
    review = None
    if cfg["coder"] == "trainee":  # import the widgets meanwhile (slow), not when the review opens
        import threading

        threading.Thread(target=lambda: __import__("workbench.ui.controller"), daemon=True).start()
    for line in sys.stdin:
        cmd = json.loads(line)
        out: dict[str, Any] = {}
        if cmd.get("at"):
            while time.time() < cmd["at"]:  # start together with the other coder
                pass
        try:
            if cmd["op"] == "read":
                row = project.annotation(cmd["id"])
                out = {"version": row["version"], "note": row["note"]}
            elif cmd["op"] == "edit":
                edited = project.update_annotation(cmd["id"], expected_version=cmd["version"], note=cmd["note"])
                out = {"version": edited.version}
            elif cmd["op"] == "open_review":
                from workbench.ui import Review

                review = Review(project, cmd["recording"], coder=cfg["coder"], mode="supervision")
                out = {"rows": {r["id"]: [r["version"], r["note"]] for r in review.table.rows}}
            elif cmd["op"] == "widget_edit":  # what the table widget sends when a cell is edited
                assert review is not None
                row = next(r for r in review.table.rows if r["id"] == cmd["id"])
                msg = {
                    "type": "edit",
                    "id": row["id"],
                    "version": row["version"],
                    "field": "note",
                    "value": cmd["note"],
                }
                review._on_table_msg(None, msg, None)
                shown = next(r for r in review.table.rows if r["id"] == cmd["id"])
                out = {"status": review.status.value, "shown": [shown["version"], shown["note"]]}
            elif cmd["op"] == "quit":
                break
        except ConflictError as exc:
            out = {"conflict": str(exc)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    project.close()


class _Coder:
    def __init__(self, target: tuple[str, Path], coder: str, registry: Path) -> None:
        cfg = {"target": target[0], "folder": str(target[1]), "coder": coder, "registry": str(registry)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CODER_MAIN.format(root=str(ROOT)), json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the coder process died (exit {self.proc.poll()})"
        return json.loads(line)

    def ask(self, **cmd: Any) -> dict[str, Any]:
        self.send(**cmd)
        return self.answer()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.send(op="quit")
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.proc.kill()


def test_two_coders_in_two_processes_never_overwrite_silently(
    project_recording: tuple[Project, Recording], _project_target: tuple[str, Path], tmp_path: Path
) -> None:
    project, rec = project_recording
    project.add_participant("Family A", "child", "child")
    ids = [project.add_annotation(rec, "child", "waiting", 100 * i, coder="trainee").id for i in range(5)]
    trainee = _Coder(_project_target, "trainee", tmp_path / "registry")
    supervisor = _Coder(_project_target, "supervisor", tmp_path / "registry")
    races = conflicts = 0
    winners_in_order: list[str] = []
    try:
        # 1. real races: both read version v, both edit at the same instant; one wins, one is refused
        for r in range(12):
            aid = ids[r % len(ids)]
            v = project.annotation(aid)["version"]
            assert trainee.ask(op="read", id=aid)["version"] == v == supervisor.ask(op="read", id=aid)["version"]
            at = time.time() + 0.05
            trainee.send(op="edit", id=aid, version=v, note=f"trainee {r}", at=at)
            supervisor.send(op="edit", id=aid, version=v, note=f"supervisor {r}", at=at)
            answers = {"trainee": trainee.answer(), "supervisor": supervisor.answer()}
            winners = [who for who, a in answers.items() if "version" in a]
            losers = [who for who, a in answers.items() if "conflict" in a]
            assert len(winners) == 1 and len(losers) == 1, answers
            assert "changed by someone else" in answers[losers[0]]["conflict"]
            stored = project.annotation(aid)
            assert (stored["note"], stored["version"]) == (f"{winners[0]} {r}", v + 1)  # the winner's, once
            winners_in_order.append(winners[0])
            races += 1
            conflicts += 1
        # 2. the trainee's review widget edits a row the supervisor changed since it was shown
        shown = trainee.ask(op="open_review", recording=rec.id)["rows"]
        for n, aid in enumerate(ids[:3]):
            v_seen, _ = shown[str(aid)]
            assert "version" in supervisor.ask(op="edit", id=aid, version=v_seen, note=f"supervisor wins {n}")
            result = trainee.ask(op="widget_edit", id=aid, note=f"stale {n}")
            assert "changed by someone else" in result["status"] and "reloaded" in result["status"]
            assert result["shown"] == [v_seen + 1, f"supervisor wins {n}"]  # the reloaded table shows theirs
            assert project.annotation(aid)["note"] == f"supervisor wins {n}"
            conflicts += 1
    finally:
        trainee.close()
        supervisor.close()
    log = project.audit_log()
    edits = log[(log["action"] == "update") & (log["kind"] == "annotation")]
    assert edits["coder"].tolist() == [*winners_in_order, "supervisor", "supervisor", "supervisor"]
    COUNTS.setdefault("conflicts", {})[project.dialect] = {
        "provoked": conflicts,
        "caught": conflicts,
        "races": races,
        "race_winners": dict(Counter(winners_in_order)),
    }


# -- refused input --------------------------------------------------------------------------------


def _exclusive_scheme() -> Any:
    data = default_scheme().to_dict()
    data["id"], data["version"] = "vig-exclusive", "1.1"
    data["exclusive_groups"] = [["looking-interested", "discordant-ignoring"]]
    return scheme_from_dict(data)


def test_annotations_outside_unknown_or_overlapping_are_refused_with_the_row(
    project_recording: tuple[Project, Recording],
) -> None:
    project, rec = project_recording
    project.set_scheme(_exclusive_scheme())
    project.add_participant("Family A", "child", "child")
    project.add_participant("Family A", "mother", "parent")
    before = _dump(project)

    with pytest.raises(AnnotationError, match=r"field 'offset_ms'.*0\.\.2000 ms.*2100"):
        project.add_annotation(rec, "child", "waiting", 1900, 2100)  # ends after the 2000 ms film
    with pytest.raises(
        AnnotationError, match=r"field 'actor': Expected a participant of case \d+ \(child, mother\), but got 'dad'"
    ):
        project.add_annotation(rec, "dad", "waiting", 100)
    with pytest.raises(AnnotationError, match=r"field 'code'.*'dancing'"):
        project.add_annotation(rec, "child", "dancing", 100)
    assert _dump(project) == before

    first = project.add_annotation(rec, "child", "looking-interested", 100, 600).id
    with pytest.raises(AnnotationError) as err:
        project.add_annotation(rec, "child", "discordant-ignoring", 500, 900)
    text = str(err.value)
    assert f"overlaps stored annotation {first}" in text and "looking-interested 100..600 ms" in text
    assert "mutually exclusive group (discordant-ignoring, looking-interested)" in text
    # touching is not overlapping; another actor, another coder, or a point event are not refused
    project.add_annotation(rec, "child", "discordant-ignoring", 600, 900)
    project.add_annotation(rec, "mother", "discordant-ignoring", 100, 600)
    project.add_annotation(rec, "child", "discordant-ignoring", 100, 600, coder="supervisor")
    project.add_annotation(rec, "child", "discordant-ignoring", 300)

    rows = [
        {"actor": "child", "code": "looking-interested", "onset_ms": 1000, "offset_ms": 1400},
        {"actor": "child", "code": "waiting", "onset_ms": 50},
        {"actor": "child", "code": "discordant-ignoring", "onset_ms": 1300, "offset_ms": 1500},  # overlaps row 0
        {"actor": "child", "code": "waiting", "onset_ms": 2500},  # after the end
        {"actor": "grandpa", "code": "waiting", "onset_ms": 10},
    ]
    state = _dump(project)
    with pytest.raises(AnnotationError) as err:
        project.add_annotations(rec, rows)
    problems = err.value.problems
    assert any(p.startswith("row 3, field 'onset_ms'") and "2500" in p for p in problems)
    assert any(p.startswith("row 4, field 'actor'") and "'grandpa'" in p for p in problems)
    assert any(p.startswith("row 2, field 'onset_ms'") and "overlaps row 0" in p for p in problems)
    assert len(problems) == 3 and _dump(project) == state

    with pytest.raises(AnnotationError, match=f"annotation {first}, field 'onset_ms'.*overlaps stored"):
        project.update_annotation(first, offset_ms=700)  # now reaches into the 600..900 discordant-ignoring
    assert project.annotation(first)["offset_ms"] == 600


def test_stored_rows_that_break_the_rules_are_flagged(project_recording: tuple[Project, Recording]) -> None:
    project, rec = project_recording
    a = project.add_annotation(rec, "child", "looking-interested", 100, 600).id
    b = project.add_annotation(rec, "child", "discordant-ignoring", 500, 900).id  # fine: no exclusive group yet
    project.add_annotation(rec, "parent", "waiting", 100)
    assert project.annotation_problems() == []
    project.set_scheme(_exclusive_scheme())
    project.add_participant("Family A", "child", "child")
    flags = project.annotation_problems(rec)
    assert len(flags) == 2
    assert any(f"annotation {b}" in f and f"overlaps annotation {a}" in f for f in flags)
    assert any("field 'actor'" in f and "'parent'" in f for f in flags)


def _csv(path: Path, rows: list[tuple[str, str, int]]) -> Path:
    lines = ["actor,code,onset_ms,offset_ms"] + [f"{a},{c},{on},{on + 20}" for a, c, on in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_that_fails_halfway_leaves_the_project_as_it_was(
    project_recording: tuple[Project, Recording], _project_target: tuple[str, Path], tmp_path: Path
) -> None:
    from workbench.cli import main

    project, rec = project_recording
    project.add_participant("Family A", "child", "child")
    project.add_annotation(rec, "child", "waiting", 10)
    good = [("child", "waiting", 10 * i) for i in range(100)]
    before = _dump(project)

    # the store refuses row 60 after reading the whole file: nothing of rows 0..59 stays
    bad = [*good[:60], ("stranger", "waiting", 600), *good[61:]]
    with pytest.raises(AnnotationError, match="'stranger'"):
        from workbench.io import read_table

        project.add_annotations(rec, read_table(_csv(tmp_path / "bad.csv", bad), scheme=project.scheme))
    assert _dump(project) == before
    # a truncated ELAN file is refused before the store is touched
    from workbench.io import write_eaf

    eaf = write_eaf(project.annotations(rec), tmp_path / "whole.eaf")
    cut = tmp_path / "cut.eaf"
    cut.write_bytes(eaf.read_bytes()[: eaf.stat().st_size // 2])
    with pytest.raises(FormatError, match=r"cut\.eaf"):
        from workbench.io import read_eaf

        read_eaf(cut)

    # the database itself fails at row 50 of 100, in the middle of the insert: all rolled back
    with project.engine.begin() as conn:
        if project.dialect == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER fail_half BEFORE INSERT ON annotations WHEN NEW.onset_ms = 500 "
                "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION fail_half() RETURNS trigger AS $$ BEGIN IF NEW.onset_ms = 500 THEN "
                "RAISE EXCEPTION 'disk full (simulated)'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER fail_half BEFORE INSERT ON annotations FOR EACH ROW EXECUTE FUNCTION fail_half()"
            )
    with_trigger = _dump(project)
    with pytest.raises(StoreError, match="disk full"):
        project.add_annotations(rec, [{"actor": a, "code": c, "onset_ms": on} for a, c, on in good])
    assert _dump(project) == with_trigger

    if project.dialect == "sqlite":  # and through the command line
        code = main(["import", _project_target[0], str(_csv(tmp_path / "all.csv", good)), "--recording", str(rec.id)])
        assert code == 2 and _dump(project) == with_trigger


# -- audit log ------------------------------------------------------------------------------------


def test_audit_log_records_who_changed_what_and_when(
    project_recording: tuple[Project, Recording], reopen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, rec = project_recording
    t0 = dt.datetime.now(dt.UTC)
    monkeypatch.setenv("WORKBENCH_CODER", "kim")
    other = reopen(coder=None)  # the coder's identity from the environment
    assert other.coder == "kim"
    aid = project.add_annotation(rec, "child", "waiting", 100).id
    other.update_annotation(aid, expected_version=1, note="seen", onset_ms=150)
    project.update_case(project.case("Family A"), real_name="Jane Secret")
    other.delete_annotation(aid)
    project.add_annotations(rec, [{"actor": "child", "code": "waiting", "onset_ms": 10 * i} for i in range(30)])
    log = project.audit_log(case="Family A")
    t1 = dt.datetime.now(dt.UTC)
    tail = log.tail(5)[["coder", "action", "kind", "row_id"]].values.tolist()
    assert tail == [
        ["tester", "add", "annotation", aid],
        ["kim", "update", "annotation", aid],
        ["tester", "update", "case", project.case("Family A").id],
        ["kim", "delete", "annotation", aid],
        ["tester", "add", "annotation", pd.NA],
    ]
    assert log.tail(4).iloc[0]["details"]["changed"] == {"note": "seen", "onset_ms": 150, "offset_ms": 150}
    assert log.tail(3).iloc[0]["details"]["changed"] == {"real_name": "(protected)"}
    assert log.iloc[-1]["details"]["count"] == 30
    assert ((log["at"] >= pd.Timestamp(t0) - pd.Timedelta("1s")) & (log["at"] <= pd.Timestamp(t1))).all()
    assert set(log["case"]) == {"Family A"}
    assert "Jane" not in log.to_csv() and "Secret" not in log.to_csv()  # the real name never enters the log
    # what was added before the test's edits: case, session, recording
    assert log.head(3)["kind"].tolist() == ["case", "session", "recording"]


def test_coder_identity_from_the_project_configuration(
    project_recording: tuple[Project, Recording], reopen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, rec = project_recording
    monkeypatch.delenv("WORKBENCH_CODER", raising=False)
    (project.folder / "workbench.toml").write_text('coder = "pat"\n', encoding="utf-8")
    pat = reopen(coder=None)
    pat.add_annotation(rec, "child", "waiting", 100)
    assert pat.coder == "pat" and pat.annotations().coders == ("pat",)
    assert project.audit_log().iloc[-1][["coder", "action", "kind"]].tolist() == ["pat", "add", "annotation"]
    monkeypatch.setenv("WORKBENCH_CODER", "kim")  # the environment names who sits at this machine now
    assert reopen(coder=None).coder == "kim" and reopen(coder="lee").coder == "lee"
    (project.folder / "workbench.toml").write_text("coder = [1, 2]\n", encoding="utf-8")
    monkeypatch.delenv("WORKBENCH_CODER")
    with pytest.raises(StoreError, match=r"'coder' in .*workbench\.toml to be a string"):
        reopen(coder=None)

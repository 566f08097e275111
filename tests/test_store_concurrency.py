"""Concurrent edits mean the same on SQLite and PostgreSQL.

- An edit with ``expected_version`` (what the widgets send) is refused with ConflictError when
  the row changed since it was read: in every race of two real processes, exactly one wins.
- An edit without it is an explicit "last writer wins": both edits of a race are applied, one
  after the other, the version goes up by two, and the audit log holds both (with
  ``expected_version`` null), so nothing is lost from the record unseen.

Each race is run many times on both backends (``project_recording`` is parametrised
``sqlite``/``postgres``): two coder processes (``_Coder`` of ``tests/test_trust.py``) are told
the same instant to edit the same row.
Before this was made the same, unversioned races ended differently by backend (SQLite: both
applied; PostgreSQL: one ConflictError). A deterministic test holds the row in a second
connection's open transaction so that the edit must wait for it, on both backends.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.test_trust import _Coder  # a coder's process: edits on command, at a given instant
from workbench.errors import ConflictError
from workbench.model import Recording
from workbench.project import Project
from workbench.store import schema as t

#: Races per kind (versioned, unversioned) and backend.
TRIALS = 25


def _race(editors: dict[str, _Coder], aid: int, version: int | None, label: str) -> dict[str, dict[str, Any]]:
    at = time.time() + 0.05
    for who, editor in editors.items():
        editor.send(op="edit", id=aid, version=version, note=f"{who} {label}", at=at)
    return {who: editor.answer() for who, editor in editors.items()}


def test_edits_race_the_same_way_on_both_backends(
    project_recording: tuple[Project, Recording], _project_target: tuple[str, Path], tmp_path: Path
) -> None:
    project, rec = project_recording
    aid = project.add_annotation(rec, "child", "waiting", 100, 300).id
    editors = {who: _Coder(_project_target, who, tmp_path / "registry") for who in ("anna", "ben")}
    outcomes: Counter[str] = Counter()
    try:
        for editor in editors.values():
            assert editor.ask(op="read", id=aid)["version"] == 1  # both processes are up
        for r in range(TRIALS):
            # versioned: both read version v; exactly one edit is applied, the other is refused
            v = project.annotation(aid)["version"]
            answers = _race(editors, aid, v, f"versioned {r}")
            winners = [who for who, a in answers.items() if "version" in a]
            losers = [who for who, a in answers.items() if "conflict" in a]
            assert (len(winners), len(losers)) == (1, 1), answers
            assert answers[winners[0]]["version"] == v + 1
            assert f"you edited version {v}" in answers[losers[0]]["conflict"]
            stored = project.annotation(aid)
            assert (stored["note"], stored["version"]) == (f"{winners[0]} versioned {r}", v + 1)
            outcomes["versioned: one refused"] += 1

            # unversioned: last writer wins; both applied, one after the other
            v = project.annotation(aid)["version"]
            answers = _race(editors, aid, None, f"last {r}")
            assert all("version" in a for a in answers.values()), answers  # no ConflictError on either backend
            assert sorted(a["version"] for a in answers.values()) == [v + 1, v + 2]
            last = max(answers, key=lambda who: answers[who]["version"])
            stored = project.annotation(aid)
            assert (stored["note"], stored["version"]) == (f"{last} last {r}", v + 2)
            outcomes["unversioned: both applied"] += 1
    finally:
        for editor in editors.values():
            editor.close()
    assert outcomes == {"versioned: one refused": TRIALS, "unversioned: both applied": TRIALS}

    # the audit log holds every applied write: one per versioned race, two per unversioned race
    log = project.audit_log()
    edits = log[(log["action"] == "update") & (log["kind"] == "annotation") & (log["row_id"] == aid)]
    assert len(edits) == 3 * TRIALS
    blind = [d for d in edits["details"] if d["expected_version"] is None]
    assert len(blind) == 2 * TRIALS
    assert sorted(d["version"] for d in edits["details"]) == list(range(2, 2 + 3 * TRIALS))


def _hold_row(project: Project, aid: int, note: str, started: threading.Event, release: threading.Event) -> None:
    """In a second connection: change the row and keep the transaction open until ``release``."""
    with project.engine.connect() as conn:
        conn.execution_options(workbench_write=True)  # SQLite: BEGIN IMMEDIATE, as every store writer
        with conn.begin():
            conn.execute(
                sa.update(t.annotations)
                .where(t.annotations.c.id == aid)
                .values(note=note, version=t.annotations.c.version + 1)
            )
            started.set()
            release.wait(10)


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_an_edit_waits_for_a_pending_change_then_follows_the_rules(
    project_recording: tuple[Project, Recording], reopen: Any, versioned: bool
) -> None:
    project, rec = project_recording
    other = reopen()
    aid = project.add_annotation(rec, "child", "waiting", 100, 300).id
    started, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_row, args=(other, aid, "theirs", started, release))
    holder.start()
    assert started.wait(10)
    result: dict[str, Any] = {}

    def edit() -> None:
        try:
            edited = project.update_annotation(aid, expected_version=1 if versioned else None, note="mine")
            result["version"] = edited.version
        except ConflictError as exc:
            result["conflict"] = str(exc)

    editor = threading.Thread(target=edit)
    editor.start()
    time.sleep(0.3)  # the edit is now waiting for the other transaction (the write lock or the row lock)
    assert result == {}
    release.set()
    holder.join(10)
    editor.join(15)
    if versioned:
        assert result == {
            "conflict": f"annotation {aid} was changed by someone else (version 2, you edited version 1); "
            "reload and edit again."
        }
        assert (project.annotation(aid)["note"], project.annotation(aid)["version"]) == ("theirs", 2)
    else:
        assert result == {"version": 3}
        assert (project.annotation(aid)["note"], project.annotation(aid)["version"]) == ("mine", 3)


def test_unversioned_edits_of_other_records_are_last_writer_wins_too(
    project_recording: tuple[Project, Recording], reopen: Any
) -> None:
    project, rec = project_recording
    other = reopen(coder="ben")
    moment = project.add_moment(rec, 100, 400, "Turn taking")
    comment = project.add_comment(rec, 200, "anna", "Lovely")
    goal = project.add_goal("Family A", "Calmer bedtimes", 0, 10)
    other.update_moment(moment.id, title="Theirs")
    other.update_comment(comment.id, text="Theirs")
    other.update_goal(goal.id, text="Theirs")
    assert project.update_moment(moment.id, offset_ms=500).version == 3
    assert project.moment(moment.id).title == "Theirs"  # a change of another field keeps theirs
    assert project.update_comment(comment.id, text="Mine").version == 3
    assert project.update_goal(goal.id, text="Mine").version == 3
    with pytest.raises(ConflictError):
        project.update_goal(goal.id, expected_version=2, text="stale")
    log = project.audit_log()
    updates = log[log["action"] == "update"]
    assert Counter(updates["coder"]) == {"ben": 3, "tester": 3}

"""The review without a browser: its state model (workbench.ui.state), the store under it, the widgets over it.

Three layers, each driven the way the one above drives it:

- :class:`~workbench.ui.state.ReviewState` alone: intents in; store commands, rows and chart data out (the
  store's answers are made up here);
- the state with the store (:class:`~workbench.ui.store_io.ReviewStore`): what its commands leave in a project;
- :class:`~workbench.ui.Review`: the messages the widgets' front ends send (``widgets/*.js``) reach the state,
  and what changed reaches the widgets. The browser tests (test_browser.py, test_review_ui.py) send them for real.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import workbench
from workbench import AnnotationTable, default_scheme
from workbench.errors import ConflictError
from workbench.project import Project
from workbench.ui.controller import Review
from workbench.ui.derive import Changes, ReviewData
from workbench.ui.layout import agreement_html
from workbench.ui.rows import StoredAnnotation
from workbench.ui.state import (
    AddAnnotation,
    Command,
    DeleteAnnotation,
    ReviewState,
    UpdateAnnotation,
)
from workbench.ui.store_io import ReviewStore
from workbench.ui.widgets import widget_esm, widgets_dir

SCHEME = default_scheme()


@pytest.fixture
def project(cfr_video: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Project, int]]:
    """A project with one 3 s recording (the session's 30 fps numbered film), coded by two coders."""
    monkeypatch.setenv("WORKBENCH_MEDIA_REGISTRY", str(tmp_path / "registry"))
    p = workbench.open_project(tmp_path / "p", create=True, coder="trainee")
    case = p.add_case("Elm")
    p.add_participant(case, "parent", "parent")
    p.add_participant(case, "child", "child")
    rec = p.add_recording(p.add_session(case, "filming", "2026-02-02"), cfr_video.path)
    for coder, code in (("trainee", "receiving-words"), ("supervisor", "showing-noticed")):
        p.add_annotation(rec, "child", "initiative-verbal", 500, coder=coder)
        p.add_annotation(rec, "parent", code, 1100, coder=coder)
    p.add_annotation(rec, "parent", "receiving-responding", 1500, 2500, coder="supervisor")
    yield p, rec.id
    p.close()


def made(id: int, actor: str, code: str, onset: int, offset: int | None = None, *, coder: str = "trainee",
         note: str = "", version: int = 1) -> StoredAnnotation:  # fmt: skip
    """An annotation as the store would return it (recording 1)."""
    return StoredAnnotation(id, 1, actor, code, onset, onset if offset is None else offset, coder, note, version)


def table_of(annotations: list[StoredAnnotation]) -> AnnotationTable:
    """What the store's ``annotations()`` returns for these: a table with a ``version`` column."""
    return AnnotationTable([dataclasses.asdict(a) for a in annotations]) if annotations else AnnotationTable.empty()


def state_of(annotations: list[StoredAnnotation], mode: str = "micro", coder: str = "trainee") -> ReviewState:
    state = ReviewState(SCHEME, recording_id=1, coder=coder, mode=mode)  # type: ignore[arg-type]
    state.load(table_of(annotations), [], [])
    state.take_changes()
    return state


def on_store(state: ReviewState, store: ReviewStore, command: Command | None) -> None:
    """What the controller does with a command: run it on the store and hand the result back."""
    if command is not None:
        state.done(store.run(command))


def send(widget: Any, **msg: Any) -> None:
    """A message from the widget's front end, as the kernel hands it to the widget."""
    widget._handle_custom_msg(msg, [])


# -- the state alone ----------------------------------------------------------------------------------------


def test_keys_tap_hold_double_tap_give_commands() -> None:
    state = state_of([])
    tap = state.key_up("2", onset_ms=100, up_ms=130, actor="child", at_s=0.10)
    assert tap == AddAnnotation("child", "initiative-nonverbal", 100, None, "trainee")  # a point
    state.done(made(1, "child", "initiative-nonverbal", 100))
    assert "(point), id 1" in state.status[0]
    hold = state.key_up("2", onset_ms=700, up_ms=1500, actor="child", at_s=0.70)
    assert hold == AddAnnotation("child", "initiative-nonverbal", 700, 1500, "trainee")  # a state, down to up
    state.done(made(2, "child", "initiative-nonverbal", 700, 1500))
    first = state.key_up("1", onset_ms=1800, up_ms=1820, actor="child", at_s=1.80)
    state.done(made(3, "child", "initiative-verbal", 1800))
    assert first is not None
    assert state.key_up("1", onset_ms=1900, up_ms=1920, actor="child", at_s=1.90) is None  # a double tap: opens
    assert "press 1 again to end it" in state.status[0]
    close = state.key_up("1", onset_ms=2600, up_ms=2620, actor="child", at_s=2.60)
    assert close == UpdateAnnotation(3, 1, {"offset_ms": 2600})  # the state opened at the first tap, closed here
    state.done(made(3, "child", "initiative-verbal", 1800, 2600, version=2))
    assert "§" not in SCHEME.shortcuts() and state.key_up("§", onset_ms=1, up_ms=2, actor="child", at_s=3) is None
    assert [(r["code"], r["onset_ms"], r["offset_ms"]) for r in state.table_rows()] == [
        ("initiative-nonverbal", 100, 100),
        ("initiative-nonverbal", 700, 1500),
        ("initiative-verbal", 1800, 2600),
    ]


def test_undo_and_redo_walk_the_tables_edits_and_deletes() -> None:
    state = state_of([made(1, "parent", "waiting", 1000)])
    assert state.edit(1, 1, "note", "smiles") == UpdateAnnotation(1, 1, {"note": "smiles"})
    state.done(made(1, "parent", "waiting", 1000, note="smiles", version=2))
    assert state.delete(1, 2) == DeleteAnnotation(1, 2)
    state.done(None)
    assert state.table_rows() == [] and state.can_undo
    # undo brings it back (under a new id), then takes the edit back on that id
    assert state.undo() == AddAnnotation("parent", "waiting", 1000, 1000, "trainee", "smiles")
    state.done(made(7, "parent", "waiting", 1000, note="smiles"))
    assert "now id 7" in state.status[0]
    assert state.undo() == UpdateAnnotation(7, 1, {"actor": "parent", "code": "waiting", "onset_ms": 1000,
                                                   "offset_ms": 1000, "note": ""})  # fmt: skip
    state.done(made(7, "parent", "waiting", 1000, version=2))
    assert state.undo() is None and state.status[0] == "Nothing to undo."
    # redo walks forward again
    assert state.redo() == UpdateAnnotation(7, 2, {"actor": "parent", "code": "waiting", "onset_ms": 1000,
                                                   "offset_ms": 1000, "note": "smiles"})  # fmt: skip
    state.done(made(7, "parent", "waiting", 1000, note="smiles", version=3))
    assert state.redo() == DeleteAnnotation(7, 3)
    state.done(None)
    assert state.table_rows() == [] and not state.can_redo
    # a new edit after an undo: nothing left to redo
    assert state.undo() is not None
    state.done(made(8, "parent", "waiting", 1000, note="smiles"))
    state.edit(8, 1, "code", "having-fun")
    state.done(made(8, "parent", "having-fun", 1000, note="smiles", version=2))
    assert not state.can_redo
    # what cannot be edited is refused with the field named
    with pytest.raises(ValueError, match=r"editable field .* but got 'coder'"):
        state.edit(8, 2, "coder", "someone")


def test_selection_seeks_and_filters() -> None:
    state = state_of([made(1, "parent", "waiting", 1000), made(2, "child", "initiative-verbal", 1100)])
    state.seek(1100, local=False, kind="annotation", id=2)  # a row clicked: Python moves the player
    changes = state.take_changes()
    assert (state.selected, changes.seek_ms, changes.selection) == (2, 1100, True)
    state.seek(1000, local=True, kind="annotation", id=1)  # the browser has seeked already
    assert state.selected == 1 and state.take_changes().seek_ms is None
    state.set_time(1000)
    # a bar clicked: the browser has seeked already, wherever the video was when Python last heard (its
    # time comes after the pick): no second seek, which would land late and take the video back to the bar
    state.pick(2, 5000, "annotation", True)
    assert state.take_changes().seek_ms is None and state.selected == 2
    state.pick(1, 1000, "annotation", False)  # a chart with no player of its review: Python moves the player
    assert state.take_changes().seek_ms == 1000 and state.selected == 1
    state.set_filters({"actor": "parent", "coder": ""})
    assert state.filters == {"actor": "parent"} and [r["id"] for r in state.shown_rows()] == [1]
    with pytest.raises(ValueError, match="Expected filters of actor, code, category, coder, but got 'colour'"):
        state.set_filters({"colour": "red"})


def test_an_edit_sends_only_what_it_changes() -> None:
    """A note edited: its table row and its bar, nothing else; an onset moved: its coder's links near it too."""
    rows = [made(1, "child", "initiative-verbal", 500, coder="trainee"),
            made(2, "parent", "receiving-words", 1100, coder="trainee"),
            made(3, "child", "initiative-verbal", 500, coder="supervisor"),
            made(4, "parent", "showing-noticed", 1100, coder="supervisor"),
            made(5, "child", "initiative-verbal", 20_000, coder="supervisor")]  # fmt: skip
    state = state_of(rows, mode="supervision", coder="supervisor")
    state.edit(2, 1, "note", "smiles")
    state.done(dataclasses.replace(rows[1], note="smiles", version=2))
    changes = state.take_changes()
    assert set(changes.rows) == {2} and set(changes.datasets["bars"]) == {2}
    assert not changes.datasets["links"] and not changes.datasets["missed"] and not changes.shape
    # the supervisor's answer moves out of the initiative's window: that initiative is missed now
    state.edit(4, 1, "onset_ms", 9000)
    state.done(dataclasses.replace(rows[3], onset_ms=9000, offset_ms=9000, version=2))
    changes = state.take_changes()
    assert set(changes.rows) >= {4} and 4 in changes.datasets["bars"]
    assert [row["mark_kind"] for row in changes.datasets["missed"].values() if row] == ["missed"]
    assert all(key.split("/")[0] == "3" for key in {**changes.datasets["links"], **changes.datasets["missed"]})


def _random_edits(mode: str, seed: int, steps: int, check_every: int) -> None:
    rng = random.Random(seed)
    codes = [c.key for c in SCHEME.codes] + ["not-a-code"]
    ids = itertools.count(1)

    def new() -> StoredAnnotation:
        onset = rng.randrange(0, 30_000)
        coder = rng.choice("abc") if rng.random() < 0.1 else rng.choice("ab")
        return made(next(ids), rng.choice(["parent", "child", "sibling"]), rng.choice(codes), onset,
                    onset + rng.choice([0, 0, 500, 2000]), coder=coder)  # fmt: skip

    current = {a.id: a for a in (new() for _ in range(120))}
    data = ReviewData(SCHEME, recording_id=1, coder="a", mode=mode, window_ms=(0, 3000), tolerance_ms=1000)  # type: ignore[arg-type]
    data.load(table_of(list(current.values())), Changes())
    for step in range(steps):
        r = rng.random()
        if r < 0.2 or not current:
            a = new()
            current[a.id] = a
            data.apply(None, a, Changes())
        elif r < 0.35:
            a = current.pop(rng.choice(list(current)))
            data.apply(a, None, Changes())
        else:
            a = current[rng.choice(list(current))]
            field = rng.choice(["onset_ms", "code", "actor", "coder", "note"])
            if field == "onset_ms":
                onset = max(0, a.onset_ms + rng.randrange(-4000, 4000))
                b = dataclasses.replace(a, onset_ms=onset, offset_ms=onset + a.offset_ms - a.onset_ms)
            else:
                value = {"code": rng.choice(codes), "actor": rng.choice(["parent", "child", "sibling"]),
                         "coder": rng.choice("abc"), "note": f"note {step}"}[field]  # fmt: skip
                b = dataclasses.replace(a, **{field: value})
            current[a.id] = b = dataclasses.replace(b, version=a.version + 1)
            data.apply(a, b, Changes())
        if step % check_every == check_every - 1:
            fresh = ReviewData(SCHEME, recording_id=1, coder="a", mode=mode, window_ms=(0, 3000),  # type: ignore[arg-type]
                               tolerance_ms=1000)  # fmt: skip
            fresh.load(table_of(list(current.values())), Changes())
            assert data.rows == fresh.rows, step
            for name in ("bars", "links", "missed"):
                assert data.datasets[name] == fresh.datasets[name], (step, name)
            assert (data.disagree, data.lanes, data.categories) == (fresh.disagree, fresh.lanes, fresh.categories)
            assert data.agreement == fresh.agreement, step
            if fresh.agreement is not None:
                pd.testing.assert_frame_equal(data.agreement.per_code, fresh.agreement.per_code)  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["supervision", "micro"])
def test_edit_by_edit_is_the_same_as_loading_afresh(mode: str) -> None:
    """Adds, deletes and edits of every field, at random (seeded), on three coders and three actors: the rows,
    bars, links, disagreements, lanes and agreement kept up to date edit by edit are those of a fresh load."""
    _random_edits(mode, seed=20261207, steps=90, check_every=15)


# -- the state with the store ---------------------------------------------------------------------------------


def state_on(
    project: Project, rec: int, coder: str = "trainee", mode: str = "micro"
) -> tuple[ReviewState, ReviewStore]:
    store = ReviewStore(project, rec)
    state = ReviewState(project.scheme, recording_id=rec, coder=coder, mode=mode)  # type: ignore[arg-type]
    state.load(store.annotations(None if mode == "supervision" else coder), store.moments(), store.comments())
    return state, store


def test_keys_tap_hold_double_tap(project: tuple[Project, int]) -> None:
    p, rec = project
    state, store = state_on(p, rec)
    for key, onset, up in (("2", 100, 130), ("2", 700, 1500), ("1", 1800, 1820), ("1", 1900, 1920), ("1", 2600, 2620)):
        # a paused-free film: the browser's clock runs with the video's
        on_store(state, store, state.key_up(key, onset_ms=onset, up_ms=up, actor="child", at_s=onset / 1000))
    rows = p.annotations(rec, coder="trainee").to_dataframe()
    got = sorted(zip(rows["code"], rows["onset_ms"], rows["offset_ms"], strict=True))
    assert ("initiative-nonverbal", 100, 100) in got  # tap: point
    assert ("initiative-nonverbal", 700, 1500) in got  # hold: state
    assert ("initiative-verbal", 1800, 2600) in got  # double tap: a state from the first tap to the next tap
    assert len(state.table_rows()) == len(rows) == 5


def test_moment_still_comment(project: tuple[Project, int]) -> None:
    p, rec = project
    state, store = state_on(p, rec)
    assert state.mark("out", 900) is None
    assert "first" in state.status[0] and state.status[1] and not p.moments(rec)
    assert state.mark("in", 400) is None
    on_store(state, store, state.mark("out", 1900))
    (moment,) = p.moments(rec)
    assert (moment.onset_ms, moment.offset_ms, moment.title) == (400, 1900, "Moment at 00:00.400")
    changes = state.take_changes()
    assert changes.loop_ms == (400, 1900) and changes.notes_tab == "moments"
    assert [m["title"] for m in state.notes_panel["moments"]] == ["Moment at 00:00.400"]
    on_store(state, store, state.still(1000, "You wait"))
    (still,) = p.stills(rec)
    assert still.caption == "You wait" and p.still_path(still).is_file()
    on_store(state, store, state.comment(1100, "Well seen", "agree"))
    (comment,) = p.comments(rec)
    assert (comment.text, str(comment.status), comment.author) == ("Well seen", "agree", "trainee")
    (tick,) = state.notes_timeline["comments"]
    assert (tick["onset_ms"], tick["at_s"], tick["time"]) == (1100, 1.1, "00:01.100")


def test_supervision_marks_disagreements_and_agreement(project: tuple[Project, int]) -> None:
    p, rec = project
    state, _ = state_on(p, rec, coder="supervisor", mode="supervision")
    rows = {(r["coder"], r["code"]): r["disagree"] for r in state.table_rows()}
    assert rows[("trainee", "initiative-verbal")] is False
    assert rows[("trainee", "receiving-words")] is True  # a different code for the same act
    assert rows[("supervisor", "receiving-responding")] is True  # only the supervisor coded it
    agreement = state.data.agreement
    assert agreement is not None and (agreement.agree, agreement.events) == (1, 3)  # iv = iv; rw ~ sn; rr alone
    shown = agreement_html(agreement, p.scheme, 1000)
    assert "1 of 3 events agree" in shown and p.scheme.code("receiving-responding").label in shown
    assert ">receiving-responding<" not in shown  # codes named by their labels
    # the reviewing coder's lanes first, each coder's lanes together: links join lanes of one coder only
    assert state.data.lanes == ("child · supervisor", "parent · supervisor", "child · trainee", "parent · trainee")
    bars = state.data.datasets["bars"].values()
    coder_of = {r["lane"]: r["coder"] for r in bars}
    links = state.data.datasets["links"].values()
    assert links and all(coder_of[r["from_lane"]] == coder_of[r["to_lane"]] for r in links)
    assert {r["id"] for r in bars if r["disagree"]} == {r["id"] for r in state.table_rows() if r["disagree"]}


def test_a_stale_edit_is_refused_by_the_store(project: tuple[Project, int]) -> None:
    p, rec = project
    state, store = state_on(p, rec)
    row = next(r for r in state.table_rows() if r["code"] == "receiving-words")
    p.update_annotation(row["id"], note="someone else's")
    with pytest.raises(ConflictError, match="changed by someone else"):
        store.run(state.edit(row["id"], row["version"], "note", "mine"))
    state.failed()
    assert p.annotation(row["id"])["note"] == "someone else's"


# -- the review: the widgets' messages, through the state, to the store and back ------------------------------


def test_initial_state(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec)
    assert review.player.src.startswith("workbench/media/")
    assert review.player.duration_ms == p.recording(rec).duration_ms
    assert review.player.frame_times == [int(t) for t in p.frame_times(rec)]
    assert review.player.actors == ["parent", "child"]
    assert review.player.shortcuts["1"] == p.scheme.code("initiative-verbal").label
    assert [r["coder"] for r in review.table.rows] == ["trainee", "trainee"]
    assert "<kbd>1</kbd>" in review.legend.value


def test_time_moves_highlight_and_playhead_and_row_click_seeks(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec)
    review.player.current_ms = 1234
    assert review.table.current_ms == 1234 and review.timeline.playhead_ms == 1234
    row = review.table.rows[1]
    send(review.table, type="seek", id=row["id"], ms=row["onset_ms"])
    assert review.player.seek_request["ms"] == row["onset_ms"] == 1100
    assert review.table.selected == row["id"]
    review.table.filters = {"actor": "parent"}  # as the table's filter select sets it
    assert review.state.filters == {"actor": "parent"}


def test_edit_conflict_delete_undo_redo(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec)
    row = next(r for r in review.table.rows if r["code"] == "receiving-words")
    send(review.table, type="edit", id=row["id"], version=row["version"], field="note", value="smiles")
    assert p.annotation(row["id"])["note"] == "smiles"
    # a second edit from the same stale version is a conflict: shown, nothing overwritten
    send(review.table, type="edit", id=row["id"], version=row["version"], field="note", value="stale")
    assert "changed by someone else" in review.status.value
    assert p.annotation(row["id"])["note"] == "smiles"
    current = p.annotation(row["id"])
    send(review.table, type="delete", id=row["id"], version=current["version"])
    assert row["id"] not in p.annotations(rec).ids
    send(review.table, type="undo")
    restored = p.annotations(rec, coder="trainee").filter(code="receiving-words").to_dataframe()
    assert restored["note"].tolist() == ["smiles"] and restored["onset_ms"].tolist() == [1100]
    send(review.table, type="redo")  # deleted again
    assert not len(p.annotations(rec, coder="trainee").filter(code="receiving-words"))
    # an invalid edit is refused with the field named, and the store keeps the old value
    row = review.table.rows[0]
    send(review.table, type="edit", id=row["id"], version=row["version"], field="code", value="dancing")
    assert "code" in review.status.value and "dancing" in review.status.value
    assert p.annotation(row["id"])["code"] == row["code"]


def test_one_edit_costs_one_write_and_at_most_one_read(
    project: tuple[Project, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state knows the row before the edit: the store is asked to write it and, while it answers a write with
    a version rather than the record, to read it back once."""
    p, rec = project
    review = Review(p, rec, coder="supervisor", mode="supervision")
    calls: list[str] = []
    for name in ("annotation", "annotations", "moments", "comments", "update_annotation", "add_annotation"):
        method = getattr(p, name)
        monkeypatch.setattr(p, name, lambda *a, _m=method, _n=name, **k: calls.append(_n) or _m(*a, **k))
    row = next(r for r in review.table.rows if r["code"] == "showing-noticed")
    send(review.table, type="edit", id=row["id"], version=row["version"], field="onset_ms", value=1200)
    assert calls[0] == "update_annotation" and set(calls[1:]) <= {"annotation"} and len(calls) <= 2, calls
    assert next(r for r in review.table.rows if r["id"] == row["id"])["onset_ms"] == 1200


def test_supervision_timeline(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec, mode="supervision", coder="supervisor")
    assert "1 of 3 events agree" in review.agreement.value
    assert review.timeline.spec["vconcat"][1]["layer"][1]["encoding"]["y"]["sort"] == [
        "child · supervisor", "parent · supervisor", "child · trainee", "parent · trainee"]  # fmt: skip
    bars = review.timeline.datasets["bars"]
    assert {r["id"] for r in bars if r["disagree"]} == {r["id"] for r in review.table.rows if r["disagree"]}
    assert review.timeline.datasets["links"] and all("key" in r for r in review.timeline.datasets["links"])


def test_the_mode_follows_the_coder(project: tuple[Project, int]) -> None:
    """The case's guider (the trainee whose work it is) sees their own coding; anyone else supervises. On a
    case without a guider nobody sees another's coding unless they ask for supervision mode."""
    p, rec = project
    assert Review(p, rec, coder="supervisor").mode == "micro"  # no guider recorded yet
    case = p.cases()[0]
    p.update_case(case, guider="trainee")
    trainee, supervisor = Review(p, rec, coder="trainee"), Review(p, rec, coder="supervisor")
    assert trainee.mode == "micro" and {r["coder"] for r in trainee.table.rows} == {"trainee"}
    assert trainee.table.mode == "micro" and trainee.agreement.value == ""
    assert supervisor.mode == "supervision" and {r["coder"] for r in supervisor.table.rows} == {"trainee", "supervisor"}
    assert Review(p, rec, coder="supervisor", mode="micro").mode == "micro"  # asked for
    with pytest.raises(ValueError, match="Allowed values are 'micro' and 'supervision'"):
        Review(p, rec, mode="blind")  # type: ignore[arg-type]


def test_comments_and_moments_are_shown_and_a_moment_is_edited_in_place(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec)
    assert review.notes.comments == [] and review.timeline.datasets["comments"] == []
    send(review.player, type="comment", time_ms=1100, text="Well seen", status="agree")
    (shown,) = review.notes.comments
    assert [shown[k] for k in ("time_ms", "author", "status", "text")] == [1100, "trainee", "agree", "Well seen"]
    (tick,) = review.timeline.datasets["comments"]
    assert (tick["onset_ms"], tick["at_s"], tick["time"]) == (1100, 1.1, "00:01.100")

    send(review.player, type="mark", which="in", time_ms=400)
    send(review.player, type="mark", which="out", time_ms=1900)
    (moment,) = review.notes.moments
    assert moment["title"] == "Moment at 00:00.400" and review.notes.show == "moments"
    assert (review.player.loop_start_ms, review.player.loop_end_ms) == (400, 1900)
    (span,) = review.timeline.datasets["moments"]
    assert (span["onset_s"], span["end_s"]) == (0.4, 1.9)

    edit = {"type": "edit-moment", "id": moment["id"], "version": moment["version"], "field": "title",
            "value": "Waiting for her"}  # fmt: skip
    send(review.notes, **edit)
    assert p.moment(moment["id"]).title == "Waiting for her"
    assert review.notes.moments[0]["title"] == "Waiting for her"
    assert review.timeline.datasets["moments"][0]["title"] == "Waiting for her"
    send(review.notes, **{**edit, "field": "reason", "version": moment["version"] + 1,
                          "value": "You wait, and she shows you the toy."})  # fmt: skip
    assert p.moment(moment["id"]).reason == "You wait, and she shows you the toy."
    # an edit from a stale version is refused and the lists reload; an empty title is refused by the store
    send(review.notes, **{**edit, "value": "stale"})
    assert "changed by someone else" in review.status.value and p.moment(moment["id"]).title == "Waiting for her"
    send(review.notes, **{**edit, "version": p.moment(moment["id"]).version, "value": "  "})
    assert "title" in review.status.value and p.moment(moment["id"]).title == "Waiting for her"
    # a click on a comment or a moment seeks (from Python when the browser did not)
    send(review.notes, type="seek", ms=1100, kind="comment", id=shown["id"])
    assert review.player.seek_request["ms"] == 1100
    send(review.notes, type="loop-moment", id=moment["id"])
    assert (review.player.loop_start_ms, review.player.loop_end_ms, review.player.looping) == (400, 1900, True)
    # a still grabbed under the video
    send(review.player, type="still", time_ms=1000, caption="You wait")
    (still,) = p.stills(rec)
    assert still.caption == "You wait" and f"still {still.id}" in review.status.value


def test_synchrony_landscape_follows_the_video(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec)
    before = len(review.children)
    figure = review.synchrony(
        {"left": (0, 0, 160, 240), "right": (160, 0, 160, 240)}, lag_s=0.2, window_s=1, increment_s=0.5
    )
    assert len(review.children) == before + 1
    section = review.children[-1]
    heading, row = section.children
    heatmap, box = row.children
    assert "synchrony" in heading.value.lower() and box.children == (figure,)
    cells = heatmap.datasets["ccf"]
    assert {c["onset_ms"] for c in cells} == {0, 500, 1000, 1500}  # windows of 1 s every 0.5 s of a 3 s film
    marker = figure.scatters[-1]
    review.player.current_ms = 1600
    assert float(marker.z[0]) == 1.5  # the window starting at 1.5 s holds 1.6 s
    assert heatmap.playhead_ms == 1600
    with pytest.raises(ValueError, match="two regions"):
        review.synchrony({"only": (0, 0, 10, 10)})


def test_the_player_sends_its_recording_through_the_kernel_in_chunks(
    project: tuple[Project, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no media route serves ``src`` (standalone Voilà) the browser asks the kernel for the file."""
    p, rec = project
    review = Review(p, rec)
    player = review.player
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    monkeypatch.setattr(player, "send", lambda content, buffers=None: sent.append((content, buffers or [])))
    monkeypatch.setattr(type(player), "CHUNK_BYTES", 16 * 1024)
    expected = p.media_path(p.recording(rec)).read_bytes()
    assert len(expected) > 3 * 16 * 1024, "the test needs a file of several chunks"

    got, offset = bytearray(), 0
    while True:  # what player.js does: ask for the next offset until the kernel says done
        player._handle_custom_msg({"type": "media-fetch", "request": 7, "offset": offset}, [])
        reply, buffers = sent[-1]
        assert reply["request"] == 7 and reply["total"] == len(expected) and reply["mime"] == "video/mp4"
        got += buffers[0]
        offset = reply["offset"] + len(buffers[0])
        if reply["done"]:
            break
    assert bytes(got) == expected

    monkeypatch.setenv("WORKBENCH_KERNEL_MEDIA_MAX_MB", "0.01")  # 10 KiB: this file is over it
    player._handle_custom_msg({"type": "media-fetch", "request": 8, "offset": 0}, [])
    reply, buffers = sent[-1]
    assert not buffers and reply["request"] == 8
    name = p.media_path(p.recording(rec)).name
    for part in (name, "workbench voila", "WORKBENCH_KERNEL_MEDIA_MAX_MB"):
        assert part in reply["error"]


def test_the_review_page_says_what_to_do_when_there_is_nothing_to_review(
    project: tuple[Project, int], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What notebooks/review.ipynb shows (in Voilà, an app): the review, or plain words and what to do next."""
    from workbench.ui import review_page

    p, rec = project
    monkeypatch.delenv("WORKBENCH_PROJECT", raising=False)
    monkeypatch.delenv("WORKBENCH_RECORDING", raising=False)
    monkeypatch.setenv("WORKBENCH_CODER", "trainee")
    none = review_page()
    assert none.review is None and 'data-wb="no-project"' in none.widget.value
    assert "workbench voila" in none.widget.value
    missing = review_page(tmp_path / "nowhere")
    assert missing.review is None and "could not be opened" in missing.widget.value
    assert "workbench init" in missing.widget.value and "Traceback" not in missing.widget.value
    with workbench.open_project(tmp_path / "empty", create=True) as empty:
        empty.add_case("Ash")
    page = review_page(tmp_path / "empty")
    assert page.review is None and 'data-wb="empty-project"' in page.widget.value
    assert "no films" in page.widget.value and "Registering a film" in page.widget.value
    wrong = review_page(p, 99)
    assert wrong.review is None and f"{rec} (" in wrong.widget.value  # lists the films there are
    monkeypatch.setenv("WORKBENCH_RECORDING", str(rec))
    shown = review_page(p)
    assert shown.review is not None and shown.widget is shown.review and shown.recording.id == rec
    assert shown.review.coder == "trainee" and shown.review.mode == "micro"


# -- the widgets' shared module ------------------------------------------------------------------------------


def test_fmt_parse_time_and_el_are_written_once_and_inlined_into_every_widget() -> None:
    folder = widgets_dir()
    for name in ("fmt", "parseTime", "el"):
        homes = [js.name for js in sorted(folder.glob("*.js")) if f"function {name}(" in js.read_text("utf-8")]
        assert homes == ["shared.js"], (name, homes)
    for js in ("player.js", "table.js", "notes.js", "chart.js"):
        esm = widget_esm(js)
        assert not re.search(r"^\s*import\s", esm, re.MULTILINE), js
    assert "function parseTime(" in widget_esm("table.js") and "function parseTime(" in widget_esm("player.js")


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the ES module")
def test_a_bare_number_is_seconds_wherever_a_time_is_typed(tmp_path: Path) -> None:
    """``parseTime`` as a person types a time: a bare number is seconds; ``fmt`` writes what it reads back."""
    script = f"""
        import {{ fmt, parseTime }} from {json.dumps((widgets_dir() / "shared.js").as_uri())};
        const typed = ["12", "12.5", "0.04", "1:05", "01:05.250", "1:02:03.004", "1234ms", "90:00",
                       "", "abc", "-5", "1:75", "1:60:00", "1:2:3:4"];
        const written = [0, 6233, 59999, 3723004, 83456];
        console.log(JSON.stringify({{
            parsed: typed.map((t) => parseTime(t)),
            written: written.map((ms) => fmt(ms)),
            back: written.map((ms) => parseTime(fmt(ms))),
        }}));
    """
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got["parsed"] == [12_000, 12_500, 40, 65_000, 65_250, 3_723_004, 1234, 5_400_000,
                             None, None, None, None, None, None]  # fmt: skip
    assert got["written"] == ["00:00.000", "00:06.233", "00:59.999", "1:02:03.004", "01:23.456"]
    assert got["back"] == [0, 6233, 59999, 3723004, 83456]

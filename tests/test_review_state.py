"""The review controller without a browser: messages in, store rows and widget state out.

The front end sends the same messages (see widgets/player.js and widgets/table.js); the browser
tests in test_browser.py drive them for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import workbench
from workbench.project import Project
from workbench.ui.controller import Review


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


def _key(review: Review, key: str, onset: int, up: int, actor: str = "child") -> None:
    # a paused-free film: the browser's clock runs with the video's
    msg = {
        "type": "key",
        "key": key,
        "phase": "up",
        "onset_ms": onset,
        "time_ms": up,
        "down_wall_ms": onset,
        "actor": actor,
    }
    review._on_player_msg(None, msg, None)


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
    review._on_table_msg(None, {"type": "seek", "id": row["id"], "ms": row["onset_ms"]}, None)
    assert review.player.seek_request["ms"] == row["onset_ms"] == 1100


def test_keys_tap_hold_double_tap(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec)
    _key(review, "2", 100, 130)  # tap: point
    _key(review, "2", 700, 1500)  # hold: state
    _key(review, "1", 1800, 1820)
    _key(review, "1", 1900, 1920)  # double tap: opens a state at the first tap
    _key(review, "1", 2600, 2620)  # closes it
    rows = p.annotations(rec, coder="trainee").to_dataframe()
    got = sorted(zip(rows["code"], rows["onset_ms"], rows["offset_ms"], strict=True))
    assert ("initiative-nonverbal", 100, 100) in got
    assert ("initiative-nonverbal", 700, 1500) in got
    assert ("initiative-verbal", 1800, 2600) in got
    assert len(review.table.rows) == len(rows) == 5


def test_edit_conflict_delete_undo(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec)
    row = next(r for r in review.table.rows if r["code"] == "receiving-words")
    review._on_table_msg(
        None, {"type": "edit", "id": row["id"], "version": row["version"], "field": "note", "value": "smiles"}, None
    )
    assert p.annotation(row["id"])["note"] == "smiles"
    # a second edit from the same stale version is a conflict: shown, nothing overwritten
    review._on_table_msg(
        None, {"type": "edit", "id": row["id"], "version": row["version"], "field": "note", "value": "stale"}, None
    )
    assert "changed by someone else" in review.status.value
    assert p.annotation(row["id"])["note"] == "smiles"
    current = p.annotation(row["id"])
    review._on_table_msg(None, {"type": "delete", "id": row["id"], "version": current["version"]}, None)
    assert row["id"] not in p.annotations(rec).ids
    review._on_table_msg(None, {"type": "undo"}, None)
    restored = p.annotations(rec, coder="trainee").filter(code="receiving-words").to_dataframe()
    assert restored["note"].tolist() == ["smiles"] and restored["onset_ms"].tolist() == [1100]
    # an invalid edit is refused with the field named, and the store keeps the old value
    row = review.table.rows[0]
    review._on_table_msg(
        None, {"type": "edit", "id": row["id"], "version": row["version"], "field": "code", "value": "dancing"}, None
    )
    assert "code" in review.status.value and "dancing" in review.status.value
    assert p.annotation(row["id"])["code"] == row["code"]


def test_moment_still_comment(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec)
    review._on_player_msg(None, {"type": "mark", "which": "out", "time_ms": 900}, None)
    assert "first" in review.status.value and not p.moments(rec)
    review._on_player_msg(None, {"type": "mark", "which": "in", "time_ms": 400}, None)
    review._on_player_msg(None, {"type": "mark", "which": "out", "time_ms": 1900}, None)
    (moment,) = p.moments(rec)
    assert (moment.onset_ms, moment.offset_ms) == (400, 1900)
    assert (review.player.loop_start_ms, review.player.loop_end_ms) == (400, 1900)
    review._on_player_msg(None, {"type": "still", "time_ms": 1000, "caption": "You wait"}, None)
    (still,) = p.stills(rec)
    assert still.caption == "You wait" and p.still_path(still).is_file()
    review._on_player_msg(None, {"type": "comment", "time_ms": 1100, "text": "Well seen", "status": "agree"}, None)
    (comment,) = p.comments(rec)
    assert (comment.text, str(comment.status), comment.author) == ("Well seen", "agree", "trainee")


def test_supervision_mode_marks_disagreements(project: tuple[Project, int]) -> None:
    p, rec = project
    review = Review(p, rec, mode="supervision", coder="supervisor")
    rows = {(r["coder"], r["code"]): r["disagree"] for r in review.table.rows}
    assert rows[("trainee", "initiative-verbal")] is False
    assert rows[("trainee", "receiving-words")] is True  # a different code for the same act
    assert rows[("supervisor", "receiving-responding")] is True  # only the supervisor coded it
    assert "1 of 3 events agree" in review.agreement.value  # iv = iv; rw ~ sn (code); rr alone
    # the per-code table names codes by their labels
    assert p.scheme.code("receiving-responding").label in review.agreement.value
    assert ">receiving-responding<" not in review.agreement.value
    # the reviewing coder's lanes first, each coder's lanes together: links join lanes of one coder only,
    # so they never cross another coder's lanes
    bars = review.timeline.datasets["bars"]
    assert review.timeline.spec["vconcat"][1]["layer"][1]["encoding"]["y"]["sort"] == [
        "child · supervisor", "parent · supervisor", "child · trainee", "parent · trainee"]  # fmt: skip
    coder_of = {r["lane"]: r["coder"] for r in bars}
    links = review.timeline.datasets["links"]
    assert links and all(coder_of[r["from_lane"]] == coder_of[r["to_lane"]] for r in links)
    assert {r["id"] for r in bars if r["disagree"]} == {r["id"] for r in review.table.rows if r["disagree"]}


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
    review._on_player_msg(None, {"type": "comment", "time_ms": 1100, "text": "Well seen", "status": "agree"}, None)
    (shown,) = review.notes.comments
    assert [shown[k] for k in ("time_ms", "author", "status", "text")] == [1100, "trainee", "agree", "Well seen"]
    (tick,) = review.timeline.datasets["comments"]
    assert (tick["onset_ms"], tick["at_s"], tick["time"]) == (1100, 1.1, "00:01.100")

    review._on_player_msg(None, {"type": "mark", "which": "in", "time_ms": 400}, None)
    review._on_player_msg(None, {"type": "mark", "which": "out", "time_ms": 1900}, None)
    (moment,) = review.notes.moments
    assert moment["title"] == "Moment at 00:00.400" and review.notes.show == "moments"
    (span,) = review.timeline.datasets["moments"]
    assert (span["onset_s"], span["end_s"]) == (0.4, 1.9)

    edit = {"type": "edit-moment", "id": moment["id"], "version": moment["version"], "field": "title",
            "value": "Waiting for her"}  # fmt: skip
    review._on_notes_msg(None, edit, None)
    assert p.moment(moment["id"]).title == "Waiting for her"
    assert review.notes.moments[0]["title"] == "Waiting for her"
    assert review.timeline.datasets["moments"][0]["title"] == "Waiting for her"
    review._on_notes_msg(None, {**edit, "field": "reason", "version": moment["version"] + 1,
                                "value": "You wait, and she shows you the toy."}, None)  # fmt: skip
    assert p.moment(moment["id"]).reason == "You wait, and she shows you the toy."
    # an edit from a stale version is refused and the lists reload; an empty title is refused by the store
    review._on_notes_msg(None, {**edit, "value": "stale"}, None)
    assert "changed by someone else" in review.status.value and p.moment(moment["id"]).title == "Waiting for her"
    review._on_notes_msg(None, {**edit, "version": p.moment(moment["id"]).version, "value": "  "}, None)
    assert "title" in review.status.value and p.moment(moment["id"]).title == "Waiting for her"
    # a click on a comment or a moment seeks (from Python when the browser did not)
    review._on_notes_msg(None, {"type": "seek", "ms": 1100, "kind": "comment", "id": shown["id"]}, None)
    assert review.player.seek_request["ms"] == 1100
    review._on_notes_msg(None, {"type": "loop-moment", "id": moment["id"]}, None)
    assert (review.player.loop_start_ms, review.player.loop_end_ms, review.player.looping) == (400, 1900, True)


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

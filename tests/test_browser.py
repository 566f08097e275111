"""The review workbench in a real browser: Voilà and JupyterLab, headless Chromium, the demo project.

What the user does (click a row, press a coding key, edit a cell, grab a still, comment) is done
with real mouse and keyboard events; what must follow is checked where it lands: the ``<video>``
element's time, the table's DOM, the project's store (opened here, in the test process) and the
files on disk. Numbers to compare with come from outside the widgets: the store, the video file's
bytes, OpenCV's decoding of the film, the wall clock.

Latencies are printed (``pytest -s``) - they are measured, not asserted beyond generous limits.
"""

from __future__ import annotations

import json
import statistics
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import workbench
from tests.fixtures.browser import (
    BARS,
    CODER,
    RECORDING,
    TIMELINE_READY,
    VIDEO,
    JupyterServer,
    ReviewPage,
    lab_workspace_url,
    open_in_lab,
    run_all,
    seek_in_browser,
    wait_until,
)
from workbench.errors import NotFoundError
from workbench.project import Project

pytestmark = pytest.mark.browser

FRAME_MS = 40  # the demo film runs at 25 fps


@pytest.fixture(scope="module")
def store(review_page: ReviewPage) -> Iterator[Project]:
    """The demo project opened by the test process (a second, independent connection)."""
    project = workbench.open_project(review_page.server.project_folder)
    yield project
    project.close()


def trainee_rows(store: Project) -> list[dict[str, Any]]:
    """The trainee's annotations of recording 1 as dicts, from the store."""
    return store.annotations(RECORDING, coder=CODER).to_dataframe().to_dict("records")


def dom_ids(page: Any) -> list[int]:
    """The annotation ids the table shows, in table order."""
    return [int(i) for i in page.eval_on_selector_all('[data-wb="annotation-row"]', "rs => rs.map(r => r.dataset.id)")]




def focus_player(page: Any) -> None:
    """Click the picture, as the legend tells the user; the player's box takes the focus."""
    page.locator('[data-wb="player"] video').click()
    assert page.evaluate("document.activeElement.dataset.wb") == "player"


def video_time_ms(page: Any) -> float:
    return float(page.evaluate(f"{VIDEO}.currentTime")) * 1000


# -- 1. the video comes through the media route -----------------------------------------------


def test_video_loads_through_media_route(review_page: ReviewPage, store: Project) -> None:
    page, server = review_page.page, review_page.server
    src = review_page.video_src()
    assert src.startswith(f"{server.url}workbench/media/"), src
    assert "token=" not in src  # the page's login cookie authenticates, the URL carries no secret
    assert page.evaluate(f"{VIDEO}.readyState") >= 1
    recording = store.recording(RECORDING)
    assert page.evaluate(f"{VIDEO}.duration") == pytest.approx(recording.duration_ms / 1000, abs=0.1)
    assert page.evaluate(f"{VIDEO}.duration") == pytest.approx(60.0, abs=0.1)  # the demo film is 60 s
    # the browser asked for ranges, and was told it may (Tornado answers "bytes=0-" with a plain 200,
    # as Chrome wants for a request of the whole file)
    # the player first asks the route whether it serves the file (HEAD), then the video element reads it
    probe, *_ = review_page.media_responses
    assert probe["method"] == "HEAD" and probe["status"] == 200, review_page.media_responses
    first = next(r for r in review_page.media_responses if r["method"] == "GET")
    assert first["range"] is not None and first["range"].startswith("bytes="), review_page.media_responses
    assert first["accept_ranges"] == "bytes" and first["status"] in (200, 206), first

    # a Range request with the page's cookies: 206 and exactly those bytes of the file on disk
    data = (store.folder / recording.path).read_bytes()
    response = page.request.get(src, headers={"Range": "bytes=100-1123"})
    assert response.status == 206
    assert response.headers["content-range"] == f"bytes 100-1123/{len(data)}"
    assert response.body() == data[100:1124]
    tail = page.request.get(src, headers={"Range": "bytes=-10"})
    assert tail.status == 206 and tail.body() == data[-10:]
    whole = page.request.head(src)
    assert whole.status == 200 and int(whole.headers["content-length"]) == len(data)
    print(f"\nVoilà page ready (rows + video metadata) after {review_page.load_s:.1f} s")


# -- 2. a row click seeks the video -----------------------------------------------------------


def test_row_click_seeks_video(review_page: ReviewPage, store: Project) -> None:
    page = review_page.page
    onset = {r["id"]: r["onset_ms"] for r in trainee_rows(store)}
    ids = [i for i in dom_ids(page) if i in onset]
    latencies = []
    assert len(ids) >= 10, ids
    for pick in (ids[len(ids) // 2], ids[len(ids) // 10], ids[-2]):  # forwards, backwards, forwards again
        page.evaluate(
            f"""() => {{
                window.__wbSeek = {{}};
                document.addEventListener('click', () => (window.__wbSeek.click = performance.now()),
                                          {{capture: true, once: true}});
                {VIDEO}.addEventListener('seeked', () => (window.__wbSeek.seeked = performance.now()),
                                          {{once: true}});
            }}"""
        )
        page.locator(f'[data-wb="annotation-row"][data-id="{pick}"] td[data-col="onset_ms"]').click()
        page.wait_for_function("window.__wbSeek.seeked !== undefined")
        t = video_time_ms(page)
        assert abs(t - onset[pick]) < FRAME_MS, (pick, onset[pick], t)
        latencies.append(page.evaluate("window.__wbSeek.seeked - window.__wbSeek.click"))
    print(f"\nrow click -> video seeked: {', '.join(f'{x:.0f}' for x in latencies)} ms")
    assert statistics.median(latencies) < 2000


# -- 3. the rows under the playhead light up --------------------------------------------------


def test_rows_under_playhead_are_active(review_page: ReviewPage, store: Project) -> None:
    page = review_page.page
    rows = trainee_rows(store)
    shown = set(dom_ids(page))
    state = [r for r in rows if r["offset_ms"] - r["onset_ms"] >= 1200 and r["onset_ms"] > 20_000 and r["id"] in shown]
    target = state[0]
    t = target["onset_ms"] + 300
    assert page.locator(f'[data-wb="annotation-row"][data-id="{target["id"]}"].wb-active').count() == 0
    page.evaluate(
        f"""id => {{
            window.__wbHl = {{}};
            const v = {VIDEO};
            v.addEventListener('seeked', () => {{
                window.__wbHl.seeked = performance.now();
                const poll = () => {{
                    const tr = document.querySelector(`[data-wb="annotation-row"][data-id="${{id}}"]`);
                    if (tr && tr.classList.contains('wb-active')) window.__wbHl.active = performance.now();
                    else requestAnimationFrame(poll);
                }};
                poll();
            }}, {{once: true}});
        }}""",
        target["id"],
    )
    page.evaluate(f"ms => {{ {VIDEO}.pause(); {VIDEO}.currentTime = ms / 1000; }}", t)
    page.wait_for_function("window.__wbHl.active !== undefined")
    latency = page.evaluate("window.__wbHl.active - window.__wbHl.seeked")
    active = {int(i) for i in page.eval_on_selector_all("tr.wb-active", "rs => rs.map(r => r.dataset.id)")}
    assert target["id"] in active
    long_past = {r["id"] for r in rows if r["offset_ms"] < t - 2000 or r["onset_ms"] > t + 2000}
    assert not active & long_past, active & long_past

    # play (a real click: a user gesture), then pause: the highlight follows the playing video
    play = page.locator('[data-wb="play"]')
    play.click()
    page.wait_for_function(f"{VIDEO}.currentTime * 1000 > {t} + 600")
    play.click()
    page.wait_for_function(f"{VIDEO}.paused")
    now = video_time_ms(page)
    assert now > t + 600
    covering = {r["id"] for r in rows if r["onset_ms"] <= now <= r["offset_ms"] and r["id"] in shown}
    gone = {r["id"] for r in rows if r["offset_ms"] < now - 2000 or r["onset_ms"] > now + 2000}

    def settled() -> bool:
        ids = {int(i) for i in page.eval_on_selector_all("tr.wb-active", "rs => rs.map(r => r.dataset.id)")}
        return covering <= ids and not ids & gone

    wait_until(settled, 5, "the active rows to follow the paused video")
    print(f"\nseeked -> row highlighted: {latency:.0f} ms")


# -- 4. coding keys make rows -----------------------------------------------------------------


def test_shortcut_key_adds_point_and_held_key_adds_state(review_page: ReviewPage, store: Project) -> None:
    page = review_page.page
    shortcuts = store.scheme.shortcuts()
    assert shortcuts["1"] == "initiative-verbal" and shortcuts["2"] == "initiative-nonverbal"
    before = {r["id"] for r in trainee_rows(store)}
    actor = page.eval_on_selector('[data-wb="actor"]', "s => s.value")

    seek_in_browser(page, 12_340)
    focus_player(page)
    page.evaluate(
        """known => {
            window.__wbKey = {};
            const up = () => (window.__wbKey.up = performance.now());
            document.addEventListener('keyup', up, {capture: true, once: true});
            const body = document.querySelector('[data-wb="annotation-table"] tbody');
            const seen = new Set(known.map(String));
            const obs = new MutationObserver(() => {
                for (const tr of body.querySelectorAll('[data-wb="annotation-row"]')) {
                    if (!seen.has(tr.dataset.id)) {
                        window.__wbKey.row = performance.now();
                        window.__wbKey.id = Number(tr.dataset.id);
                        obs.disconnect();
                        return;
                    }
                }
            });
            obs.observe(body, {childList: true});
        }""",
        sorted(before),
    )
    page.keyboard.press("1")
    page.wait_for_function("window.__wbKey.row !== undefined")
    key_latency = page.evaluate("window.__wbKey.row - window.__wbKey.up")
    new_id = page.evaluate("window.__wbKey.id")
    assert new_id not in before
    stored = wait_until(lambda: [r for r in trainee_rows(store) if r["id"] == new_id], 5, "the new row in the store")[0]
    assert stored["code"] == "initiative-verbal"
    assert stored["actor"] == actor == "parent"
    assert stored["coder"] == CODER
    assert abs(stored["onset_ms"] - 12_340) <= 1
    assert stored["offset_ms"] == stored["onset_ms"]  # a tap is a point event

    # hold "2" for 0.8 s while the video plays: a state event from key-down to key-up
    before = {r["id"] for r in trainee_rows(store)}
    seek_in_browser(page, 20_000)
    focus_player(page)
    page.keyboard.press(" ")  # space: play (a keyboard gesture, so autoplay rules allow it)
    page.wait_for_function(f"!{VIDEO}.paused && {VIDEO}.currentTime > 20.2")
    page.keyboard.down("2")
    held = time.monotonic()
    time.sleep(0.8)
    page.keyboard.up("2")
    held = time.monotonic() - held
    page.keyboard.press(" ")
    page.wait_for_function(f"{VIDEO}.paused")

    def new_state() -> list[dict[str, Any]]:
        return [r for r in trainee_rows(store) if r["id"] not in before]

    added = wait_until(new_state, 5, "the held key's row in the store")
    assert len(added) == 1
    row = added[0]
    assert row["code"] == "initiative-nonverbal"
    assert row["onset_ms"] > 20_000
    length = row["offset_ms"] - row["onset_ms"]
    assert 0.5 * held * 1000 < length <= held * 1000 + 250, (length, held)
    page.wait_for_selector(f'[data-wb="annotation-row"][data-id="{row["id"]}"]')
    print(f"\nkey up -> new row in the table: {key_latency:.0f} ms; held {held:.2f} s -> state of {length} ms")


# -- 5. inline edit, delete, undo -------------------------------------------------------------


def test_edit_delete_undo(review_page: ReviewPage, store: Project) -> None:
    page = review_page.page
    by_id = {r["id"]: r for r in trainee_rows(store)}
    pick = [i for i in dom_ids(page) if i in by_id][5]
    row = page.locator(f'[data-wb="annotation-row"][data-id="{pick}"]')
    text = "Parent waits: a lovely pause 7"

    row.locator('td[data-col="note"]').dblclick()
    editor = row.locator('[data-wb="cell-editor"]')
    editor.fill(text)
    editor.press("Enter")
    wait_until(lambda: store.annotation(pick)["note"] == text, 5, "the edited note in the store")
    assert store.annotation(pick)["version"] == by_id[pick]["version"] + 1
    page.wait_for_function(
        "([id, text]) => document.querySelector(`[data-wb=annotation-row][data-id='${id}'] td[data-col=note]`)"
        "?.textContent === text",
        arg=[pick, text],
    )

    row.locator('[data-wb="delete"]').click()
    page.wait_for_selector(f'[data-wb="annotation-row"][data-id="{pick}"]', state="detached")

    def deleted() -> bool:
        try:
            store.annotation(pick)
        except NotFoundError:
            return True
        return False

    wait_until(deleted, 5, "the row to be gone from the store")

    page.locator('[data-wb="undo"]').click()
    old = by_id[pick]

    def restored() -> list[dict[str, Any]]:
        return [
            r for r in trainee_rows(store)
            if (r["actor"], r["code"], r["onset_ms"], r["offset_ms"], r["note"])
            == (old["actor"], old["code"], old["onset_ms"], old["offset_ms"], text)
        ]  # fmt: skip

    back = wait_until(restored, 5, "the deleted row back in the store")
    assert len(back) == 1
    page.wait_for_selector(f'[data-wb="annotation-row"][data-id="{back[0]["id"]}"]')


# -- 5b. a time typed as a bare number is seconds, in the table and in the player -------------------


def test_a_bare_number_is_the_same_time_in_the_table_and_the_player(review_page: ReviewPage, store: Project) -> None:
    """"12" typed in a row's onset cell and "12" typed in the player's jump box both mean 12 s (00:12.000)."""
    page = review_page.page
    by_id = {r["id"]: r for r in trainee_rows(store)}
    points = [i for i in dom_ids(page) if i in by_id and by_id[i]["onset_ms"] == by_id[i]["offset_ms"]]
    pick = points[len(points) // 2]  # a point event: its offset follows its onset
    cell = page.locator(f'[data-wb="annotation-row"][data-id="{pick}"] td[data-col="onset_ms"]')
    cell.dblclick()
    editor = cell.locator('[data-wb="cell-editor"]')
    assert "seconds" in (editor.get_attribute("title") or "")  # the help says how a time is typed
    editor.fill("12")
    editor.press("Enter")
    stored = wait_until(lambda: (a := store.annotation(pick))["onset_ms"] == 12_000 and a, 5, "the onset 12 s")
    assert stored["offset_ms"] == 12_000
    page.wait_for_function(
        "id => document.querySelector(`[data-wb=annotation-row][data-id='${id}'] td[data-col=onset_ms]`)"
        "?.textContent === '00:12.000'",
        arg=pick,
    )

    seek_in_browser(page, 30_000)
    jump = page.locator('[data-wb="jump"]')
    assert "seconds" in (jump.get_attribute("title") or "")
    jump.fill("12")
    jump.press("Enter")
    wait_until(lambda: abs(video_time_ms(page) - 12_000) < FRAME_MS, 5, "the video at 12 s")
    # the clock says so too (the player lands half a millisecond into the frame: 00:12.000 or 00:12.001)
    page.wait_for_function("/^00:12[.]00[01] /.test(document.querySelector('[data-wb=clock]').textContent)")


# -- 6. stills and comments -------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_grab_still_and_comment(review_page: ReviewPage, store: Project) -> None:
    import cv2
    import numpy as np

    page = review_page.page
    still_ids = {s.id for s in store.stills(RECORDING)}
    comment_ids = {c.id for c in store.comments(RECORDING)}
    recording = store.recording(RECORDING)

    seek_in_browser(page, 5020)  # the middle of frame 125 (5000-5040 ms)
    page.locator('[data-wb="still-caption"]').fill("She shows you the toy")
    page.locator('[data-wb="still-button"]').click()
    still = wait_until(lambda: [s for s in store.stills(RECORDING) if s.id not in still_ids], 10, "a new still")[0]
    assert abs(still.time_ms - 5020) < FRAME_MS
    assert still.caption == "She shows you the toy"
    png = store.folder / still.image_path
    assert png.is_file()
    assert _png_size(png.read_bytes()) == (recording.width, recording.height)
    # the still is frame 125 of the film as OpenCV decodes it (not a neighbour)
    cap = cv2.VideoCapture(str(store.folder / recording.path))
    frames = [cap.read()[1] for _ in range(131)]
    cap.release()
    image = cv2.imread(str(png))
    diffs = {i: float(np.abs(frames[i].astype(int) - image.astype(int)).mean()) for i in range(119, 131)}
    assert min(diffs, key=diffs.get) == 125, diffs

    comment = page.locator('[data-wb="comment-input"]')
    comment.fill("Lovely waiting here; what did you notice?")
    comment.press("Enter")
    new = wait_until(lambda: [c for c in store.comments(RECORDING) if c.id not in comment_ids], 5, "a new comment")
    assert len(new) == 1
    assert new[0].text == "Lovely waiting here; what did you notice?"
    assert new[0].author == CODER
    assert str(new[0].status) == "discuss"
    assert abs(new[0].time_ms - 5020) < FRAME_MS
    assert comment.input_value() == ""


# -- 7. the media route only serves registered files to the session ---------------------------


def test_media_route_security(
    review_page: ReviewPage, chromium: Any, store: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.ui.server import register_media

    page, server = review_page.page, review_page.server
    src = review_page.video_src()
    route = f"{server.url}workbench/media/"

    # no cookie, no token: sent to the login page (or refused)
    stranger = chromium.new_context()
    try:
        anon = stranger.request.get(src, max_redirects=0)
        assert anon.status in (302, 403), anon.status
        if anon.status == 302:
            assert "/login" in anon.headers["location"]
        assert stranger.request.get(src, max_redirects=0, headers={"Range": "bytes=0-9"}).status in (302, 403)
        assert stranger.request.get(src + "?token=wrong", max_redirects=0).status in (302, 403)
        assert stranger.request.get(f"{src}?token={server.token}").status == 200
    finally:
        stranger.close()

    # logged in, but tokens that were never registered
    assert page.request.get(route + "A" * 32).status == 404
    assert page.request.get(route + "..%2F..%2Fetc%2Fpasswd").status == 404
    assert page.request.get(route + "../../etc/passwd").status == 404
    assert page.request.get(route + "%2Fetc%2Fpasswd").status == 404

    # a registration pointing out of its project, and a registered file swapped for a symlink
    monkeypatch.setenv("WORKBENCH_MEDIA_REGISTRY", str(server.registry))
    forged = "F" * 32
    (server.registry / f"{forged}.json").write_text(
        json.dumps({"path": "/etc/passwd", "root": str(store.folder)}), encoding="utf-8"
    )
    assert page.request.get(route + forged).status == 404
    bait = store.folder / "media" / "bait.bin"
    bait.write_bytes(b"registered bytes")
    token = register_media(bait, store.folder)
    assert page.request.get(route + token).body() == b"registered bytes"
    bait.unlink()
    bait.symlink_to("/etc/passwd")
    try:
        assert page.request.get(route + token).status == 404
    finally:
        bait.unlink()


# -- 8. what it looks like ----------------------------------------------------------------------


def _layout(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const BARS_NOW = """ + BARS + """;
            const box = (sel) => {
                const e = document.querySelector(sel);
                return e && e.getBoundingClientRect().toJSON();
            };
            const svg = document.querySelector('[data-wb=timeline] svg');
            return {
                review: box('.wb-review'),
                table: box('[data-wb="annotation-table"]'),
                scroller: box('.wb-table-scroll'),
                undo: box('[data-wb="undo"]'),
                del: box('[data-wb="annotation-row"] [data-wb="delete"]'),
                timeline: box('[data-wb=timeline]'),
                svgWidth: svg ? svg.getBoundingClientRect().width : 0,
                bars: BARS_NOW.length,
                rows: document.querySelectorAll('[data-wb="annotation-row"]').length,
            };
        }"""
    )


def check_layout(page: Any) -> dict[str, Any]:
    """Everything the user needs is on screen: undo and delete buttons, a drawn timeline with every row."""
    # the chart takes its new rows a moment after the table: wait for it to catch up
    page.wait_for_function(TIMELINE_READY)
    lay = _layout(page)
    table, scroller = lay["table"], lay["scroller"]
    assert lay["undo"]["right"] <= table["right"] + 1, lay  # the undo button is not cut off
    assert scroller["left"] - 1 <= lay["del"]["left"] and lay["del"]["right"] <= scroller["right"] + 1, lay
    assert lay["svgWidth"] > 0.8 * lay["timeline"]["width"], lay  # the timeline spans the review
    assert lay["bars"] == lay["rows"], lay  # one bar per annotation shown in the table
    return lay


def test_screenshot_and_layout(review_page: ReviewPage, tmp_path: Path) -> None:
    page = review_page.page
    seek_in_browser(page, 24_000)
    check_layout(page)
    assert review_page.errors == [], "\n\n".join(review_page.errors)  # no uncaught JavaScript error at all
    shot = tmp_path / "review-voila.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot of the review in Voilà: {shot}")


# -- JupyterLab ---------------------------------------------------------------------------------


def test_review_in_jupyterlab(chromium: Any, jupyter_server: JupyterServer, store: Project, tmp_path: Path) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(lab_workspace_url(jupyter_server, "review-in-lab"), timeout=90_000)
        open_in_lab(page, jupyter_server.notebook)
        run_all(page, jupyter_server, jupyter_server.notebook)
        page.wait_for_selector('.jp-OutputArea [data-wb="annotation-row"]', timeout=60_000)
        page.wait_for_function(f"{VIDEO} && {VIDEO}.readyState >= 1")
        assert page.evaluate(f"{VIDEO}.duration") == pytest.approx(60.0, abs=0.1)
        assert len(dom_ids(page)) == len(trainee_rows(store))
        check_layout(page)

        # a coding key in the widget codes; it does not reach JupyterLab's own shortcuts
        before = {r["id"] for r in trainee_rows(store)}
        seek_in_browser(page, 31_000)
        focus_player(page)
        page.keyboard.press("1")  # in JupyterLab's command mode "1" would turn the cell into a heading
        added = wait_until(lambda: [r for r in trainee_rows(store) if r["id"] not in before], 10, "a new row")
        assert added[0]["code"] == "initiative-verbal" and abs(added[0]["onset_ms"] - 31_000) <= 1
        page.wait_for_selector(f'[data-wb="annotation-row"][data-id="{added[0]["id"]}"]')
        assert page.locator(".jp-Notebook .jp-Cell").count() == 1
        assert page.locator(".jp-Notebook .jp-Cell.jp-CodeCell").count() == 1

        shot = tmp_path / "review-lab.png"
        page.screenshot(path=str(shot))
        print(f"\nscreenshot of the review in JupyterLab: {shot}")
    except Exception:
        page.screenshot(path=str(tmp_path / "lab-failure.png"))
        print(f"\nJupyterLab at the failure: {tmp_path / 'lab-failure.png'}")
        raise
    finally:
        context.close()

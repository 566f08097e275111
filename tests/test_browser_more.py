"""More of the review workbench in a real browser: the timeline, supervision, Notebook 7, errors, codecs.

Four views are opened at once (their kernels start in parallel) on the module's Jupyter server:

- ``voila``: the demo review of recording 1 as the trainee (micro mode), rendered by Voilà;
- ``supervision``: the same recording in supervision mode as the supervisor, rendered by Voilà;
- ``nb7``: the trainee's review in Notebook 7 (``/notebooks/...``), its cell run from its UI;
- ``lab``: JupyterLab with a review of an MPEG-4 Part 2 film (which Chromium cannot play) in a
  separate small project, and a second cell, ``review.transcode()``, run after the first.

What must follow a click, a key or playback is checked where it lands (the ``<video>`` element, the
Vega marks' SVG, the table's DOM) against numbers from outside the widgets: the store (opened here),
:func:`workbench.analysis.agreement.match_events` computed here, the x axis's own tick labels, the
bytes of the files on disk. Latencies are printed (``pytest -s``), with generous limits only.
Screenshots of each view go to ``<tmp>/wb-browser-shots/``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import workbench
from tests.fixtures.browser import (
    BARS,
    CODER,
    NOTEBOOK,
    RECORDING,
    TIMELINE_READY,
    VIDEO,
    JupyterServer,
    ReviewPage,
    code_notebook,
    lab_workspace_url,
    open_in_lab,
    review_notebook,
    run_cell,
    seek_in_browser,
    shoot,
    wait_until,
)
from tests.fixtures.videos import WrittenVideo
from workbench.analysis.agreement import match_events
from workbench.charts import PLAYHEAD_COLOUR
from workbench.project import Project

pytestmark = pytest.mark.browser

FRAME_MS = 40  # the demo film runs at 25 fps
SUPERVISOR = "supervisor"
LOAD_TIMEOUT_MS = 150_000


# -- set-up ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(jupyter_server: JupyterServer) -> Iterator[Project]:
    """The demo project opened by the test process (a second, independent connection)."""
    project = workbench.open_project(jupyter_server.project_folder)
    yield project
    project.close()


@pytest.fixture(scope="module")
def old_camera(tmp_path_factory: pytest.TempPathFactory, mpeg4_video: WrittenVideo) -> Path:
    """A project folder (coder ``"trainee"``) whose recording 1 is ``mpeg4_video`` (MPEG-4 Part 2 + AAC,
    2 s), labelled ``"old camera"``, coded with two annotations: ``initiative-verbal`` (child, 500 ms)
    and ``receiving-words`` (parent, 1000-1600 ms)."""
    folder = tmp_path_factory.mktemp("old-camera") / "project"
    with workbench.open_project(folder, create=True, coder=CODER) as p:
        case = p.add_case("Oak")
        for label in ("parent", "child"):
            p.add_participant(case, label, label)
        rec = p.add_recording(p.add_session(case, "filming", "2026-03-03"), mpeg4_video.path, label="old camera")
        p.add_annotation(rec, "child", "initiative-verbal", 500)
        p.add_annotation(rec, "parent", "receiving-words", 1000, 1600)
    return folder


def _record_errors(page: Any, errors: list[str]) -> None:
    """Keep the page's uncaught errors and console errors (text, then where they came from)."""
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}\n{exc.stack}"))

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            errors.append(f"console.error: {msg.text}\n    at ({loc.get('url', '')}:{loc.get('lineNumber', 0)}:"
                          f"{loc.get('columnNumber', 0)})")  # fmt: skip

    page.on("console", on_console)


def _open(chromium: Any, url: str) -> ReviewPage:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    view = ReviewPage(page, None)  # type: ignore[arg-type]
    _record_errors(page, view.errors)
    view.load_s = -time.monotonic()  # made positive (seconds to ready) by ready()
    page.goto(url, timeout=LOAD_TIMEOUT_MS, wait_until="commit")  # the kernels start in parallel
    return view


@pytest.fixture(scope="module")
def views(chromium: Any, jupyter_server: JupyterServer, old_camera: Path) -> Iterator[dict[str, ReviewPage]]:
    """The four views of the module docstring, opening at once; each test waits for its own."""
    server, root = jupyter_server, jupyter_server.root
    (root / "supervision.ipynb").write_text(json.dumps(code_notebook(
        "import workbench\nfrom workbench.ui import Review\n\n"
        f"project = workbench.open_project({str(server.project_folder)!r}, coder={SUPERVISOR!r})\n"
        f"review = Review(project, {RECORDING}, mode='supervision', coder={SUPERVISOR!r})\nreview"
    )), encoding="utf-8")  # fmt: skip
    (root / "review_nb7.ipynb").write_text(json.dumps(review_notebook(server.project_folder)), encoding="utf-8")
    (root / "old_camera.ipynb").write_text(json.dumps(code_notebook(
        "import workbench\nfrom workbench.ui import Review\n\n"
        f"project = workbench.open_project({str(old_camera)!r}, coder={CODER!r})\n"
        "review = Review(project, 1)\nreview",
        "copy = review.transcode()\ncopy.codec",
    )), encoding="utf-8")  # fmt: skip
    token = f"?token={server.token}"
    opened = {
        "voila": _open(chromium, f"{server.url}voila/render/{NOTEBOOK}{token}"),
        "supervision": _open(chromium, f"{server.url}voila/render/supervision.ipynb{token}"),
        "nb7": _open(chromium, f"{server.url}notebooks/review_nb7.ipynb{token}"),
        "lab": _open(chromium, lab_workspace_url(server, "old-camera")),
    }
    for view in opened.values():
        view.server = server
    try:
        run_cell(opened["nb7"].page, server, "review_nb7.ipynb", 0)
        open_in_lab(opened["lab"].page, "old_camera.ipynb")
        run_cell(opened["lab"].page, server, "old_camera.ipynb", 0)
        yield opened
    finally:
        for view in opened.values():
            view.page.context.close()


def ready(view: ReviewPage, *, video: bool = True) -> Any:
    """Wait until the review's three parts are there: rows, video metadata, one bar per row."""
    page = view.page
    try:
        page.wait_for_selector('[data-wb="annotation-row"]', timeout=LOAD_TIMEOUT_MS)
        if video:
            page.wait_for_function(f"{VIDEO}.readyState >= 1", timeout=LOAD_TIMEOUT_MS)
        page.wait_for_function(TIMELINE_READY, timeout=LOAD_TIMEOUT_MS)
    except Exception as exc:
        pytest.fail(f"Expected the review on {page.url}, but: {exc}\nerrors: {view.errors}\n{view.server.log_tail()}")
    if view.load_s < 0:
        view.load_s += time.monotonic()
    return page






def rows_of(store: Project, coder: str | None = CODER) -> list[dict[str, Any]]:
    return store.annotations(RECORDING, coder=coder).to_dataframe().to_dict("records")


# -- (a) a click on a timeline bar seeks the video ----------------------------------------------

BAR_TARGETS = f"""() => {BARS}.map(p => {{
    const r = p.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const d = p.__data__ && p.__data__.datum;
    return {{id: d && d.id, onset: d && d.onset_ms, x, y, w: r.width, hit: document.elementFromPoint(x, y) === p}};
}})"""


def test_timeline_click_seeks(views: dict[str, ReviewPage], store: Project) -> None:
    for name in ("supervision", "nb7", "voila"):  # latencies measured once no kernel is still starting
        ready(views[name])
    ready(views["lab"], video=False)
    page = views["voila"].page
    onset = {r["id"]: r["onset_ms"] for r in rows_of(store)}
    bars = page.evaluate(BAR_TARGETS)
    assert {b["id"] for b in bars} == set(onset)  # one bar per stored annotation of the trainee
    assert all(b["onset"] == onset[b["id"]] for b in bars)
    page.locator("[data-wb=timeline]").scroll_into_view_if_needed()
    bars = [b for b in page.evaluate(BAR_TARGETS) if b["hit"] and b["w"] >= 4]  # not under another mark
    bars.sort(key=lambda b: b["onset"])
    assert len(bars) >= 10, bars
    picks = [bars[int(0.7 * len(bars))], bars[len(bars) // 10], bars[int(0.7 * len(bars))]]  # the last: again
    latencies = []
    for bar in picks:
        seek_in_browser(page, 59_000 if bar["onset"] < 50_000 else 1_000)  # away from the bar
        page.evaluate(
            f"""() => {{
                window.__wbSeek = {{}};
                document.addEventListener('click', () => (window.__wbSeek.click = performance.now()),
                                          {{capture: true, once: true}});
                {VIDEO}.addEventListener('seeked', () => (window.__wbSeek.seeked = performance.now()), {{once: true}});
            }}"""
        )
        page.mouse.click(bar["x"], bar["y"])
        page.wait_for_function("window.__wbSeek.seeked !== undefined", polling=10)
        latencies.append(page.evaluate("window.__wbSeek.seeked - window.__wbSeek.click"))
        t = float(page.evaluate(f"{VIDEO}.currentTime")) * 1000
        assert onset[bar["id"]] <= t < onset[bar["id"]] + FRAME_MS, (bar, t)
    time.sleep(0.8)  # Python hears of the click too (the chart's pick): it must not move the video again
    t = float(page.evaluate(f"{VIDEO}.currentTime")) * 1000
    assert onset[picks[-1]["id"]] <= t < onset[picks[-1]["id"]] + FRAME_MS
    print(f"\ntimeline bar click -> video seeked: {', '.join(f'{x:.0f}' for x in latencies)} ms")
    assert statistics.median(latencies) < 1000


# -- (b) the playhead moves with playback -------------------------------------------------------

PLAYHEAD = """() => {
    const line = [...document.querySelectorAll('[data-wb=timeline] .mark-rule line')]
        .find(l => l.getAttribute('stroke') === '""" + PLAYHEAD_COLOUR + """' && l.__data__ && l.__data__.datum
                   && Object.keys(l.__data__.datum).includes('x')
                   && l.closest('.timeline_group') !== null);
    const v = document.querySelector('[data-wb=player] video');
    return line && {s: line.__data__.datum.x, px: line.getBoundingClientRect().left, video: v.currentTime,
                    paused: v.paused, at: performance.now()};
}"""
#: (seconds, screen x) of the timeline's x axis labels, as drawn (m:ss, or m:ss.s zoomed in)
AXIS = """() => [...document.querySelectorAll('[data-wb=timeline] .role-axis-label text')]
    .map(t => [t, /^(\\d+):(\\d\\d(?:\\.\\d+)?)$/.exec(t.textContent.trim())])
    .filter(([t, m]) => m)
    .map(([t, m]) => { const r = t.getBoundingClientRect();
                       return [60 * Number(m[1]) + Number(m[2]), r.left + r.width / 2]; })"""


def test_playhead_follows_playback(views: dict[str, ReviewPage]) -> None:
    page = ready(views["voila"])
    page.locator("[data-wb=timeline]").scroll_into_view_if_needed()
    ticks = np.array(page.evaluate(AXIS))  # (seconds, screen x) of the x axis labels, as drawn
    assert len(ticks) >= 5 and ticks[:, 0].max() >= 50, ticks
    ticks = ticks[1:-1]  # Vega draws the first and last labels flush with the ends, not centred on the tick
    slope, intercept = np.polyfit(ticks[:, 0], ticks[:, 1], 1)
    assert np.abs(intercept + slope * ticks[:, 0] - ticks[:, 1]).max() < 1.5  # a linear axis

    def where(seconds: float) -> float:
        return float(intercept + slope * seconds)

    seek_in_browser(page, 10_000)
    t0 = time.monotonic()
    head = wait_until(lambda: (h := page.evaluate(PLAYHEAD)) and abs(h["s"] - h["video"]) < 0.002 and h, 5,
                      "the playhead at the seeked time")  # fmt: skip
    follow_ms = 1000 * (time.monotonic() - t0)
    assert abs(head["px"] - where(head["s"])) < 2, (head, where(head["s"]))

    page.locator('[data-wb="play"]').click()
    page.wait_for_function(f"!{VIDEO}.paused && {VIDEO}.currentTime > 10.3")
    samples = []
    for _ in range(6):
        time.sleep(0.25)
        samples.append(page.evaluate(PLAYHEAD))
    page.locator('[data-wb="play"]').click()
    page.wait_for_function(f"{VIDEO}.paused")
    xs = [s["px"] for s in samples]
    assert all(b >= a for a, b in itertools.pairwise(xs)) and xs[-1] - xs[0] > 0.8 * slope, xs
    assert all(0 <= s["video"] - s["s"] < 1.0 for s in samples), samples  # the rule trails the video a little
    for s in samples:
        assert abs(s["px"] - where(s["s"])) < 2, s

    # paused: the rule settles exactly where the video stopped
    end = wait_until(lambda: (h := page.evaluate(PLAYHEAD)) and abs(h["s"] - h["video"]) < 0.002 and h, 5,
                     "the playhead at the paused time")  # fmt: skip
    assert abs(end["px"] - where(end["video"])) < 2
    lag = statistics.median(1000 * (s["video"] - s["s"]) for s in samples)
    print(f"\nplayhead: follows a seek in {follow_ms:.0f} ms (polled); trails playback by {lag:.0f} ms (median);"
          f" moved {xs[-1] - xs[0]:.0f} px in 1.5 s at {slope:.1f} px/s")  # fmt: skip
    shoot(page, "voila-micro", full_page=True)


DOTS = """() => [...document.querySelectorAll('[data-wb=timeline] .mark-symbol.role-mark path')]
    .filter(p => p.__data__ && p.__data__.datum && p.__data__.datum.at !== undefined)
    .map(p => { const r = p.getBoundingClientRect(); return [p.__data__.datum.at, r.left + r.width / 2,
                                                             r.top + r.height / 2]; })"""


def test_brushing_the_overview_zooms_the_timeline(views: dict[str, ReviewPage]) -> None:
    page = ready(views["voila"])
    page.locator("[data-wb=timeline]").scroll_into_view_if_needed()
    dots = np.array(page.evaluate(DOTS))  # the overview strip: (time s, screen x, screen y) of its dots
    # a dot per lane and 0.1 s slot of the 60 s film: one per annotation but where two share a slot
    assert 0.9 * page.locator('[data-wb="annotation-row"]').count() <= len(dots)
    slope, intercept = np.polyfit(dots[:, 0], dots[:, 1], 1)
    y = float(np.median(dots[:, 2]))
    labels = lambda: sorted(t for t, _ in page.evaluate(AXIS))  # noqa: E731 - the timeline's axis labels (s)
    assert labels()[0] == 0 and labels()[-1] >= 55

    page.mouse.move(intercept + slope * 20, y)
    page.mouse.down()
    page.mouse.move(intercept + slope * 25, y, steps=5)
    page.mouse.move(intercept + slope * 30, y, steps=5)
    page.mouse.up()
    zoomed = wait_until(lambda: (ls := labels()) and ls[0] >= 19 and ls[-1] <= 31 and ls, 5,
                        "the timeline's axis within the brushed 20-30 s")  # fmt: skip
    assert len(zoomed) >= 4, zoomed
    shoot(page, "voila-brushed")

    page.mouse.click(intercept + slope * 50, y)  # a click on the strip clears the brush: all of it again
    wait_until(lambda: (ls := labels()) and ls[0] == 0 and ls[-1] >= 55, 5, "the whole recording again")


# -- (c) supervision mode -----------------------------------------------------------------------


def test_supervision_mode(views: dict[str, ReviewPage], store: Project) -> None:
    view = views["supervision"]
    page = ready(view)
    stored = rows_of(store, coder=None)
    shown = page.eval_on_selector_all(
        '[data-wb="annotation-row"]',
        "rs => rs.map(r => [Number(r.dataset.id), r.querySelector('[data-col=coder]').textContent,"
        " r.classList.contains('wb-disagree')])",
    )
    assert sorted(i for i, _, _ in shown) == sorted(r["id"] for r in stored)
    assert {c for _, c, _ in shown} == {CODER, SUPERVISOR}

    # what disagrees, by match_events here, on the store's rows
    sup, trainee = store.annotations(RECORDING, coder=SUPERVISOR), store.annotations(RECORDING, coder=CODER)
    matched = match_events(sup, trainee, tolerance_ms=1000)  # the review compares the two, sorted by name
    bad = matched[matched["status"] != "agree"]
    expected = {int(i) for i in bad["id_a"].dropna()} | {int(i) for i in bad["id_b"].dropna()}
    assert expected, "the demo's coders should disagree somewhere"
    assert {i for i, _, flagged in shown if flagged} == expected
    assert page.locator('tr.wb-disagree[data-wb="annotation-row"]').count() == len(expected)

    details = page.locator('details[data-wb="agreement"]')
    summary = details.locator("summary").inner_text()
    agree = int((matched["status"] == "agree").sum())
    assert re.search(rf"\b{agree} of {len(matched)} events agree", summary), (summary, agree, len(matched))
    details.locator("summary").click()  # open it (and for the screenshot)
    table = details.locator("table.wb-agreement tr").all_inner_texts()
    per_label = {cells[0]: cells[1:] for cells in (row.split("\t") for row in table[1:])}
    codes = set(sup.to_dataframe()["code"]) | set(trainee.to_dataframe()["code"])
    label = {c: store.scheme.code(c).label for c in codes}  # the table names codes by the scheme's labels
    assert set(per_label) == set(label.values())
    per_code = {code: per_label[label[code]] for code in codes}
    for code, (n_a, n_b, pct) in per_code.items():
        count_a = int((sup.to_dataframe()["code"] == code).sum())
        count_b = int((trainee.to_dataframe()["code"] == code).sum())
        agreed = int(((matched["status"] == "agree") & (matched["code_a"] == code)).sum())
        assert (int(n_a), int(n_b)) == (count_a, count_b), code
        assert pct.strip() == f"{2 * agreed / (count_a + count_b):.0%}", (code, pct)

    # a supervisor's comment with the status "revise" is stored with the video's time
    before = {c.id for c in store.comments(RECORDING)}
    seek_in_browser(page, 33_020)
    page.locator('[data-wb="comment-status"]').select_option("revise")
    box = page.locator('[data-wb="comment-input"]')
    box.fill("Look again at 33 s: was this initiative received?")
    box.press("Enter")
    new = wait_until(lambda: [c for c in store.comments(RECORDING) if c.id not in before], 10, "the comment")
    assert len(new) == 1
    c = new[0]
    assert (c.author, str(c.status)) == (SUPERVISOR, "revise")
    assert c.text == "Look again at 33 s: was this initiative received?"
    assert 33_000 <= c.time_ms < 33_000 + FRAME_MS
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "voila-supervision", full_page=True)


# -- (d) Notebook 7 --------------------------------------------------------------------------------


def test_notebook7_renders_the_review(views: dict[str, ReviewPage], store: Project) -> None:
    view = views["nb7"]
    page = ready(view)
    assert "/notebooks/" in page.url
    app = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).appName")
    assert app == "Jupyter Notebook" and page.locator(".jp-LabShell").count() == 0  # Notebook 7, not Lab
    recording = store.recording(RECORDING)
    assert page.evaluate(f"{VIDEO}.duration") == pytest.approx(recording.duration_ms / 1000, abs=0.05)
    ids = page.eval_on_selector_all('[data-wb="annotation-row"]', "rs => rs.map(r => Number(r.dataset.id))")
    assert sorted(ids) == sorted(r["id"] for r in rows_of(store))
    width = page.evaluate("document.querySelector('[data-wb=timeline] svg').getBoundingClientRect().width")
    assert width > 600  # the timeline has its width, not 0 px
    page.locator('[data-wb="player"]').scroll_into_view_if_needed()
    shoot(page, "notebook7")
    print(f"\nNotebook 7: review ready {view.load_s:.1f} s after opening the page (run from its UI)")


# -- (f) a video the browser cannot play, and its H.264 copy -------------------------------------


def test_unplayable_video_then_transcode(
    views: dict[str, ReviewPage], old_camera: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = views["lab"]
    page = ready(view, video=False)
    message = page.locator('[data-wb="player-message"]')
    # Chromium either refuses the file (MEDIA_ERR_SRC_NOT_SUPPORTED) or, as here with its AAC track,
    # plays the sound alone: no picture (videoWidth 0)
    state = page.wait_for_function(
        "(v => (v.error !== null || (v.readyState >= 1 && v.videoWidth === 0)) && "
        "{error: v.error && v.error.code, width: v.videoWidth})(" + VIDEO + ")",
        timeout=20_000,
    ).json_value()
    assert state["error"] == 4 or state["width"] == 0, state
    text = message.inner_text()
    assert message.is_visible() and "(mpeg4)" in text and text.count("review.transcode()") == 1, text
    assert page.locator('[data-wb="annotation-row"]').count() == 2
    shoot(page, "lab-unplayable")

    before = page.evaluate(f"{VIDEO}.currentSrc")
    run_cell(page, view.server, "old_camera.ipynb", 1)  # copy = review.transcode()
    page.wait_for_function(f"{VIDEO}.currentSrc !== {json.dumps(before)}", timeout=60_000)
    page.wait_for_function(f"{VIDEO}.readyState >= 1 && {VIDEO}.error === null", timeout=20_000)
    assert page.evaluate(f"{VIDEO}.duration") == pytest.approx(2.0, abs=0.1)
    assert page.evaluate(f"[{VIDEO}.videoWidth, {VIDEO}.videoHeight]") == [320, 240]  # a picture now
    page.wait_for_function("getComputedStyle(document.querySelector('[data-wb=player-message]')).display === 'none'")

    with workbench.open_project(old_camera) as p:
        recordings = {r.id: r for r in p.recordings()}
        copy = next(r for r in recordings.values() if r.id != 1)
        assert (copy.codec, copy.label, copy.session_id) == ("h264", "old camera (H.264)", recordings[1].session_id)
        # the browser plays exactly the copy's bytes
        served = page.request.get(page.evaluate(f"{VIDEO}.currentSrc"))
        assert served.status == 200
        assert hashlib.sha256(served.body()).hexdigest() == copy.sha256
        assert sorted(f.name for f in (old_camera / "media").iterdir()) == sorted(
            Path(r.path).name for r in recordings.values()
        )  # nothing left over from transcoding
        # coding goes on against the original recording, whose rows the table still shows
        assert page.locator('[data-wb="annotation-row"]').count() == 2
        page.locator('[data-wb="player"] video').click()
        page.keyboard.press("1")
        new = wait_until(lambda: [r for r in p.annotations().to_dataframe().to_dict("records") if r["id"] > 2],
                         10, "the new annotation")  # fmt: skip
        assert [(r["recording_id"], r["code"]) for r in new] == [(1, "initiative-verbal")]
        page.wait_for_function("document.querySelectorAll('[data-wb=\"annotation-row\"]').length === 3")

    # a later review of the original plays the copy at once (Python side, no browser)
    monkeypatch.setenv("WORKBENCH_MEDIA_REGISTRY", str(view.server.registry))
    from workbench.ui import Review

    with workbench.open_project(old_camera) as p:
        later = Review(p, 1, coder=CODER)
        assert later.recording.id == 1 and later.playback_recording().id == copy.id
        assert later.player.message == ""
        assert len(later.table.rows) == 3
    page.locator('[data-wb="player"]').scroll_into_view_if_needed()
    shoot(page, "lab-transcoded")


# -- (e) no errors from our code in any view -------------------------------------------------------

def ours(error: str) -> bool:
    """Whether an error comes from our widgets: a frame in an ES module loaded from a ``blob:`` URL (anywidget
    loads every module of ours so: the player, the table, the notes and the chart, with its Vega bundle), Vega's
    logger (its errors start with "ERROR"), or a message naming our code. Jupyter's, Voilà's and CDN failures
    are not ours."""
    first = error.splitlines()[0] if error else ""
    if "blob:" in error or first.startswith(("console.error: ERROR", "ERROR")):
        return True
    return bool(re.search(r"wb-|data-wb|workbench", first))


def test_no_console_errors_from_our_code(views: dict[str, ReviewPage]) -> None:
    # the filter itself: an error thrown in our module is ours; upstream noise is not
    assert ours("TypeError: x is undefined\n    at draw (blob:http://127.0.0.1:8888/3f2a-77:120:15)")
    assert not ours("console.error: Failed to load resource: net::ERR_NAME_NOT_RESOLVED\n"
                    "    at (https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@%5E5/css/all.min.css:0:0)")
    assert ours("console.error: ERROR TypeError: Cannot read properties of undefined (reading '0')\n"
                "    at (blob:http://127.0.0.1:8888/0d1e:3:508780)")  # Vega's logger, in the chart's bundle
    for name in ("voila", "supervision", "nb7"):
        ready(views[name])
    ready(views["lab"], video=False)
    report = {name: [e for e in view.errors if ours(e)] for name, view in views.items()}
    noise = sorted({f"{name}: {e.splitlines()[0][:110]}" for name, v in views.items() for e in v.errors if not ours(e)})
    print(f"\nnot ours (Jupyter, Voilà, CDNs): {len(noise)} distinct\n  " + "\n  ".join(noise))
    assert report == {name: [] for name in views}, json.dumps(report, indent=1)

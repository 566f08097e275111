"""The review workbench in a real browser: latencies, the 5,000-annotation stress case, memory while playing.

Starts its own JupyterLab server (with Voilà and the media route, as the browser tests do) and headless
Debian Chromium, builds the demo project and a large project (a generated 30-minute recording, 160x90 at
5 fps, H.264 ultrafast, with 5,000 annotations by two coders), and prints medians of:

- row click -> video seeked (demo, Voilà);
- coding key released -> the new row visible in the table (and its bar on the timeline);
- page load -> all three parts rendered (video metadata, table rows, every timeline bar drawn);
- large project: review displayed -> timeline marks drawn (all 5,000), table scroll -> painted,
  row click -> seeked, key -> row visible with 5,000 rows; the Python side of a full reload (time and the
  size of all the rows; one edit sends only what changed: see ``bench_review_edits.py``);
- JavaScript heap before/after playing the 30-minute recording at 2x (``--play-s`` seconds of wall time,
  300 by default = 10 minutes of video), after a forced garbage collection, from CDP
  ``Performance.getMetrics``.

Targets: seek < 150 ms, key-to-row < 250 ms, 5,000-annotation timeline < 1.5 s.

    python benchmarks/bench_browser.py [--tries 20] [--load-tries 20] [--big-tries 5] [--play-s 300]

With the defaults it takes about 20 minutes on two cores (5 of them playing); ``--load-tries 3
--big-tries 1 --play-s 0`` gives a quick look in about 3.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fixtures.browser import (  # noqa: E402
    BARS,
    CHROMIUM_ARGS,
    VIDEO,
    chromium_path,
    code_notebook,
    launch_server,
    seek_in_browser,
    stop_server,
    wait_for_server,
)

BIG_MINUTES = 30
BIG_ANNOTATIONS = 5000
TARGETS = {"seek": 150.0, "key": 250.0, "timeline": 1500.0}

# Records, from navigation start (performance.now()), when each part of the review first shows:
# the review's box, the first table row, the video's metadata, and every timeline bar (window.__wbExpect).
PROBE = (
    """
(() => {
  const R = (window.__wbT = {});
  const poll = () => {
    const t = performance.now();
    if (!R.review && document.querySelector('.wb-review')) R.review = t;
    if (!R.rows && document.querySelector('[data-wb=annotation-row]')) R.rows = t;
    const v = document.querySelector('[data-wb=player] video');
    if (!R.video && v && v.readyState >= 1) R.video = t;
    if (!R.chart && R.review) {
      const n = """
    + BARS
    + """.length;
      if (n > 0 && n >= (window.__wbExpect || 1)) R.chart = t;
    }
    if (!(R.review && R.rows && R.video && R.chart)) requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""
)


def median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def summary(name: str, xs: list[float], target: float | None = None) -> str:
    if not xs:
        return f"{name:<52} (no data)"
    verdict = ""
    if target is not None:
        verdict = f"  target < {target:.0f} ms: {'met' if median(xs) < target else 'MISSED'}"
    return (
        f"{name:<52} median {median(xs):7.0f} ms  (min {min(xs):.0f}, max {max(xs):.0f}, n={len(xs)}){verdict}"
    )


# -- projects ------------------------------------------------------------------------------------


def build_big_project(folder: Path, rng: np.random.Generator) -> tuple[Path, int]:
    """A project with one 30-minute recording (160x90, 5 fps, H.264 ultrafast, no audio) and 5,000
    annotations: 2,500 each by ``"trainee"`` and ``"supervisor"``, actors parent/child, codes drawn from
    the default scheme, a third of them point events, the rest states of 0.3-4 s. Returns (folder, n)."""
    import pandas as pd

    import workbench
    from workbench.media.synth import write_numbered_video

    folder.mkdir(parents=True)
    video = write_numbered_video(
        folder.parent / "big.mp4", seconds=BIG_MINUTES * 60, fps=5, size=(160, 90), codec="h264",
        audio=False, preset="ultrafast", keyframe_interval_s=2.0,
    )  # fmt: skip
    project = workbench.open_project(folder, create=True, coder="trainee")
    case = project.add_case("Big")
    for label in ("parent", "child"):
        project.add_participant(case, label, label)
    session = project.add_session(case, "filming", "2026-01-15")
    rec = project.add_recording(session, video, label="30 minutes")
    codes = [c.key for c in project.scheme.codes]
    n = BIG_ANNOTATIONS
    duration = rec.duration_ms
    onset = rng.integers(0, duration - 5000, n)
    length = np.where(rng.random(n) < 1 / 3, 0, rng.integers(300, 4000, n))
    table = pd.DataFrame(
        {
            "actor": rng.choice(["parent", "child"], n),
            "code": rng.choice(codes, n),
            "onset_ms": onset,
            "offset_ms": onset + length,
            "coder": ["trainee", "supervisor"] * (n // 2),
            "note": "",
        }
    )
    project.add_annotations(rec, table)
    count = len(project.annotations(rec))
    project.close()
    video.unlink()
    return folder, count


def python_side(folder: Path) -> list[str]:
    """Time Review construction and refresh on the large project in this process; sizes of what is sent."""
    import workbench
    from workbench.ui import Review

    project = workbench.open_project(folder, coder="supervisor")
    out = []
    t0 = time.perf_counter()
    review = Review(project, 1, mode="supervision", coder="supervisor")
    out.append(f"Python: Review(5,000 annotations, supervision)     {1000 * (time.perf_counter() - t0):7.0f} ms")
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        review.refresh()
        times.append(1000 * (time.perf_counter() - t0))
    # one edit no longer reloads anything: benchmarks/bench_review_edits.py measures what it costs
    out.append(f"Python: refresh() (a full reload from the store)    median {median(times):7.0f} ms")
    rows = len(json.dumps(review.table.rows))
    data = len(json.dumps(review.timeline.datasets))
    esm = len(review.timeline._vega) + len(str(review.timeline._esm))
    out.append(
        f"Python: all rows: table {rows / 1e6:.2f} MB, timeline {data / 1e6:.2f} MB (sent once, then changes); "
        f"chart widget JavaScript (once) {esm / 1e6:.2f} MB"
    )
    review.close()
    project.close()
    return out


# -- the browser -----------------------------------------------------------------------------------


def open_review(browser: Any, url: str, expect_bars: int, timeout_s: float = 240) -> tuple[Any, Any, dict[str, float]]:
    """Open a Voilà page; wait until the review's three parts are rendered; return (context, page, times)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.add_init_script(f"window.__wbExpect = {int(expect_bars)};" + PROBE)
    page.goto(url, timeout=timeout_s * 1000, wait_until="commit")
    page.wait_for_function(
        "window.__wbT && window.__wbT.review && window.__wbT.rows && window.__wbT.video && window.__wbT.chart",
        timeout=timeout_s * 1000,
        polling=100,
    )
    return context, page, page.evaluate("window.__wbT")




def row_click_latencies(page: Any, n: int, rng: np.random.Generator, scroll: bool = False) -> dict[str, list[float]]:
    """Click n rows (scrolled into view first when ``scroll``); ms from click to the video's seeked event."""
    ids = page.eval_on_selector_all('[data-wb="annotation-row"]', "rs => rs.map(r => r.dataset.id)")
    seek, paint = [], []
    for k in range(n):
        pick = ids[int(rng.integers(0, len(ids)))]
        if scroll:
            # scroll the table to the row (a user's wheel/drag), then time the next painted frame
            paint.append(
                page.evaluate(
                    """id => new Promise(resolve => {
                        const tr = document.querySelector(`[data-wb=annotation-row][data-id='${id}']`);
                        const box = tr.closest('.wb-table-scroll');
                        const t0 = performance.now();
                        box.scrollTop = tr.offsetTop - box.clientHeight / 2;
                        requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
                    })""",
                    pick,
                )
            )
        cell = page.locator(f'[data-wb="annotation-row"][data-id="{pick}"] td[data-col="onset_ms"]')
        target = _ms(str(cell.get_attribute("title")))  # the onset as the table shows it, mm:ss.mmm
        if abs(page.evaluate(f"{VIDEO}.currentTime * 1000") - target) < 50:
            seek_in_browser(page, 0 if target > 1000 else 3000)  # the click must move the video
        page.evaluate(
            f"""() => {{
                window.__wbSeek = {{}};
                document.addEventListener('click', () => (window.__wbSeek.click = performance.now()),
                                          {{capture: true, once: true}});
                {VIDEO}.addEventListener('seeked', () => (window.__wbSeek.seeked = performance.now()), {{once: true}});
            }}"""
        )
        cell.click()
        page.wait_for_function("window.__wbSeek.seeked !== undefined", polling=20)
        seek.append(page.evaluate("window.__wbSeek.seeked - window.__wbSeek.click"))
        time.sleep(0.1 + 0.05 * (k % 3))
    return {"seek": seek, "paint": paint}


def _ms(text: str) -> int:
    m, s = text.split(":")
    return int(m) * 60_000 + round(float(s) * 1000)


def key_latencies(page: Any, n: int, times_ms: list[int], key: str = "1") -> dict[str, list[float]]:
    """Press a coding key n times at the given video times; ms from key-up to the new row / new bar."""
    row, bar = [], []
    for k in range(n):
        seek_in_browser(page, times_ms[k])
        page.locator('[data-wb="player"] video').click()
        page.evaluate(
            """() => {
                const bars = () => """
            + BARS
            + """;
                const R = (window.__wbKey = {});
                document.addEventListener('keyup', () => (R.up = performance.now()), {capture: true, once: true});
                const body = document.querySelector('[data-wb="annotation-table"] tbody');
                const seen = new Set([...body.querySelectorAll('[data-wb=annotation-row]')].map(r => r.dataset.id));
                const obs = new MutationObserver(() => {
                    for (const tr of body.querySelectorAll('[data-wb="annotation-row"]')) {
                        if (!seen.has(tr.dataset.id)) {
                            R.row = performance.now();
                            R.id = Number(tr.dataset.id);
                            obs.disconnect();
                            const poll = () => {
                                for (const p of bars()) {
                                    if (p.__data__ && p.__data__.datum && p.__data__.datum.id === R.id) {
                                        R.bar = performance.now();
                                        return;
                                    }
                                }
                                requestAnimationFrame(poll);
                            };
                            poll();
                            return;
                        }
                    }
                });
                obs.observe(body, {childList: true});
            }"""
        )
        page.keyboard.press(key)
        page.wait_for_function("window.__wbKey.row !== undefined", polling=20)
        row.append(page.evaluate("window.__wbKey.row - window.__wbKey.up"))
        try:
            page.wait_for_function("window.__wbKey.bar !== undefined", polling=20, timeout=30_000)
            bar.append(page.evaluate("window.__wbKey.bar - window.__wbKey.up"))
        except Exception:  # the bar never showed (reported as missing data)
            pass
        time.sleep(0.4)  # beyond the double-tap window: every press is a new point event
    return {"row": row, "bar": bar}


def heap(cdp: Any) -> dict[str, float]:
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {k: metrics.get(k, float("nan")) for k in ("JSHeapUsedSize", "JSHeapTotalSize", "Nodes", "JSEventListeners")}


def memory_while_playing(context: Any, page: Any, play_s: float) -> list[str]:
    """Play the 30-minute recording at 2x for ``play_s`` s of wall time; heap and DOM before and after."""
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    cdp.send("HeapProfiler.enable")
    seek_in_browser(page, 0)
    before = heap(cdp)
    page.locator('[data-wb="rate"]').select_option("2")
    page.locator('[data-wb="play"]').click()
    page.wait_for_function(f"!{VIDEO}.paused")
    start_video = page.evaluate(f"{VIDEO}.currentTime")
    t0 = time.monotonic()
    samples = []
    while time.monotonic() - t0 < play_s:
        time.sleep(min(30.0, max(0.0, play_s - (time.monotonic() - t0))))
        samples.append(page.evaluate(f"[{VIDEO}.currentTime, performance.memory?.usedJSHeapSize ?? 0]"))
    wall = time.monotonic() - t0
    page.locator('[data-wb="play"]').click()
    page.wait_for_function(f"{VIDEO}.paused")
    played = page.evaluate(f"{VIDEO}.currentTime") - start_video
    after = heap(cdp)
    mb = 1 / 2**20
    return [
        f"playback: {wall:.0f} s of wall time at 2x -> {played:.0f} s of video played "
        f"({played / wall:.2f}x real time)",
        f"JS heap used (after GC): before {before['JSHeapUsedSize'] * mb:.1f} MB, after "
        f"{after['JSHeapUsedSize'] * mb:.1f} MB ({(after['JSHeapUsedSize'] - before['JSHeapUsedSize']) * mb:+.1f} MB)",
        f"DOM nodes {before['Nodes']:.0f} -> {after['Nodes']:.0f}; "
        f"JS event listeners {before['JSEventListeners']:.0f} -> {after['JSEventListeners']:.0f}",
        "heap samples while playing (video s, MB, before GC): "
        + ", ".join(f"{t:.0f}s {h * mb:.0f}" for t, h in samples),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=20, help="clicks and key presses per measure")
    parser.add_argument("--load-tries", type=int, default=20, help="page loads of the demo review")
    parser.add_argument("--big-tries", type=int, default=5, help="page loads of the 5,000-annotation review")
    parser.add_argument("--play-s", type=float, default=300, help="wall seconds of 2x playback (0: skip)")
    args = parser.parse_args()

    exe = chromium_path()
    if exe is None:
        print("no Chromium (set WORKBENCH_CHROMIUM); skipped")
        return
    from playwright.sync_api import sync_playwright

    from workbench.demo import build_demo

    rng = np.random.default_rng(20261126)
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wb-bench-browser-") as tmp:
        base = Path(tmp)
        (base / "server").mkdir()
        server = launch_server(base / "server")
        try:
            t0 = time.perf_counter()
            demo = base / "demo-project"
            big_result: dict[str, Any] = {}

            def build_big() -> None:
                big_result["value"] = build_big_project(base / "big-project", np.random.default_rng(7))

            builder = threading.Thread(target=build_big)
            builder.start()
            build_demo(demo).close()
            builder.join()
            big, n_big = big_result["value"]
            print(f"projects built in {time.perf_counter() - t0:.0f} s ({n_big} annotations in the large one)",
                  flush=True)  # fmt: skip
            os.environ["WORKBENCH_MEDIA_REGISTRY"] = str(server.registry)  # for python_side's Review
            lines += python_side(big)
            print("\n".join(lines), flush=True)
            for name, folder, extra in (
                ("demo.ipynb", demo, ""),
                ("big.ipynb", big, ", mode='supervision', coder='supervisor'"),
            ):
                (server.root / name).write_text(
                    json.dumps(
                        code_notebook(
                            "import workbench\nfrom workbench.ui import Review\n"
                            f"project = workbench.open_project({str(folder)!r}, coder='trainee')\n"
                            f"review = Review(project, 1{extra})\nreview"
                        )
                    ),
                    encoding="utf-8",
                )
            wait_for_server(server)
            import workbench

            with workbench.open_project(demo) as p:
                n_demo = len(p.annotations(1, coder="trainee"))

            def url(name: str) -> str:
                return f"{server.url}voila/render/{name}?token={server.token}"

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
                # 1. page load -> three parts rendered (demo)
                loads, context, page = [], None, None
                for k in range(args.load_tries):
                    if context is not None:
                        context.close()
                    context, page, t = open_review(browser, url("demo.ipynb"), n_demo + 0)
                    loads.append(max(t["rows"], t["video"], t["chart"]))
                    print(f"  load {k + 1}: {loads[-1]:.0f} ms {t}", flush=True)
                # 2. row click -> seeked; 3. key -> row
                clicks = row_click_latencies(page, args.tries, rng)
                keys = key_latencies(page, args.tries, [2000 + 2500 * k for k in range(args.tries)])
                context.close()
                lines += [
                    summary("demo: row click -> video seeked", clicks["seek"], TARGETS["seek"]),
                    summary("demo: key up -> new row visible", keys["row"], TARGETS["key"]),
                    summary("demo: key up -> new bar on the timeline", keys["bar"]),
                    summary("demo: page load -> all three parts rendered", loads),
                ]
                print("\n".join(lines[-4:]), flush=True)

                # 4. the large project
                renders, totals = [], []
                for k in range(args.big_tries):
                    if k:
                        context.close()
                    context, page, t = open_review(browser, url("big.ipynb"), n_big, timeout_s=600)
                    renders.append(t["chart"] - t["review"])
                    totals.append(max(t["rows"], t["video"], t["chart"]))
                    print(f"  big load {k + 1}: {t}", flush=True)
                lines.append(summary("5,000: review shown -> all timeline marks drawn", renders, TARGETS["timeline"]))
                lines.append(summary("5,000: page load -> all three parts rendered", totals))
                big_clicks = row_click_latencies(page, args.tries, rng, scroll=True)
                lines.append(summary("5,000: table scroll -> painted", big_clicks["paint"]))
                lines.append(summary("5,000: row click -> video seeked", big_clicks["seek"], TARGETS["seek"]))
                n_keys = max(5, args.tries // 2)
                big_keys = key_latencies(page, n_keys, [60_000 * (k + 1) + 777 for k in range(n_keys)])
                lines.append(summary("5,000: key up -> new row visible", big_keys["row"], TARGETS["key"]))
                lines.append(summary("5,000: key up -> new bar on the timeline", big_keys["bar"]))
                print("\n".join(lines[-6:]), flush=True)
                if args.play_s > 0:
                    lines += memory_while_playing(context, page, args.play_s)
                context.close()
                browser.close()
        finally:
            stop_server(server)
    print("\n== results")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

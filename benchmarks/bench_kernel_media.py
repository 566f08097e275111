"""How long the video takes to be ready when it comes through the kernel (standalone Voilà) vs the media route.

Builds a project with one generated recording of ``--mb`` MiB (720p noise, lossless H.264, so the size
comes quickly), then opens the same review notebook in headless Chromium twice over:

- **route**: JupyterLab's server with Voilà and our media route (the browser reads the file's index
  with HTTP Range requests and starts at once);
- **kernel**: standalone ``voila`` (no server extensions): the player's HEAD probe is refused and the
  kernel sends the whole file over the widget connection in 4 MiB chunks.

For each it prints the median over ``--tries`` page loads of the time from the first table row to the
video's metadata (``readyState >= 1``): the part of the page load that is the video's own. The ratio
kernel / route is the cost of the fallback; MiB/s is the kernel path's throughput.

    python benchmarks/bench_kernel_media.py [--mb 100] [--tries 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fixtures.browser import (  # noqa: E402
    CHROMIUM_ARGS,
    VIDEO,
    _free_port,
    chromium_path,
    code_notebook,
    launch_server,
    stop_server,
    wait_for_server,
)


def noise_film(path: Path, mib: float) -> Path:
    """A 1280x720 25 fps lossless H.264 film of random noise, about ``mib`` MiB."""
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "0"}
        i = 0
        while True:
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
            i += 1
            if i % 10 == 0 and path.stat().st_size > mib * 2**20:
                break
        for packet in stream.encode():
            out.mux(packet)
    return path


def measure(page: Any, url: str) -> float:
    """Seconds from the first table row to the video's metadata, for one fresh load of ``url``."""
    page.goto(url, timeout=300_000)
    page.wait_for_selector("[data-wb=annotation-row]", timeout=300_000)
    row_at = time.perf_counter()
    page.wait_for_function(f"{VIDEO} && {VIDEO}.readyState >= 1", timeout=300_000, polling=20)
    return time.perf_counter() - row_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=100.0, help="size of the generated recording (MiB)")
    parser.add_argument("--tries", type=int, default=5, help="page loads per path")
    args = parser.parse_args()
    chromium = chromium_path()
    if chromium is None:
        sys.exit("bench_kernel_media: no Chromium (apt-get install chromium, or set WORKBENCH_CHROMIUM)")

    from playwright.sync_api import sync_playwright

    import workbench

    base = Path(tempfile.mkdtemp(prefix="wb-bench-kmedia-"))
    film = noise_film(base / "noise.mp4", args.mb)
    folder = base / "project"
    with workbench.open_project(folder, create=True, coder="trainee") as p:
        case = p.add_case("Rowan")
        p.add_participant(case, "parent", "parent")
        p.add_participant(case, "child", "child")
        rec = p.add_recording(p.add_session(case, "filming", "2026-01-05"), film)
        p.add_annotation(rec, "child", "initiative-verbal", 200)
        size = p.media_path(rec).stat().st_size
    notebook = code_notebook(
        "import workbench\nfrom workbench.ui import Review\n"
        f"Review(workbench.open_project({str(folder)!r}, coder='trainee'), 1)"
    )

    (base / "lab").mkdir()
    server = launch_server(base / "lab")
    (server.root / "bench.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    voila_nb = base / "standalone.ipynb"
    voila_nb.write_text(json.dumps(notebook), encoding="utf-8")
    port, token = _free_port(), "wb-bench"
    env = {**os.environ, "WORKBENCH_MEDIA_REGISTRY": str(base / "registry-voila"), "JUPYTER_PLATFORM_DIRS": "1"}
    voila = subprocess.Popen(
        [sys.executable, "-m", "voila", str(voila_nb), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         f"--token={token}"],
        cwd=base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_server(server)
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/static/", timeout=2)
            except urllib.error.HTTPError:
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    sys.exit("bench_kernel_media: voila did not start")
                time.sleep(0.3)
                continue
            break
        urls = {
            "route": f"{server.url}voila/render/bench.ipynb?token={server.token}",
            "kernel": f"http://127.0.0.1:{port}/?token={token}",
        }
        times: dict[str, list[float]] = {name: [] for name in urls}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for _ in range(args.tries):
                for name, url in urls.items():
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    times[name].append(measure(context.new_page(), url))
                    context.close()
            browser.close()
    finally:
        voila.terminate()
        voila.wait(timeout=15)
        stop_server(server)
    route, kernel = (statistics.median(times[n]) for n in ("route", "kernel"))
    print(f"recording: {size / 2**20:.1f} MiB; medians of {args.tries} page loads, first row -> video metadata")
    print(f"  media route (JupyterLab server):   {route * 1000:8.0f} ms")
    print(f"  through the kernel (standalone):   {kernel * 1000:8.0f} ms  "
          f"({size / 2**20 / kernel:.0f} MiB/s; {kernel / route:.1f}x the route)")  # fmt: skip


if __name__ == "__main__":
    main()

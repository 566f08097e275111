"""``WORKBENCH_PROJECT=DIR voila notebooks/review.ipynb``: the review served as an app by standalone Voilà.

Standalone Voilà loads no Jupyter server extension, so our media route is not there and its catch-all
route answers every unknown path by rendering the notebook again (a GET would start a second kernel).
The player then probes the route with HEAD and, refused, fetches the recording through the kernel.
These tests drive the shipped notebook itself in headless Chromium against a real ``voila`` process, started
three times: on a copy of the demo as the default coder (the supervisor, who sees both codings) and as the
trainee (the case's guider, who sees their own), and on a project with a case but no film.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import workbench
from tests.fixtures.browser import TIMELINE_READY, VIDEO, _free_port, docs_shot, shoot, wait_until
from tests.test_browser_more import ours

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "review.ipynb"
LOAD_TIMEOUT_MS = 180_000


@dataclass
class VoilaApp:
    url: str
    token: str
    project: Path
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class AppPage:
    page: Any  # playwright.sync_api.Page
    errors: list[str] = field(default_factory=list)  # the page's uncaught exceptions from our widgets
    media_requests: list[tuple[str, str]] = field(default_factory=list)  # (method, url) sent to the media route


def launch_voila(base: Path, project: Path, **env_extra: str) -> VoilaApp:
    """Start ``voila notebooks/review.ipynb`` on 127.0.0.1 with ``WORKBENCH_PROJECT=project`` (and ``env_extra``;
    ``WORKBENCH_CODER`` unset unless given) and its Jupyter folders in ``base``; wait until it answers."""
    dirs = {name: base / name for name in ("runtime", "config", "data", "registry")}
    for folder in dirs.values():
        folder.mkdir(mode=0o700)
    env = {
        **os.environ,
        "WORKBENCH_PROJECT": str(project),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "WORKBENCH_MEDIA_REGISTRY": str(dirs["registry"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("WORKBENCH_CODER", None)
    env.update(env_extra)
    port, token = _free_port(), "wb-voila-app-token"
    cmd = [sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           f"--token={token}", "--VoilaConfiguration.show_tracebacks=True"]  # fmt: skip
    log = base / "voila.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=NOTEBOOK.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    app = VoilaApp(f"http://127.0.0.1:{port}/", token, project, log, proc)
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            stop_voila(app)
            pytest.fail(f"Expected voila to start, but it exited:\n{app.log_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"{app.url}voila/static/", timeout=2)
        except urllib.error.HTTPError:
            break  # it answers
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                stop_voila(app)
                pytest.fail(f"Expected voila within 90 s:\n{app.log_text()[-3000:]}")
            time.sleep(0.3)
            continue
        break
    return app


def stop_voila(app: VoilaApp) -> None:
    app.process.terminate()
    try:
        app.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait(timeout=5)


@pytest.fixture(scope="module")
def voila_app(
    chromium_executable: str, browser_demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VoilaApp]:
    """``voila notebooks/review.ipynb`` on 127.0.0.1 with ``WORKBENCH_PROJECT`` set to a copy of the demo."""
    base = tmp_path_factory.mktemp("voila-app")
    project = base / "project"
    shutil.copytree(browser_demo, project)  # this module adds annotations: keep the shared demo as it is
    app = launch_voila(base, project)
    try:
        yield app
    finally:
        stop_voila(app)


@pytest.fixture(scope="module")
def app_page(chromium: Any, voila_app: VoilaApp) -> Iterator[AppPage]:
    """The app's page, loaded until the video has its metadata and every row has its bar."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    app = AppPage(context.new_page())

    def on_error(exc: Any) -> None:
        error = f"{exc.name}: {exc.message}\n{exc.stack}"
        if ours(error):  # not Voilà's or anywidget's own (its 2 s initialisation timeout on a busy machine)
            app.errors.append(error)

    app.page.on("pageerror", on_error)

    def on_request(request: Any) -> None:
        if "/workbench/media/" in request.url:
            app.media_requests.append((request.method, request.url))

    app.page.on("request", on_request)
    page = app.page
    page.goto(f"{voila_app.url}?token={voila_app.token}", timeout=LOAD_TIMEOUT_MS)
    try:
        page.wait_for_selector("[data-wb=annotation-row]", timeout=LOAD_TIMEOUT_MS)
        page.wait_for_function(f"{VIDEO} && {VIDEO}.readyState >= 1", timeout=LOAD_TIMEOUT_MS)
        page.wait_for_function(TIMELINE_READY, timeout=LOAD_TIMEOUT_MS)
    except Exception as exc:
        pytest.fail(f"Expected the review in standalone Voilà, but: {exc}\n{voila_app.log_text()[-3000:]}")
    try:
        yield app
    finally:
        context.close()


def test_the_app_plays_the_recording_through_the_kernel(app_page: AppPage, voila_app: VoilaApp) -> None:
    page = app_page.page
    video = page.evaluate(f"({{src: {VIDEO}.currentSrc, duration: {VIDEO}.duration}})")
    with workbench.open_project(voila_app.project) as p:
        recording = p.recordings()[0]  # the notebook reviews the first recording
    assert video["src"].startswith("blob:"), video
    assert video["duration"] == pytest.approx(recording.duration_ms / 1000, abs=0.1)
    # the route was only probed (HEAD), never fetched: a GET would have made Voilà start a second kernel
    assert app_page.media_requests and {m for m, _ in app_page.media_requests} == {"HEAD"}
    assert voila_app.log_text().count("Kernel started") == 1
    assert page.evaluate("document.querySelector('[data-wb=player-message]').textContent") == ""
    assert not app_page.errors, app_page.errors
    shoot(page, "voila-standalone")


def test_row_click_seeks_in_the_app(app_page: AppPage, voila_app: VoilaApp) -> None:
    page = app_page.page
    row = page.locator("[data-wb=annotation-row]").nth(8)
    with workbench.open_project(voila_app.project) as p:
        onset_s = p.annotation(int(row.get_attribute("data-id")))["onset_ms"] / 1000
    assert abs(page.evaluate(f"{VIDEO}.currentTime") - onset_s) > 0.5
    row.locator("td").first.click()
    wait_until(lambda: abs(page.evaluate(f"{VIDEO}.currentTime") - onset_s) < 0.05,
               timeout_s=10, what=f"the video at the clicked row's onset ({onset_s} s)")  # fmt: skip


def test_a_coding_key_in_the_app_is_stored(app_page: AppPage, voila_app: VoilaApp) -> None:
    page = app_page.page
    scheme = workbench.default_scheme()
    key, code = next(iter(scheme.shortcuts().items()))
    with workbench.open_project(voila_app.project) as p:
        recording = p.recordings()[0]
        before = len(p.annotations(recording, coder="supervisor"))
    rows_before = page.locator("[data-wb=annotation-row]").count()
    page.locator("[data-wb=player] video").click()
    page.keyboard.press(key)
    wait_until(lambda: page.locator("[data-wb=annotation-row]").count() == rows_before + 1,
               timeout_s=15, what="a new row for the key")  # fmt: skip
    with workbench.open_project(voila_app.project) as p:
        after = p.annotations(recording, coder="supervisor").to_dataframe()
    assert len(after) == before + 1
    assert code in set(after["code"])
    assert not app_page.errors, app_page.errors


# -- who sees what: the mode follows the coder; a project with nothing to review -------------------------


@pytest.fixture(scope="module")
def more_apps(
    chromium: Any, browser_demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[VoilaApp, AppPage]]]:
    """Two more apps, their pages opening at once: ``trainee``, the demo (a copy) with ``WORKBENCH_CODER=trainee``
    (the case's guider), and ``empty``, a new project with one case and no film."""
    base = tmp_path_factory.mktemp("voila-apps")
    demo = base / "demo"
    shutil.copytree(browser_demo, demo)
    empty = base / "empty"
    with workbench.open_project(empty, create=True) as p:
        p.add_case("Rowan", guider="trainee")
    apps: dict[str, VoilaApp] = {}
    opened: dict[str, tuple[VoilaApp, AppPage]] = {}
    try:
        for name, project, env in (("trainee", demo, {"WORKBENCH_CODER": "trainee"}), ("empty", empty, {})):
            (base / f"{name}-app").mkdir()
            apps[name] = launch_voila(base / f"{name}-app", project, **env)
        for name, app in apps.items():
            context = chromium.new_context(viewport={"width": 1366, "height": 768})
            context.set_default_timeout(30_000)
            view = AppPage(context.new_page())
            view.page.on("pageerror", lambda exc, errors=view.errors: errors.append(f"{exc.name}: {exc.message}"))
            view.page.goto(f"{app.url}?token={app.token}", timeout=LOAD_TIMEOUT_MS, wait_until="commit")
            opened[name] = (app, view)
        yield opened
    finally:
        for _, view in opened.values():
            view.page.context.close()
        for app in apps.values():
            stop_voila(app)


def shown_rows(page: Any) -> list[tuple[int, str | None]]:
    """(id, coder cell or None) of every row of the table."""
    return page.eval_on_selector_all(
        "[data-wb=annotation-row]",
        "rs => rs.map(r => [Number(r.dataset.id), r.querySelector('td[data-col=coder]')?.textContent ?? null])",
    )


def test_the_supervisor_sees_both_codings(app_page: AppPage, voila_app: VoilaApp) -> None:
    page = app_page.page  # WORKBENCH_CODER unset: the supervisor, who is not the case's guider
    with workbench.open_project(voila_app.project) as p:
        stored = p.annotations(p.recordings()[0]).to_dataframe()
    assert set(stored["coder"]) == {"trainee", "supervisor"}
    rows = shown_rows(page)
    assert sorted(i for i, _ in rows) == sorted(stored["id"])
    assert {coder for _, coder in rows} == {"trainee", "supervisor"}
    assert page.locator("th[data-key=disagree]").count() == 1 and page.locator("tr.wb-disagree").count() > 0


def test_the_trainee_sees_only_their_coding(more_apps: dict[str, tuple[VoilaApp, AppPage]]) -> None:
    app, view = more_apps["trainee"]
    page = view.page
    page.wait_for_selector("[data-wb=annotation-row]", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(TIMELINE_READY, timeout=LOAD_TIMEOUT_MS)
    with workbench.open_project(app.project) as p:
        trainee = p.annotations(p.recordings()[0], coder="trainee").to_dataframe()
    rows = shown_rows(page)
    assert sorted(i for i, _ in rows) == sorted(trainee["id"])
    assert {coder for _, coder in rows} == {None}  # no coder column
    assert page.locator("th[data-key=disagree], th[data-key=coder], tr.wb-disagree").count() == 0
    assert page.locator("[data-wb=filter-coder]").is_hidden()
    assert not [e for e in view.errors if ours(e)], view.errors


def test_an_empty_project_says_so_in_plain_words(more_apps: dict[str, tuple[VoilaApp, AppPage]]) -> None:
    _, view = more_apps["empty"]
    page = view.page
    message = page.locator("[data-wb=empty-project]")
    message.wait_for(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_load_state("load")  # every cell has run (Voilà streams the page while it runs them)
    assert "nothing to review" in message.inner_text()
    text = page.inner_text("body")
    for word in ("There was an error", "Traceback", "Error", "CodingScheme", "WORKBENCH_PROJECT", "./run demo"):
        assert word not in text, (word, text)
    assert not view.errors, view.errors
    docs_shot(page, "empty-project")

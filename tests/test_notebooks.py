"""The notebooks users open, executed end to end with nbclient against a freshly built demo project.

The demo project (three made-up cases, pre and post filmings coded by a trainee and a supervisor,
goals and measures; see :mod:`workbench.demo`) is built once for this module (~10-20 s). Each
notebook runs in its own ``python3`` kernel from ``notebooks/`` with ``WORKBENCH_PROJECT`` pointing
at it, as a user would run it (both at once, to halve the wait); no cell may fail, the key outputs
must be there, and the demo cases' real names must appear nowhere in the outputs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workbench.demo import DEMO_CASES, build_demo

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo project folder, built once for the module."""
    folder = tmp_path_factory.mktemp("notebooks") / "demo"
    build_demo(folder).close()
    yield folder


@pytest.fixture(scope="module")
def executed(demo_project: Path) -> dict[str, nbformat.NotebookNode]:
    """research.ipynb and review.ipynb, executed (errors kept in the outputs) against the demo project."""
    names = ("research.ipynb", "review.ipynb")
    notebooks = {name: nbformat.read(NOTEBOOKS / name, as_version=4) for name in names}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_PROJECT", str(demo_project))
        mp.delenv("WORKBENCH_CODER", raising=False)
        clients = [NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                                  resources={"metadata": {"path": str(NOTEBOOKS)}}) for nb in notebooks.values()]

        async def run_all() -> None:
            await asyncio.gather(*(client.async_execute() for client in clients))

        # in a thread of its own: Playwright's sync API (browser tests, same session) keeps an event
        # loop running in the main thread, where asyncio.run() would refuse to start
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, run_all()).result()
    return notebooks


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                found.append(f"cell {i}: {o.ename}: {o.evalue}\n{cell.source}")
            elif o.output_type == "stream" and o.name == "stderr" and "Traceback" in o.text:
                found.append(f"cell {i} (stderr): {o.text[-2000:]}")
    return found


def _text(nb: nbformat.NotebookNode) -> str:
    return json.dumps(_outputs(nb), ensure_ascii=False)


def _no_real_names(nb: nbformat.NotebookNode) -> None:
    text = _text(nb)
    for case in DEMO_CASES:
        for part in case.real_name.split():
            assert part not in text, f"the real name of case {case.pseudonym} appears in the outputs"


def test_research_notebook(executed: dict[str, nbformat.NotebookNode]) -> None:
    nb = executed["research.ipynb"]
    assert nb.metadata["kernelspec"]["name"] == "python3"  # else JupyterLab asks for a kernel first
    assert _errors(nb) == []
    outputs = _outputs(nb)
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) >= 4  # contingencies, pre/post slopes, effect sizes, goals: static, offline
    assert not any("cdn.jsdelivr" in json.dumps(o) for o in outputs)  # nothing loads from the internet
    text = _text(nb)
    for expected in ("child → parent", "p_attuned", "adjusted_residual", "Krippendorff", "rci", "favours",
                     "not assessed", "smallest reliable change", "d_z_ci_low", "g_av", "improvement", "days"):
        assert expected in text, expected
    for case in DEMO_CASES:
        assert case.pseudonym in text
    _no_real_names(nb)


def test_review_notebook(executed: dict[str, nbformat.NotebookNode]) -> None:
    nb = executed["review.ipynb"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert _errors(nb) == []
    outputs = _outputs(nb)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # the widget
    text = _text(nb)
    assert "PSI-SF" in text  # the measures table at the end
    _no_real_names(nb)

"""What a report notebook imports: ``from workbench.report import notebook as wr``.

:func:`open_report` turns the notebook's parameters into the report's data object
(:mod:`workbench.report.data`); the ``show_*`` helpers (:mod:`workbench.report.show`) display
tables, charts, stills, the cover and the sign-off so that they export well.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workbench.report.data import MicroAnalysis, ReportData, Research, Supervision, Verp
from workbench.report.show import (
    fmt_ms,
    show_chart,
    show_cover,
    show_html,
    show_note,
    show_signoff,
    show_stills,
    show_table,
)

__all__ = [
    "fmt_ms",
    "open_report",
    "project_location",
    "show_chart",
    "show_cover",
    "show_html",
    "show_markdown",
    "show_note",
    "show_signoff",
    "show_stills",
    "show_table",
]

_CLASSES: dict[str, type[ReportData]] = {
    "micro-analysis": MicroAnalysis,
    "supervision": Supervision,
    "verp": Verp,
    "research": Research,
}


def project_location(project: str = "") -> str:
    """The project to open: the parameter, else ``$WORKBENCH_PROJECT``, else ``demo-project`` beside
    the notebooks folder (what ``workbench demo`` builds)."""
    if project:
        return project
    env = os.environ.get("WORKBENCH_PROJECT", "").strip()
    if env:
        return env
    return str(Path.cwd().parent / "demo-project")


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def open_report(kind: str, project: str = "", **params: Any) -> Any:
    """Open the project and build the data object of a report kind from notebook parameters.

    Empty strings mean "not given". ``case`` is the case pseudonym (for ``"research"``, a
    comma-separated list; empty means all cases).

    Returns
    -------
    MicroAnalysis, Supervision, Verp or Research
    """
    import workbench
    from workbench.report.build import normalise_kind

    kind = normalise_kind(kind)
    store = workbench.open_project(project_location(project))
    args = {k: _blank_to_none(v) for k, v in params.items()}
    case = args.pop("case", None)
    if kind == "research":
        return Research(store, cases=case, **{k: v for k, v in args.items() if k != "session"})
    return _CLASSES[kind](store, case, **args)


def show_markdown(text: str) -> None:
    """Display Markdown text (rendered in JupyterLab and in the report)."""
    from IPython.display import Markdown, display

    display(Markdown(text))

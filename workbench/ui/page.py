"""The review as a page of an app: what ``notebooks/review.ipynb`` shows in JupyterLab and in Voilà.

:func:`review_page` opens the project and recording named by its arguments or the environment
(``WORKBENCH_PROJECT``, ``WORKBENCH_RECORDING``, ``WORKBENCH_CODER``) and shows the review; when
there is nothing to review - no project given, no project there, no film in it - it shows a page
that says so in plain words and what to do, instead of an error from a notebook cell.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as ipw

import workbench
from workbench.errors import WorkbenchError
from workbench.model import Recording

if TYPE_CHECKING:
    from workbench.ui.store_io import Project

__all__ = ["DEFAULT_CODER", "ReviewPage", "review_page"]

#: Who codes when neither the call nor ``WORKBENCH_CODER`` says.
DEFAULT_CODER = "supervisor"


@dataclass
class ReviewPage:
    """What :func:`review_page` found: the review, or the message shown instead (``review`` is None then)."""

    widget: ipw.Widget
    project: Project | None = None
    recording: Recording | None = None
    review: Any = None  # workbench.ui.Review

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _count(n: int, noun: str) -> str:
    return f"no {noun}s" if n == 0 else f"one {noun}" if n == 1 else f"{n} {noun}s"


#: The message's look, inline: no widget of ours (which brings the workbench's style sheet) is on such a page.
_MESSAGE_STYLE = (
    "font-family: system-ui, sans-serif; max-width: 46em; margin: 24px 0; padding: 14px 20px; "
    "border: 1px solid #cfd8dc; border-radius: 6px; background: #f7fafc; color: #222; font-size: 14px"
)


def _message(title: str, *lines: str, hook: str) -> ipw.HTML:
    body = "".join(f'<p style="margin: 6px 0">{line}</p>' for line in lines)
    return ipw.HTML(
        f'<div class="wb-message" data-wb="{hook}" style="{_MESSAGE_STYLE}">'
        f'<h3 style="margin: 0 0 8px 0">{html.escape(title)}</h3>{body}</div>'
    )


def review_page(
    project: str | os.PathLike[str] | Project | None = None,
    recording: int | None = None,
    *,
    coder: str | None = None,
    **review_options: Any,
) -> ReviewPage:
    """The review of a recording, or a page that says why there is none and what to do.

    Parameters
    ----------
    project : path, URL or Project, optional
        The project; default ``$WORKBENCH_PROJECT``.
    recording : int, optional
        The recording's id; default ``$WORKBENCH_RECORDING``, else the project's first recording.
    coder : str, optional
        Who codes; default ``$WORKBENCH_CODER``, else :data:`DEFAULT_CODER`. The review's mode follows
        the coder (see :class:`workbench.ui.Review`).
    **review_options
        Passed on to :class:`workbench.ui.Review` (``mode``, ``window_ms``, ``tolerance_ms``).

    Returns
    -------
    ReviewPage
        Display it (its widget is the review or the message).
    """
    from workbench.ui.controller import Review

    coder = coder or os.environ.get("WORKBENCH_CODER", "").strip() or DEFAULT_CODER
    where = project if project is not None else os.environ.get("WORKBENCH_PROJECT", "").strip()
    if not isinstance(where, str | os.PathLike):  # an open project
        opened = where
    else:
        if not where:
            return ReviewPage(
                _message(
                    "No project is open",
                    "This page shows the films of a project, but none was given.",
                    "Start it with <code>workbench voila PROJECT-FOLDER</code>, or <code>./run demo</code> for the "
                    "demo project.",
                    hook="no-project",
                )
            )
        name = html.escape(Path(str(where)).name or str(where))
        try:
            opened = workbench.open_project(where, coder=coder)
        except WorkbenchError as exc:
            return ReviewPage(
                _message(
                    f"The project {Path(str(where)).name} could not be opened",
                    html.escape(str(exc)),
                    f"Check the folder name, or create the project with <code>workbench init {name}</code>.",
                    hook="no-project",
                )
            )
    recordings = opened.recordings()
    if not recordings:
        return ReviewPage(
            _message(
                "There is nothing to review yet",
                f"The project has {_count(len(opened.cases()), 'case')} but no films.",
                "Register a film in one of its sessions (see the user guide, <i>Registering a film</i>), then "
                "reload this page.",
                hook="empty-project",
            ),
            project=opened,
        )
    wanted = recording if recording is not None else os.environ.get("WORKBENCH_RECORDING", "").strip()
    chosen = recordings[0]
    if wanted not in (None, ""):
        by_id = {r.id: r for r in recordings}
        try:
            chosen = by_id[int(wanted)]
        except (KeyError, ValueError):
            return ReviewPage(
                _message(
                    f"There is no film {html.escape(str(wanted))} in this project",
                    "Its films are: "
                    + ", ".join(f"{r.id} ({html.escape(r.label or 'no label')})" for r in recordings)
                    + ".",
                    hook="no-recording",
                ),
                project=opened,
            )
    view = Review(opened, chosen, coder=coder, **review_options)
    return ReviewPage(view, project=opened, recording=chosen, review=view)

"""The review's widgets and where they sit, and the HTML of its legend, timeline key, agreement and status line.

Everything here renders: it takes the scheme and the state's values and returns widgets or HTML. Nothing
here reads the store or changes the state.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as ipw

from workbench import charts
from workbench.analysis.agreement import UNMATCHED
from workbench.scheme import CodingScheme
from workbench.ui.derive import Agreement, Mode
from workbench.ui.widgets import AnnotationGrid, LiveChart, NotesPanel, VideoPlayer

__all__ = ["ReviewWidgets", "agreement_html", "build_widgets", "key_html", "legend_html", "status_html"]

#: How the timeline's keyed datasets identify a row (see :class:`~workbench.ui.widgets.LiveChart`).
TIMELINE_KEYS = {"bars": "id", "links": "key", "missed": "key"}


@dataclass(frozen=True)
class ReviewWidgets:
    """The parts of a review, and the children of its box in order."""

    player: VideoPlayer
    table: AnnotationGrid
    notes: NotesPanel
    timeline: LiveChart
    status: ipw.HTML
    key: ipw.HTML
    agreement: ipw.HTML
    legend: ipw.HTML
    children: tuple[ipw.Widget, ...]


def build_widgets(
    scheme: CodingScheme,
    *,
    duration_ms: int,
    frame_times: list[int],
    actors: list[str],
    mode: Mode,
    tolerance_ms: int,
) -> ReviewWidgets:
    """The review's widgets: the video with the comments and moments under it and the table beside (one column
    in a narrow output), then the status line, the timeline, its key, the agreement and the coding keys."""
    player = VideoPlayer(
        duration_ms=duration_ms,
        frame_times=frame_times,
        shortcuts={k: scheme.label_of(c) for k, c in scheme.shortcuts().items()},
        actors=actors,
        actor=actors[0],
    )
    table = AnnotationGrid(
        codes=[{"key": c.key, "label": c.label} for c in scheme.codes],
        actors=actors,
        mode=mode,
        layout=ipw.Layout(width="100%"),
    )
    notes = NotesPanel(layout=ipw.Layout(width="100%"))
    timeline = LiveChart(hook="timeline", row_keys=TIMELINE_KEYS, layout=ipw.Layout(width="100%"))
    # the status line keeps its height while empty: its first message must not push the timeline down under a
    # pointer aiming at a bar (the message comes from the kernel, under load a second or more after the key)
    status = ipw.HTML(layout=ipw.Layout(min_height="var(--jp-widgets-inline-height, 28px)"))
    agreement = ipw.HTML()
    key = ipw.HTML(key_html(scheme, mode, tolerance_ms))
    legend = ipw.HTML(legend_html(scheme))
    left = ipw.VBox([player, notes], layout=ipw.Layout(flex="1 1 340px", min_width="0"))
    right = ipw.Box([table], layout=ipw.Layout(flex="1.4 1 480px", min_width="0"))
    top = ipw.HBox([left, right], layout=ipw.Layout(width="100%", flex_flow="row wrap"))
    return ReviewWidgets(player, table, notes, timeline, status, key, agreement, legend,
                         (top, status, timeline, key, agreement, legend))  # fmt: skip


def timeline_spec(lanes: tuple[str, ...], categories: tuple[str, ...], scheme: CodingScheme,
                  duration_ms: int) -> tuple[dict, int]:  # fmt: skip
    """The timeline's Vega-Lite spec for these lanes and categories, and the pixels beside its plot."""
    width = charts.lane_label_width(lanes)
    spec = charts.review_timeline(lanes, categories, scheme, duration_ms=duration_ms, label_width=width)
    return spec.to_dict(), width + 12


def status_html(text: str, error: bool = False) -> str:
    """The line under the review (plain text: titles and messages are escaped)."""
    colour = "#a33" if error else "#555"
    return f'<span data-wb="status" style="color:{colour}">{html.escape(text, quote=False)}</span>'


def agreement_html(agreement: Agreement | None, scheme: CodingScheme, tolerance_ms: int) -> str:
    """The agreement of the two main coders and its per-code table, codes named by their labels ('' for none)."""
    if agreement is None:
        return ""
    rows = "".join(
        f'<tr><td title="{html.escape(r.code)}">{html.escape(scheme.label_of(r.code))}</td><td>{r.n_a}</td>'
        f"<td>{r.n_b}</td><td>{r.agreement:.0%}</td></tr>"
        for r in agreement.per_code.itertuples()
        if r.code != UNMATCHED
    )
    ea, eb = html.escape(agreement.coder_a), html.escape(agreement.coder_b)
    return (
        f'<details data-wb="agreement"><summary>Agreement {ea} vs {eb}: {agreement.agree} of {agreement.events} '
        f"events agree (onset within {tolerance_ms} ms, same actor and code); per code</summary>"
        f'<table class="wb-agreement"><tr><th>code</th><th>{ea}</th><th>{eb}</th><th>agreement</th></tr>'
        f"{rows}</table></details>"
    )


def legend_html(scheme: CodingScheme) -> str:
    """The coding keys of the scheme, by principle, and how to code with them."""
    groups = []
    for cat in scheme.categories:
        items = "".join(
            f'<li title="{html.escape(c.description)}"><kbd>{html.escape(c.shortcut)}</kbd> '
            f"{html.escape(c.label)}</li>"
            for c in scheme.codes
            if c.category == cat.key and c.shortcut
        )
        if items:
            groups.append(
                f'<div class="wb-legend-group"><b style="color:{cat.colour}">■ {html.escape(cat.label)}</b>'
                f"<ul>{items}</ul></div>"
            )
    return (
        '<details class="wb-legend-box" data-wb="legend" open><summary><b>Coding keys</b>: click anywhere in '
        "the review, then tap a key for a point event, hold it (or double-tap, then tap again) for a state "
        "event; space plays/pauses, , and . step one frame, [ and ] mark a moment</summary>"
        f'<div class="wb-legend">{"".join(groups)}</div></details>'
    )


def _swatch(svg: str, text: str, title: str = "") -> str:
    """One entry of the timeline's key: a small SVG drawing and its words."""
    tip = f' title="{html.escape(title)}"' if title else ""
    return (
        f'<span class="wb-key-item"{tip}><svg width="26" height="14" aria-hidden="true">{svg}</svg>'
        f"{html.escape(text, quote=False)}</span>"
    )


def key_html(scheme: CodingScheme, mode: Mode, tolerance_ms: int) -> str:
    """The timeline's key: every colour, dash and shape it draws, and what each means."""
    principles = "".join(
        _swatch(f'<rect x="3" y="3" width="20" height="8" rx="2" fill="{c.colour}"/>', c.label)
        for c in scheme.categories
    )
    o = charts.OUTCOME_COLOURS
    dash = {k: " ".join(map(str, v)) for k, v in charts.LINK_DASHES.items()}
    line = '<line x1="2" y1="7" x2="24" y2="7" stroke="{}" stroke-width="2.5" stroke-dasharray="{}"/>'
    contingency = "".join(
        [
            _swatch(line.format(o["attuned"], dash["attuned"]), "attuned (received and answered)",
                    "an initiative received and answered within the window"),
            _swatch(line.format(o["received"], dash["received"]), "received only",
                    "an initiative noticed but not answered within the window"),
            _swatch(line.format(o["discordant"], dash["discordant"]), "discordant",
                    "an initiative overridden or answered with a discordant response"),
            _swatch(f'<path d="M8 2 L18 12 M18 2 L8 12" stroke="{o["missed"]}" stroke-width="2.5"/>',
                    "missed initiative", "an initiative nobody received within the window"),
        ]
    )  # fmt: skip
    marks = [
        _swatch(f'<line x1="13" y1="0" x2="13" y2="14" stroke="{charts.PLAYHEAD_COLOUR}" stroke-width="2"/>',
                "video time"),
        _swatch(f'<rect x="1" y="1" width="24" height="12" fill="{charts.MOMENT_COLOUR}" opacity="0.4"/>',
                "moment"),
        _swatch(f'<path d="M8 2 L18 2 L13 11 Z" fill="{charts.COMMENT_COLOUR}"/>', "comment"),
    ]  # fmt: skip
    if mode == "supervision":
        dashes = " ".join(map(str, charts.DISAGREE_DASH))
        marks.append(
            _swatch(
                f'<rect x="3" y="3" width="20" height="8" fill="#bbb" stroke="{charts.DISAGREE_COLOUR}" '
                f'stroke-width="2" stroke-dasharray="{dashes}"/>',
                "the coders disagree",
                f"another code, or nothing by the other coder within {tolerance_ms} ms (≠ in the table)",
            )
        )
    return (
        f'<div class="wb-key" data-wb="timeline-key"><span class="wb-key-title">Principles</span>{principles}</div>'
        f'<div class="wb-key"><span class="wb-key-title">Initiatives</span>{contingency}'
        f'<span class="wb-key-title">Marks</span>{"".join(marks)}</div>'
    )

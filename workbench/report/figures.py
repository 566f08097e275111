"""Altair charts for reports (pure: tidy frames in, chart out; sized for an A4 page).

They complement :mod:`workbench.charts` (the timeline) with what reports need: moments and
comments on the timeline, contingency outcomes, agreement per code, goal ratings over time and
outcomes before and after.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from workbench.analysis.contingency import OUTCOMES
from workbench.annotations import AnnotationTable
from workbench.charts import OUTCOME_BAR_COLOURS, timeline_chart, timeline_frame
from workbench.scheme import CodingScheme

__all__ = [
    "OUTCOME_COLOURS",
    "STATUS_COLOURS",
    "agreement_by_code_chart",
    "goal_progress_chart",
    "outcome_chart",
    "pre_post_chart",
    "report_timeline",
]

#: Colours of contingency outcomes, as the review and the research charts draw them (attuned green, received amber,
#: discordant purple, missed grey).
OUTCOME_COLOURS = OUTCOME_BAR_COLOURS
#: Colours of comment statuses.
STATUS_COLOURS = {"agree": "#2e7d32", "discuss": "#f2a900", "revise": "#c62828"}
WIDTH = 640


def report_timeline(
    table: AnnotationTable,
    scheme: CodingScheme,
    *,
    moments: pd.DataFrame | None = None,
    comments: pd.DataFrame | None = None,
    lanes: str = "actor",
    duration_ms: int | None = None,
    title: str | None = None,
    width: int = WIDTH,
) -> alt.LayerChart:
    """The coded timeline with moments shaded and comments as ticks.

    Parameters
    ----------
    table, scheme
        Annotations and their scheme (see :func:`workbench.charts.timeline_chart`).
    moments : DataFrame, optional
        ``onset_ms, offset_ms, title`` of the moments to shade.
    comments : DataFrame, optional
        ``time_ms, status, text`` of comments, drawn as ticks above the lanes.
    lanes : {"actor", "actor+coder"}
    duration_ms : int, optional
        Fixes the time axis to the whole recording.
    """
    base = timeline_chart(table, scheme, lanes=lanes, width=width, lane_height=26)  # type: ignore[arg-type]
    n_lanes = max(1, int(timeline_frame(table, scheme, lanes=lanes)["lane"].nunique()))  # type: ignore[arg-type]
    height = 26 * n_lanes
    scale = alt.Scale(domain=[0, duration_ms / 1000], nice=False) if duration_ms else alt.Scale(zero=True)
    base = base.encode(x=alt.X("onset_s:Q", title="time (s)", scale=scale))
    base.width = alt.Undefined  # the layer sets the size
    base.height = alt.Undefined
    layers: list[alt.Chart] = []
    if moments is not None and len(moments):
        m = moments.assign(onset_s=moments["onset_ms"] / 1000, end_s=moments["offset_ms"] / 1000)
        layers.append(
            alt.Chart(m[["onset_s", "end_s", "title"]])
            .mark_rect(color="#ffe08a", opacity=0.45)
            .encode(x=alt.X("onset_s:Q", scale=scale), x2="end_s:Q",
                    tooltip=[alt.Tooltip("title:N", title="moment")])
        )
    layers.append(base)
    if comments is not None and len(comments):
        c = comments.assign(time_s=comments["time_ms"] / 1000)[["time_s", "status", "text"]]
        layers.append(
            alt.Chart(c)
            .mark_rule(strokeWidth=2, strokeDash=[4, 2])
            .encode(
                x=alt.X("time_s:Q", scale=scale),
                color=alt.Color("status:N", scale=alt.Scale(domain=list(STATUS_COLOURS),
                                                            range=list(STATUS_COLOURS.values())),
                                legend=alt.Legend(title="comment", orient="bottom")),
                tooltip=[alt.Tooltip("status:N"), alt.Tooltip("text:N", title="comment")],
            )
        )
    chart = alt.layer(*layers).resolve_scale(color="independent").properties(width=width, height=height)
    if title:
        chart = chart.properties(title=title)
    return chart


def outcome_chart(summary: pd.DataFrame, *, row: str = "who", title: str | None = None,
                  width: int = WIDTH) -> alt.Chart:
    """Stacked bars: the share of initiatives attuned / received / discordant / missed.

    ``summary`` has a ``row`` column (the bar label) and one count column per outcome.
    """
    present = [o for o in OUTCOMES if o in summary]
    long = summary[[row, *present]].melt(id_vars=[row], value_vars=present, var_name="outcome",
                                         value_name="initiatives")
    order = list(dict.fromkeys(summary[row]))
    return (
        alt.Chart(long, title=title or alt.Undefined)
        .mark_bar()
        .encode(
            y=alt.Y(f"{row}:N", title=None, sort=order),
            x=alt.X("initiatives:Q", stack="normalize", title="share of initiatives",
                    axis=alt.Axis(format="%")),
            color=alt.Color("outcome:N", scale=alt.Scale(domain=list(OUTCOME_COLOURS),
                                                         range=list(OUTCOME_COLOURS.values())),
                            legend=alt.Legend(orient="bottom", title="initiative was")),
            order=alt.Order("order:Q"),
            tooltip=[f"{row}:N", "outcome:N", "initiatives:Q"],
        )
        .transform_calculate(order=f"indexof({list(OUTCOMES)!r}, datum.outcome)")
        .properties(width=width, height=max(40, 24 * len(order)))
    )


def agreement_by_code_chart(per_code: pd.DataFrame, *, width: int = WIDTH) -> alt.Chart:
    """Horizontal bars of per-code agreement (``code`` label, ``agreement`` 0-1, ``events``)."""
    return (
        alt.Chart(per_code)
        .mark_bar(color="#4e79a7")
        .encode(
            y=alt.Y("code:N", sort="-x", title=None),
            x=alt.X("agreement:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                    title="events with an agreeing partner"),
            tooltip=["code:N", alt.Tooltip("agreement:Q", format=".0%"), "events:Q"],
        )
        .properties(width=width - 200, height=max(40, 18 * len(per_code)))
    )


def goal_progress_chart(ratings: pd.DataFrame, *, colour: str = "goal", width: int = WIDTH) -> alt.Chart:
    """Goal ratings over time: ``goal, date, value, scale_min, scale_max`` (and ``case``) -> one line per
    goal (and case), coloured by ``colour`` (``"goal"`` or ``"case"``)."""
    lo = float(ratings["scale_min"].min()) if len(ratings) else 0.0
    hi = float(ratings["scale_max"].max()) if len(ratings) else 10.0
    ratings = ratings.assign(line=(ratings["case"].astype(str) + " · " if "case" in ratings else "")
                             + ratings["goal"].astype(str))
    return (
        alt.Chart(ratings)
        .mark_line(point=alt.OverlayMarkDef(size=60))
        .encode(
            x=alt.X("date:T", title="date", axis=alt.Axis(format="%Y-%m-%d", labelAngle=0, tickCount=4)),
            y=alt.Y("value:Q", title="rating", scale=alt.Scale(domain=[lo, hi])),
            color=alt.Color(f"{colour}:N", legend=alt.Legend(orient="bottom", title=colour, labelLimit=520)),
            detail=alt.Detail("line:N"),
            tooltip=[*(["case:N"] if "case" in ratings else []), "goal:N",
                     alt.Tooltip("date:T", format="%Y-%m-%d"), "value:Q"],
        )
        .properties(width=width, height=200)
    )


def pre_post_chart(frame: pd.DataFrame, *, points: Sequence[str] = ("pre", "post"), value: str = "value",
                   facet: str = "instrument", colour: str = "case", width: int = 260) -> alt.FacetChart:
    """Slope chart per ``facet`` (instrument): each ``colour`` (case) a line from pre to post."""
    data = frame[frame["time_point"].isin(points)]
    return (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=60))
        .encode(
            x=alt.X("time_point:N", sort=list(points), title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{value}:Q", title="score", scale=alt.Scale(zero=False)),
            color=alt.Color(f"{colour}:N", legend=alt.Legend(orient="bottom", title=colour)),
            tooltip=[f"{colour}:N", "time_point:N", f"{value}:Q"],
        )
        .properties(width=width, height=180)
        .facet(facet=alt.Facet(f"{facet}:N", title=None), columns=2)
        .resolve_scale(y="independent")
    )

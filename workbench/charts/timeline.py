"""Timelines: annotations in lanes, for the review widget and for reports.

:func:`timeline_frame` turns an annotation table into tidy rows (lane, label, principle,
contact kind); :func:`timeline_chart` draws them statically, :func:`report_timeline` adds a
report's moments and comments, and :func:`review_timeline` is the review widget's live chart,
whose rows come as named datasets (:func:`timeline_datasets`, :func:`notes_datasets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import altair as alt
import pandas as pd

from workbench.annotations import AnnotationTable, format_ms, format_span
from workbench.charts.colours import (
    COMMENT_COLOUR,
    CROSS,
    DISAGREE_COLOUR,
    DISAGREE_DASH,
    LINK_DASHES,
    MOMENT_COLOUR,
    OUTCOME_COLOURS,
    PLAYHEAD_COLOUR,
    REPORT_WIDTH,
    STATUS_COLOURS,
)
from workbench.scheme import NOT_IN_SCHEME, NOT_IN_SCHEME_COLOUR, CodingScheme

__all__ = [
    "CLOCK_LABEL",
    "OVERVIEW_SLOTS",
    "TIMELINE_COLUMNS",
    "Lanes",
    "clock",
    "contingency_links",
    "lane_label_width",
    "notes_datasets",
    "report_timeline",
    "review_categories",
    "review_timeline",
    "span_text",
    "timeline_chart",
    "timeline_datasets",
    "timeline_frame",
]

Lanes = Literal["actor", "actor+coder"]


def timeline_frame(
    table: AnnotationTable, scheme: CodingScheme, *, lanes: Lanes = "actor", min_width_ms: int = 150
) -> pd.DataFrame:
    """Tidy rows for a timeline: one per annotation with lane, category, label and colour.

    Parameters
    ----------
    table : AnnotationTable
        The annotations to draw.
    scheme : CodingScheme
        Supplies each code's category, label and colour; codes outside it are
        drawn grey under the category ``"(not in scheme)"``.
    lanes : {"actor", "actor+coder"}
        One lane per actor, or per actor and coder (supervision).
    min_width_ms : int
        Point events are drawn as bars this wide so that they stay visible.
    """
    if lanes not in ("actor", "actor+coder"):
        raise ValueError(
            f"Invalid value for the 'lanes' parameter. Allowed values are 'actor' and 'actor+coder', "
            f"but got {lanes!r} instead."
        )
    df = table.to_dataframe()
    looked = {c: (scheme.label_of(c), scheme.principle_of(c), scheme.kind_of(c)) for c in df["code"].unique()}
    df["label"] = [looked[c][0] for c in df["code"]]
    df["category"] = [looked[c][1] for c in df["code"]]
    df["kind"] = [looked[c][2] for c in df["code"]]
    df["lane"] = df["actor"] if lanes == "actor" else df["actor"] + " · " + df["coder"]
    df["point"] = df["onset_ms"] == df["offset_ms"]
    df["onset_s"] = df["onset_ms"] / 1000.0
    df["end_s"] = df[["offset_ms"]].max(axis=1).where(~df["point"], df["onset_ms"] + min_width_ms) / 1000.0
    return df[
        [
            "id",
            "lane",
            "actor",
            "coder",
            "code",
            "label",
            "category",
            "kind",
            "point",
            "onset_ms",
            "offset_ms",
            "onset_s",
            "end_s",
            "note",
        ]
    ]


def _category_scale(frame: pd.DataFrame, scheme: CodingScheme) -> alt.Scale:
    """Colour by principle: the scheme's category colours, plus grey for codes outside the scheme."""
    categories = [c.label for c in scheme.categories]
    colours = [c.colour for c in scheme.categories]
    if (frame["category"] == NOT_IN_SCHEME).any():
        categories.append(NOT_IN_SCHEME)
        colours.append(NOT_IN_SCHEME_COLOUR)
    return alt.Scale(domain=categories, range=colours)


def timeline_chart(
    table: AnnotationTable,
    scheme: CodingScheme,
    *,
    lanes: Lanes = "actor",
    width: int = 720,
    lane_height: int = 28,
    title: str | None = None,
) -> alt.Chart:
    """A static timeline: one lane per actor (or actor and coder), bars coloured by category.

    Examples
    --------
    >>> from workbench import AnnotationTable, default_scheme
    >>> t = AnnotationTable([{"actor": "child", "code": "initiative-verbal", "onset_ms": 500}])
    >>> spec = timeline_chart(t, default_scheme()).to_dict()
    >>> spec["mark"]["type"]
    'bar'
    """
    df = timeline_frame(table, scheme, lanes=lanes)
    category_scale = _category_scale(df, scheme)
    n_lanes = max(1, df["lane"].nunique())
    chart = (
        alt.Chart(df, title=title or alt.Undefined)
        .mark_bar(cornerRadius=2, height=lane_height * 0.7)
        .encode(
            x=alt.X("onset_s:Q", title="time (s)", scale=alt.Scale(zero=True)),
            x2="end_s:Q",
            y=alt.Y("lane:N", title=None, sort=sorted(df["lane"].unique())),
            color=alt.Color(
                "category:N",
                scale=category_scale,
                legend=alt.Legend(title="principle", orient="bottom", columns=4),
            ),
            tooltip=[
                alt.Tooltip("lane:N", title="who"),
                alt.Tooltip("label:N", title="code"),
                alt.Tooltip("kind:N", title="contact"),
                alt.Tooltip("onset_ms:Q", title="onset (ms)"),
                alt.Tooltip("offset_ms:Q", title="offset (ms)"),
                alt.Tooltip("note:N"),
            ],
        )
        .properties(width=width, height=lane_height * n_lanes)
    )
    return chart


def report_timeline(
    table: AnnotationTable,
    scheme: CodingScheme,
    *,
    moments: pd.DataFrame | None = None,
    comments: pd.DataFrame | None = None,
    lanes: Lanes = "actor",
    duration_ms: int | None = None,
    title: str | None = None,
    width: int = REPORT_WIDTH,
) -> alt.LayerChart:
    """A report's timeline: :func:`timeline_chart` with moments shaded behind it and comments as ticks.

    Parameters
    ----------
    table, scheme
        Annotations and their scheme (see :func:`timeline_chart`).
    moments : DataFrame, optional
        ``onset_ms, offset_ms, title`` of the moments to shade (in the review's moment colour).
    comments : DataFrame, optional
        ``time_ms, status, text`` of comments, drawn as dashed rules coloured by status
        (:data:`~workbench.charts.colours.STATUS_COLOURS`).
    lanes : {"actor", "actor+coder"}
        One lane per actor, or per actor and coder (supervision).
    duration_ms : int, optional
        Fixes the time axis to the whole recording.
    title : str, optional
        The chart's title.
    width : int
        Pixels (an A4 page's width by default).

    Returns
    -------
    alt.LayerChart
        Moments, annotations and comments on one time axis in seconds.
    """
    base = timeline_chart(table, scheme, lanes=lanes, width=width, lane_height=26)
    n_lanes = max(1, int(timeline_frame(table, scheme, lanes=lanes)["lane"].nunique()))
    scale = alt.Scale(domain=[0, duration_ms / 1000], nice=False) if duration_ms else alt.Scale(zero=True)
    base = base.encode(x=alt.X("onset_s:Q", title="time (s)", scale=scale))
    base.width = alt.Undefined  # the layer sets the size
    base.height = alt.Undefined
    layers: list[alt.Chart] = []
    if moments is not None and len(moments):
        m = moments.assign(onset_s=moments["onset_ms"] / 1000, end_s=moments["offset_ms"] / 1000)
        layers.append(
            alt.Chart(m[["onset_s", "end_s", "title"]])
            .mark_rect(color=MOMENT_COLOUR, opacity=0.3)
            .encode(x=alt.X("onset_s:Q", scale=scale), x2="end_s:Q", tooltip=[alt.Tooltip("title:N", title="moment")])
        )
    layers.append(base)
    if comments is not None and len(comments):
        c = comments.assign(time_s=comments["time_ms"] / 1000)[["time_s", "status", "text"]]
        status = alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values()))
        layers.append(
            alt.Chart(c)
            .mark_rule(strokeWidth=2, strokeDash=[4, 2])
            .encode(
                x=alt.X("time_s:Q", scale=scale),
                color=alt.Color("status:N", scale=status, legend=alt.Legend(title="comment", orient="bottom")),
                tooltip=[alt.Tooltip("status:N"), alt.Tooltip("text:N", title="comment")],
            )
        )
    chart = alt.layer(*layers).resolve_scale(color="independent").properties(width=width, height=26 * n_lanes)
    return chart.properties(title=title) if title else chart


def contingency_links(found: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Links from each initiative to what answered it, placed on a timeline frame's lanes.

    Parameters
    ----------
    found : DataFrame
        Rows of :func:`workbench.analysis.contingency.contingencies`.
    frame : DataFrame
        The :func:`timeline_frame` the links are drawn on (gives each annotation id its lane).

    Returns
    -------
    DataFrame
        ``from_s, from_lane, to_s, to_lane, outcome, initiative_id, onset_ms`` - one row per
        reception or response link, and one row per missed initiative (or one answered by nothing
        on this frame) with ``to_s``/``to_lane`` equal to its start. ``onset_ms`` is the
        initiative's onset.
    """
    by_id = frame.set_index("id")
    lane, onset = by_id["lane"].to_dict(), by_id["onset_ms"].to_dict()
    rows = []
    for r in found.itertuples():
        start = lane.get(r.initiative_id)
        if start is None:
            continue
        answers = [a for a in (r.reception_id, r.response_id, r.discordant_id) if pd.notna(a) and a in lane]
        base = {
            "from_s": r.onset_ms / 1000,
            "from_lane": start,
            "outcome": str(r.outcome),
            "initiative_id": r.initiative_id,
            "onset_ms": int(r.onset_ms),
        }
        if r.outcome == "missed" or not answers:
            rows.append({**base, "to_s": r.onset_ms / 1000, "to_lane": start})
        rows.extend({**base, "to_s": onset[a] / 1000, "to_lane": lane[a]} for a in answers)
    columns = ["from_s", "from_lane", "to_s", "to_lane", "outcome", "initiative_id", "onset_ms"]
    return pd.DataFrame(rows, columns=columns)


#: Dots across the review timeline's overview strip, at most, per lane.
OVERVIEW_SLOTS = 600
#: The review timeline's datasets and the columns of each that its marks and tooltips read (see
#: :func:`review_timeline`); :func:`timeline_datasets` and :func:`notes_datasets` give these.
TIMELINE_COLUMNS = {
    "bars": ["id", "lane", "actor", "coder", "label", "category", "kind", "note", "onset_ms", "offset_ms",
             "onset_s", "end_s", "disagree", "time", "mark_kind"],
    "links": ["from_s", "from_lane", "to_s", "to_lane", "outcome", "onset_ms", "time", "mark_kind"],
    "missed": ["from_s", "from_lane", "onset_ms", "time", "mark_kind"],
    "moments": ["id", "onset_ms", "onset_s", "end_s", "title", "reason", "time", "mark_kind"],
    "comments": ["id", "onset_ms", "at_s", "author", "status", "text", "time", "mark_kind"],
}  # fmt: skip


def lane_label_width(lanes: Sequence[str]) -> int:
    """Pixels for the lane names left of the review timeline (about 6.5 px a character, 40 to 220)."""
    longest = max((len(str(lane)) for lane in lanes), default=0)
    return int(min(220, max(40, 16 + 6.5 * longest)))


def clock(ms: float | None) -> str:
    """A time as the review shows it (``mm:ss.mmm``; see :func:`workbench.annotations.format_ms`)."""
    return format_ms(ms, hours=False)


def span_text(onset_ms: int, offset_ms: int) -> str:
    """A span as the review shows it (``mm:ss.mmm–mm:ss.mmm``, or one time for a point)."""
    return format_span(onset_ms, offset_ms, hours=False)


#: A Vega expression that writes an axis value in seconds as ``m:ss`` (``h:mm:ss``), with tenths when zoomed in.
CLOCK_LABEL = (
    "(datum.value >= 3600 ? floor(datum.value / 3600) + ':' + pad(floor(datum.value / 60) % 60, 2, '0', 'left')"
    " : floor(datum.value / 60)) + ':' + pad(floor(datum.value % 60), 2, '0', 'left')"
    " + (abs(datum.value - round(datum.value)) > 1e-6 ? '.' + floor(10 * (datum.value % 1) + 1e-6) : '')"
)


def review_categories(frame: pd.DataFrame, scheme: CodingScheme) -> tuple[str, ...]:
    """The category labels a review timeline colours: the scheme's, and :data:`NOT_IN_SCHEME` if the frame has it."""
    labels = tuple(c.label for c in scheme.categories)
    return (*labels, NOT_IN_SCHEME) if (frame["category"] == NOT_IN_SCHEME).any() else labels


def timeline_datasets(frame: pd.DataFrame, links: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of :func:`review_timeline`'s annotation datasets: ``bars``, ``links`` and ``missed``.

    Parameters
    ----------
    frame : DataFrame
        A :func:`timeline_frame`, optionally with a boolean ``disagree`` column.
    links : DataFrame
        :func:`contingency_links` of that frame.

    Returns
    -------
    dict of str to DataFrame
        ``bars`` (the frame), ``links`` (answered initiatives) and ``missed``, with the columns of
        :data:`TIMELINE_COLUMNS`. Every row has ``onset_ms`` (a click on its mark seeks there),
        ``mark_kind`` and ``time`` (``mm:ss.mmm``).
    """
    bars = frame.copy()
    if "disagree" not in bars:
        bars["disagree"] = False
    bars["disagree"] = bars["disagree"].astype(bool)
    bars["time"] = [span_text(a, b) for a, b in zip(bars["onset_ms"], bars["offset_ms"], strict=True)]
    bars["mark_kind"] = "annotation"
    bars["kind"] = bars["kind"].replace("", "-")
    answered = links[links["outcome"] != "missed"].assign(mark_kind="link")
    missed = links[links["outcome"] == "missed"].assign(mark_kind="missed")
    for part in (answered, missed):
        part["time"] = [clock(t) for t in part["onset_ms"]]
    data = {"bars": bars, "links": answered, "missed": missed}
    return {name: df[TIMELINE_COLUMNS[name]] for name, df in data.items()}


def notes_datasets(moments: pd.DataFrame, comments: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of :func:`review_timeline`'s ``moments`` and ``comments`` datasets.

    Parameters
    ----------
    moments : DataFrame
        ``id, onset_ms, offset_ms, title, reason`` of the recording's moments.
    comments : DataFrame
        ``id, time_ms, author, status, text`` of the recording's comments.

    Returns
    -------
    dict of str to DataFrame
        Both, with ``onset_ms`` (a click seeks there), seconds for the x axis, ``time`` and ``mark_kind``.
    """
    moments = moments.assign(
        onset_s=moments["onset_ms"] / 1000,
        end_s=moments["offset_ms"] / 1000,
        time=[span_text(a, b) for a, b in zip(moments["onset_ms"], moments["offset_ms"], strict=True)],
        mark_kind="moment",
    )
    comments = comments.assign(
        onset_ms=comments["time_ms"],
        at_s=comments["time_ms"] / 1000,
        time=[clock(t) for t in comments["time_ms"]],
        mark_kind="comment",
    )
    return {"moments": moments[TIMELINE_COLUMNS["moments"]], "comments": comments[TIMELINE_COLUMNS["comments"]]}


def review_timeline(
    lanes: Sequence[str],
    categories: Sequence[str],
    scheme: CodingScheme,
    *,
    duration_ms: int,
    lane_height: int = 34,
    label_width: int | None = None,
) -> alt.VConcatChart:
    """The review widget's timeline: lanes of annotations, contingency links, moments, comments, a playhead.

    The chart holds no rows: its layers read the named datasets of :func:`timeline_datasets`
    (``bars``, ``links``, ``missed``) and :func:`notes_datasets` (``moments``, ``comments``), which the review's
    :class:`~workbench.ui.widgets.LiveChart` fills and replaces without drawing the chart anew. Only
    the lanes (and whether codes outside the scheme occur) shape the spec.

    Two views, one above the other: ``overview``, the whole recording (a dot where a lane has
    annotations, at most :data:`OVERVIEW_SLOTS` per lane), and ``timeline``, whose x domain is the
    parameter ``zoom`` (``[from, to]`` in seconds; null: the whole recording), which the chart widget
    sets by dragging across the overview. A parameter ``playhead`` (ms) draws the video's time on both.

    One encoding per meaning: annotations are coloured by principle (the scheme's colours); where
    two coders disagree (``disagree``) an annotation has a dashed dark outline; answers to an
    initiative are lines from it - attuned solid green, received dotted amber, discordant dashed
    purple; a missed initiative is a grey cross; moments are light gold spans behind the lanes;
    comments are slate triangles above them; the playhead is blue. The review's legend
    (:func:`workbench.ui.controller.Review`) names each.

    Parameters
    ----------
    lanes : sequence of str
        The lanes, top to bottom (a supervision review groups each coder's lanes together, so that
        links, which join lanes of one coder, never cross another coder's lanes).
    categories : sequence of str
        The category labels the bars may have (the scheme's, plus :data:`NOT_IN_SCHEME` if any).
    scheme : CodingScheme
        Gives the category colours.
    duration_ms : int
        The recording's length: the overview's extent, and the timeline's without a zoom.
    lane_height : int
        Pixels per lane.
    label_width : int, optional
        Pixels for the lane names (default :func:`lane_label_width`), left of both views.

    Returns
    -------
    alt.VConcatChart
        ``vconcat[0]`` the overview, ``vconcat[1]`` the timeline; both ``width="container"``.
    """
    lanes = list(lanes) or [""]
    gutter = label_width or lane_label_width(lanes)
    colours = {c.label: c.colour for c in scheme.categories}
    domain = list(categories)
    category_scale = alt.Scale(domain=domain, range=[colours.get(c, NOT_IN_SCHEME_COLOUR) for c in domain])
    end_s = max(duration_ms / 1000, 1.0)
    playhead = alt.param(name="playhead", value=0)
    zoom = alt.param(name="zoom", value=None)
    x_scale = alt.Scale(domain=alt.ExprRef(f"zoom || [0, {end_s!r}]"), nice=False, zero=False)
    lane_scale = alt.Scale(domain=lanes)
    y = alt.Y(
        "lane:N",
        title=None,
        sort=lanes,
        scale=lane_scale,
        axis=alt.Axis(minExtent=gutter, maxExtent=gutter, labelLimit=gutter - 10),
    )
    # about one label per 80 px, on whole seconds (or tenths, zoomed in)
    x_axis = alt.Axis(
        title="time (m:ss)", labelExpr=CLOCK_LABEL, labelFlush=False, tickCount=alt.ExprRef("ceil(width / 80)")
    )

    def named(name: str) -> alt.Chart:
        return alt.Chart(alt.Data(name=name))

    moments = (
        named("moments")
        .mark_rect(color=MOMENT_COLOUR, opacity=0.22, clip=True)
        .encode(
            x=alt.X("onset_s:Q", scale=x_scale, axis=x_axis),
            x2="end_s:Q",
            tooltip=[
                alt.Tooltip("title:N", title="moment"),
                alt.Tooltip("time:N", title="time"),
                alt.Tooltip("reason:N", title="why"),
            ],
        )
    )
    bars = (
        named("bars")
        .mark_bar(height=lane_height * 0.45, cornerRadius=2, clip=True)
        .encode(
            x=alt.X("onset_s:Q", scale=x_scale, axis=x_axis),
            x2="end_s:Q",
            y=y,
            color=alt.Color("category:N", scale=category_scale, legend=None),
            stroke=alt.condition("datum.disagree", alt.value(DISAGREE_COLOUR), alt.value(None)),
            strokeWidth=alt.condition("datum.disagree", alt.value(2), alt.value(0)),
            strokeDash=alt.condition("datum.disagree", alt.value(DISAGREE_DASH), alt.value([])),
            tooltip=[
                alt.Tooltip("label:N", title="code"),
                alt.Tooltip("category:N", title="principle"),
                alt.Tooltip("actor:N", title="who"),
                alt.Tooltip("coder:N", title="coded by"),
                alt.Tooltip("time:N", title="time"),
                alt.Tooltip("kind:N", title="contact"),
                alt.Tooltip("note:N", title="note"),
            ],
        )
    )
    outcomes = list(LINK_DASHES)
    links = (
        named("links")
        .mark_rule(strokeWidth=2, opacity=0.85, clip=True)
        .encode(
            x=alt.X("from_s:Q", scale=x_scale, axis=x_axis),
            x2="to_s:Q",
            y=alt.Y("from_lane:N", sort=lanes, scale=lane_scale),
            y2="to_lane:N",
            color=alt.Color(
                "outcome:N", scale=alt.Scale(domain=outcomes, range=[OUTCOME_COLOURS[o] for o in outcomes]), legend=None
            ),
            strokeDash=alt.StrokeDash(
                "outcome:N", scale=alt.Scale(domain=outcomes, range=list(LINK_DASHES.values())), legend=None
            ),
            tooltip=[alt.Tooltip("outcome:N", title="initiative"), alt.Tooltip("time:N", title="at")],
        )
    )
    missed = (
        named("missed")
        .mark_point(shape=CROSS, size=110, strokeWidth=2.5, filled=False, clip=True, color=OUTCOME_COLOURS["missed"])
        .encode(
            x=alt.X("from_s:Q", scale=x_scale, axis=x_axis),
            y=alt.Y("from_lane:N", sort=lanes, scale=lane_scale),
            tooltip=[alt.Tooltip("time:N", title="missed initiative at")],
        )
    )
    comments = (
        named("comments")
        .mark_point(shape="triangle-down", size=70, filled=True, color=COMMENT_COLOUR, yOffset=5, clip=True)
        .encode(
            x=alt.X("at_s:Q", scale=x_scale, axis=x_axis),
            y=alt.value(0),
            tooltip=[
                alt.Tooltip("text:N", title="comment"),
                alt.Tooltip("author:N", title="by"),
                alt.Tooltip("status:N", title="status"),
                alt.Tooltip("time:N", title="at"),
            ],
        )
    )
    head = (
        alt.Chart(pd.DataFrame({"x": [0]}))
        .transform_calculate(x="playhead / 1000")
        .mark_rule(color=PLAYHEAD_COLOUR, strokeWidth=2, clip=True)
        .encode(x=alt.X("x:Q", scale=x_scale, axis=x_axis))
    )
    timeline = (
        alt.layer(moments, bars, links, missed, comments, head, name="timeline")
        .resolve_scale(color="independent", strokeDash="independent")
        .properties(width="container", height=max(60, lane_height * len(lanes)))
    )
    whole = alt.Scale(domain=[0, end_s], nice=False, zero=False)
    # one dot per lane and slot of about a pixel (600 slots over the recording): a long session's strip
    # draws hundreds of dots, not thousands, and looks the same
    step = max(end_s / OVERVIEW_SLOTS, 0.05)
    dots = (
        named("bars")
        .transform_calculate(slot=f"floor(datum.onset_s / {step!r})")
        .transform_aggregate(first="argmin(onset_s)", groupby=["lane", "slot"])
        .transform_calculate(at=f"(datum.slot + 0.5) * {step!r}", category="datum.first.category")
        .mark_circle(size=14, opacity=0.9)
        .encode(
            x=alt.X("at:Q", scale=whole, axis=None),
            y=alt.Y(
                "lane:N",
                sort=lanes,
                scale=lane_scale,
                axis=alt.Axis(labels=False, ticks=False, domain=False, title=None, minExtent=gutter, maxExtent=gutter),
            ),
            color=alt.Color("category:N", scale=category_scale, legend=None),
        )
    )
    brush = (
        alt.Chart(pd.DataFrame({"k": [0]}))
        .transform_filter("zoom != null")
        .transform_calculate(z0="zoom[0]", z1="zoom[1]")
        .mark_rect(color="#607d8b", opacity=0.25, stroke="#37474f", strokeWidth=1)
        .encode(x=alt.X("z0:Q", scale=whole, axis=None), x2="z1:Q")
    )
    where = (
        alt.Chart(pd.DataFrame({"x": [0]}))
        .transform_calculate(x="playhead / 1000")
        .mark_rule(color=PLAYHEAD_COLOUR, strokeWidth=1.5)
        .encode(x=alt.X("x:Q", scale=whole, axis=None))
    )
    overview = alt.layer(brush, dots, where, name="overview").properties(
        width="container",
        height=max(24, 6 * len(lanes)),
        title=alt.TitleParams(
            "the whole recording: drag across this strip to zoom the timeline into a span; click it to see all",
            fontSize=11,
            fontWeight="normal",
            color="#555",
            anchor="start",
        ),
    )
    return alt.vconcat(overview, timeline, spacing=6).add_params(playhead, zoom)

"""Altair chart builders: data in, chart out (pure; no store, no widgets).

Charts are checked without a browser through ``chart.to_dict()``; the review
widget wraps them in ``alt.JupyterChart`` and reports render them as SVG/PNG
with vl-convert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import altair as alt
import numpy as np
import pandas as pd

from workbench.analysis.contingency import OUTCOMES
from workbench.annotations import AnnotationTable, format_ms, format_span
from workbench.scheme import CodingScheme

__all__ = [
    "clock",
    "contingency_links",
    "notes_datasets",
    "review_categories",
    "review_timeline",
    "span_text",
    "timeline_chart",
    "timeline_datasets",
    "timeline_frame",
]

Lanes = Literal["actor", "actor+coder"]
#: The category of codes a scheme does not have (drawn grey).
NOT_IN_SCHEME = "(not in scheme)"
#: The colour of codes a scheme does not have.
NOT_IN_SCHEME_COLOUR = "#9e9e9e"


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
    cat_label = {c.key: c.label for c in scheme.categories}

    def info(code: str) -> tuple[str, str, str]:
        if code in scheme:
            c = scheme.code(code)
            return c.label, cat_label.get(c.category, c.category), c.kind or ""
        return code, NOT_IN_SCHEME, ""

    looked = [info(c) for c in df["code"]]
    df["label"] = [x[0] for x in looked]
    df["category"] = [x[1] for x in looked]
    df["kind"] = [x[2] for x in looked]
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


#: Colours of contingency outcomes (the stacked bars of :func:`contingency_outcomes_chart` draw missed grey).
OUTCOME_COLOURS = {"attuned": "#2e7d32", "received": "#e69f00", "discordant": "#6a3d9a", "missed": "#222222"}
#: How the review timeline tells the answers to an initiative apart: a colour and a dash each.
LINK_DASHES = {"attuned": [], "received": [1, 3], "discordant": [6, 3]}
#: Where two coders disagree: a dashed outline of this colour round the annotation (no other mark uses it).
DISAGREE_COLOUR = "#000000"
DISAGREE_DASH = [3, 2]
#: The playhead (the video's current time) on the review timeline and its overview.
PLAYHEAD_COLOUR = "#1565c0"
#: A moment (a span marked as a best moment) behind the lanes, and a comment's tick above them.
MOMENT_COLOUR = "#f5c518"
COMMENT_COLOUR = "#455a64"

#: The missed initiative's mark: an X (Vega's own "cross" is a plus sign).
CROSS = "M-1,-1L1,1M-1,1L1,-1"

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
_CLOCK_LABEL = (
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
    purple; a missed initiative is a black cross; moments are light gold spans behind the lanes;
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
        title="time (m:ss)", labelExpr=_CLOCK_LABEL, labelFlush=False, tickCount=alt.ExprRef("ceil(width / 80)")
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


# -- outcomes across cases (workbench.analysis.outcomes) ----------------------------------------------

#: Colours of reliable-change directions in pre/post charts.
DIRECTION_COLOURS = {
    "improved": "#2ca02c",
    "no reliable change": "#7f7f7f",
    "deteriorated": "#d62728",
    "reliable, direction unknown": "#1f77b4",
    "not assessed": "#bcbd22",
    "incomplete": "#c7c7c7",
}
#: Colours of contingency outcomes in stacked bars (missed is grey here, to tell it from discordant).
OUTCOME_BAR_COLOURS = {**OUTCOME_COLOURS, "missed": "#7f7f7f"}
#: Contingency outcomes in stacking order.
OUTCOMES_ORDER = OUTCOMES
#: The effect sizes drawn by :func:`effect_size_chart`, in order.
EFFECT_MEASURES = ("d_z", "g_z", "d_av", "g_av")


def _need_columns(table: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"Expected a DataFrame from {what}, but got {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"Expected a table from {what} with columns {', '.join(columns)}, but it lacks {', '.join(missing)}."
        )


def better_phrase(better: str) -> str:
    """``"lower is better"``, ``"higher is better"`` or ``"direction unknown"`` for a ``better`` value."""
    return f"{better} is better" if better in ("higher", "lower") else "direction unknown"


def spread_labels(values: Sequence[float], gap: float) -> np.ndarray:
    """Positions for labels at ``values`` that are at least ``gap`` apart and move as little as they must.

    Labels closer than ``gap`` are grouped and spaced evenly around their group's mean (groups that
    then come too close merge), so two cases that end on the same score get two readable names.

    Examples
    --------
    >>> spread_labels([6.0, 6.0, 7.0, 2.0], 0.4).round(2).tolist()
    [5.8, 6.2, 7.0, 2.0]
    """
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    groups: list[list[float]] = []  # [first position in order, size, centre]
    for i, y in enumerate(v[order]):
        groups.append([i, 1, y])
        while len(groups) > 1:
            (a0, an, ac), (_, bn, bc) = groups[-2], groups[-1]
            if (bc - (bn - 1) * gap / 2) - (ac + (an - 1) * gap / 2) >= gap - 1e-12:
                break
            groups[-2:] = [[a0, an + bn, (ac * an + bc * bn) / (an + bn)]]
    placed = np.empty_like(v)
    for start, n, centre in groups:
        placed[int(start):int(start + n)] = centre + (np.arange(n) - (n - 1) / 2) * gap
    out = np.empty_like(v)
    out[order] = placed
    return out


def pre_post_chart(table: pd.DataFrame, *, width: int = 180, height: int = 240) -> alt.FacetChart:
    """Slope chart of pre/post outcomes: one line per case from pre to post, one panel per instrument.

    Parameters
    ----------
    table : DataFrame
        The result of :func:`workbench.analysis.outcomes.pre_post`.
    width, height : int
        Size of each panel in pixels.

    Returns
    -------
    alt.FacetChart
        Lines and points coloured by reliable-change ``direction`` (:data:`DIRECTION_COLOURS`),
        each case named at its post score (names that would overlap are spread apart,
        :func:`spread_labels`); panels titled with the instrument and which way is better (or
        "direction unknown"), each with its own y scale.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench.analysis.outcomes import pre_post
    >>> m = pd.DataFrame({"case": ["A", "A", "B", "B"], "instrument": "PSI-SF",
    ...                   "time_point": ["pre", "post"] * 2, "value": [112.0, 88.0, 97.0, 90.0]})
    >>> spec = pre_post_chart(pre_post(m, reliability={"PSI-SF": 0.84})).to_dict()
    >>> spec["facet"]["column"]["field"]
    'panel'
    """
    _need_columns(table, ("case", "label", "pre", "post", "direction", "better"), "pre_post()")
    params = table.attrs.get("params", {})
    pre_name, post_name = str(params.get("pre", "pre")), str(params.get("post", "post"))
    df = pd.DataFrame(
        {
            "case": table["case"].astype(str),
            "panel": [f"{lab} ({better_phrase(b)})" for lab, b in zip(table["label"], table["better"], strict=True)],
            "direction": table["direction"].astype(str),
            "change": table.get("change", table["post"] - table["pre"]).astype(float),
            "rci": table["rci"].astype(float) if "rci" in table else float("nan"),
            "pre": table["pre"].astype(float),
            "post": table["post"].astype(float),
        }
    )
    long = df.melt(
        id_vars=["case", "panel", "direction", "change", "rci"],
        value_vars=["pre", "post"],
        var_name="time",
        value_name="score",
    )
    long["time"] = long["time"].map({"pre": pre_name, "post": post_name})
    long = long.dropna(subset=["score"]).reset_index(drop=True)
    # the case names at the post scores, spread apart where they would overlap (12 px of a panel's height)
    long["label_y"] = np.nan
    for _, panel in long.groupby("panel", sort=False):
        span = float(panel["score"].max() - panel["score"].min()) or 1.0
        ends = panel.index[panel["time"] == post_name]
        long.loc[ends, "label_y"] = spread_labels(long.loc[ends, "score"].to_numpy(), 13 / height * span * 1.1)
    colour = alt.Color(
        "direction:N",
        scale=alt.Scale(domain=list(DIRECTION_COLOURS), range=list(DIRECTION_COLOURS.values())),
        legend=alt.Legend(title="reliable change", orient="bottom"),
    )
    x = alt.X("time:N", sort=[pre_name, post_name], title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("score:Q", scale=alt.Scale(zero=False), title="score")
    base = alt.Chart().encode(x=x, y=y, color=colour, detail="case:N")
    lines = base.mark_line(strokeWidth=2, opacity=0.8)
    points = base.mark_circle(size=70, opacity=1).encode(
        tooltip=[
            alt.Tooltip("case:N"),
            alt.Tooltip("time:N"),
            alt.Tooltip("score:Q"),
            alt.Tooltip("change:Q", format="+.1f"),
            alt.Tooltip("rci:Q", title="RCI", format=".2f"),
            alt.Tooltip("direction:N"),
        ]
    )
    names = (
        base.transform_filter(alt.datum.time == post_name)
        .mark_text(align="left", dx=7, fontSize=11)
        .encode(y=alt.Y("label_y:Q"), text="case:N")
    )
    return (
        alt.layer(lines, points, names, data=long)
        .properties(width=width, height=height)
        .facet(column=alt.Column("panel:N", title=None, header=alt.Header(labelFontWeight="bold")))
        .resolve_scale(y="independent")
    )


def effect_size_chart(effects: pd.DataFrame, *, width: int = 420) -> alt.LayerChart:
    """Forest plot of paired effect sizes per instrument: d_z with its confidence interval, g_z, d_av, g_av.

    Parameters
    ----------
    effects : DataFrame
        The result of :func:`workbench.analysis.outcomes.effect_sizes`.
    width : int
        Width in pixels (height grows with the number of instruments).

    Returns
    -------
    alt.LayerChart
        A dashed rule at zero, the d_z interval as a bar, and one point per effect size
        (post - pre: negative is an improvement where lower is better).
    """
    _need_columns(effects, ("label", "n", "better", "d_z_ci_low", "d_z_ci_high", *EFFECT_MEASURES), "effect_sizes()")
    labels = [
        f"{lab} (n={n}, {better_phrase(b)})"
        for lab, n, b in zip(effects["label"], effects["n"], effects["better"], strict=True)
    ]
    points = pd.DataFrame(
        [
            {"instrument": lab, "measure": m, "value": float(v)}
            for lab, (_, row) in zip(labels, effects.iterrows(), strict=True)
            for m, v in ((m, row[m]) for m in EFFECT_MEASURES)
        ],
        columns=["instrument", "measure", "value"],
    ).dropna(subset=["value"])
    ci = pd.DataFrame(
        {
            "instrument": labels,
            "measure": "d_z",
            "low": effects["d_z_ci_low"].astype(float),
            "high": effects["d_z_ci_high"].astype(float),
        }
    ).dropna(subset=["low", "high"])
    level = effects.attrs.get("params", {}).get("confidence", 0.95)
    y = alt.Y("instrument:N", title=None, sort=labels, axis=alt.Axis(labelLimit=320))
    offset = alt.YOffset("measure:N", sort=list(EFFECT_MEASURES), scale=alt.Scale(domain=list(EFFECT_MEASURES)))
    colour = alt.Color(
        "measure:N",
        sort=list(EFFECT_MEASURES),
        legend=alt.Legend(title="effect size", orient="bottom"),
        scale=alt.Scale(domain=list(EFFECT_MEASURES), range=["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78"]),
    )
    shape = alt.Shape(
        "measure:N",
        sort=list(EFFECT_MEASURES),
        scale=alt.Scale(domain=list(EFFECT_MEASURES)),
        legend=alt.Legend(title="effect size", orient="bottom"),
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color="#555").encode(x="x:Q")
    bars = (
        alt.Chart(ci)
        .mark_rule(strokeWidth=2, color="#1f77b4")
        .encode(
            x=alt.X("low:Q", title="standardised mean change (post - pre)"),
            x2="high:Q",
            y=y,
            yOffset=offset,
            tooltip=[
                alt.Tooltip("instrument:N"),
                alt.Tooltip("low:Q", title=f"d_z {level:.0%} CI low", format=".2f"),
                alt.Tooltip("high:Q", title=f"d_z {level:.0%} CI high", format=".2f"),
            ],
        )
    )
    marks = (
        alt.Chart(points)
        .mark_point(filled=True, size=80)
        .encode(
            x="value:Q",
            y=y,
            yOffset=offset,
            color=colour,
            shape=shape,
            tooltip=[alt.Tooltip("instrument:N"), alt.Tooltip("measure:N"), alt.Tooltip("value:Q", format=".2f")],
        )
    )
    return alt.layer(zero, bars, marks).properties(width=width, height=max(80, 70 * len(labels)))


def contingency_outcomes_chart(
    table: pd.DataFrame, *, normalize: bool = False, width: int = 90, height: int = 180
) -> alt.Chart:
    """Stacked bars of initiatives attuned, received, discordant and missed, per case and phase.

    Parameters
    ----------
    table : DataFrame
        The result of :func:`workbench.analysis.outcomes.contingency_by_phase`.
    normalize : bool
        Stack proportions (each bar sums to 1) instead of counts.
    width, height : int
        Size of each panel in pixels.

    Returns
    -------
    alt.Chart
        One column of panels per case, one row per actor pair (who initiated, who answered);
        phases on the x axis in their order in ``table``.
    """
    _need_columns(table, ("case", "phase", "pair", *OUTCOMES_ORDER), "contingency_by_phase()")
    phases = (
        list(table["phase"].cat.categories)
        if isinstance(table["phase"].dtype, pd.CategoricalDtype)
        else list(dict.fromkeys(table["phase"].astype(str)))
    )
    df = pd.DataFrame(
        {
            "case": table["case"].astype(str),
            "phase": table["phase"].astype(str),
            "pair": table["pair"].astype(object).where(table["pair"].notna(), "(no initiatives)").astype(str),
        }
    )
    for o in OUTCOMES_ORDER:
        df[o] = table[o].astype("int64").to_numpy()
    long = df.melt(
        id_vars=["case", "phase", "pair"], value_vars=list(OUTCOMES_ORDER), var_name="outcome", value_name="initiatives"
    )
    long["order"] = long["outcome"].map({o: i for i, o in enumerate(OUTCOMES_ORDER)})
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("phase:N", sort=phases, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "sum(initiatives):Q",
                stack="normalize" if normalize else "zero",
                title="share of initiatives" if normalize else "initiatives",
            ),
            color=alt.Color(
                "outcome:N",
                sort=list(OUTCOMES_ORDER),
                scale=alt.Scale(domain=list(OUTCOME_BAR_COLOURS), range=list(OUTCOME_BAR_COLOURS.values())),
                legend=alt.Legend(title="initiative", orient="bottom"),
            ),
            order=alt.Order("order:Q", sort="ascending"),
            column=alt.Column("case:N", title=None),
            row=alt.Row("pair:N", title=None),
            tooltip=[
                alt.Tooltip("case:N"),
                alt.Tooltip("phase:N"),
                alt.Tooltip("pair:N", title="initiator → partner"),
                alt.Tooltip("outcome:N"),
                alt.Tooltip("sum(initiatives):Q", title="initiatives"),
            ],
        )
        .properties(width=width, height=height)
    )


def goal_chart(trajectories: pd.DataFrame, *, width: int = 480, height: int = 220) -> alt.LayerChart:
    """Goal ratings over time: one line per goal, coloured by case, on the goals' own scale.

    Parameters
    ----------
    trajectories : DataFrame
        The result of :func:`workbench.analysis.outcomes.goal_trajectories`.
    width, height : int
        Size in pixels.

    Returns
    -------
    alt.LayerChart
        Lines and points, y from the lowest ``scale_min`` to the highest ``scale_max``.
    """
    _need_columns(
        trajectories,
        ("case", "goal_id", "goal", "date", "value", "days", "scale_min", "scale_max"),
        "goal_trajectories()",
    )
    df = trajectories.copy()
    lo = float(df["scale_min"].min()) if len(df) else 0.0
    hi = float(df["scale_max"].max()) if len(df) else 10.0
    base = alt.Chart(df).encode(
        x=alt.X("date:T", title="date"),
        y=alt.Y("value:Q", title="rating", scale=alt.Scale(domain=[lo, hi])),
        color=alt.Color("case:N", legend=alt.Legend(title="case", orient="bottom")),
        detail="goal_id:N",
        tooltip=[
            alt.Tooltip("case:N"),
            alt.Tooltip("goal:N"),
            alt.Tooltip("date:T"),
            alt.Tooltip("value:Q"),
            alt.Tooltip("days:Q", title="days since first rating"),
        ],
    )
    return alt.layer(base.mark_line(strokeWidth=2), base.mark_point(filled=True, size=60)).properties(
        width=width, height=height
    )


__all__ += ["better_phrase", "contingency_outcomes_chart", "effect_size_chart", "goal_chart", "pre_post_chart",
            "spread_labels"]


# -- synchrony (workbench.analysis.synchrony) ---------------------------------------------------------


def synchrony_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The cells of :func:`synchrony_heatmap`: one row per window and lag of a ``ccf()`` table.

    Parameters
    ----------
    table : DataFrame
        A :func:`workbench.analysis.synchrony.ccf` table (index: window start in ms; columns: lag in s).

    Returns
    -------
    DataFrame
        ``onset_ms`` (the window's start: a click seeks there), ``start_s`` and ``until_s`` (the start and
        the next window's start: each cell is one step wide), ``lag``, ``lag_lo``, ``lag_hi`` (half a lag
        step either side), ``value`` and ``time`` (the window, ``mm:ss.mmm–mm:ss.mmm``); cells rMEA leaves NA
        are left out.
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("Expected a non-empty ccf() table (windows x lags), but got none.")
    starts = np.asarray(table.index, dtype=np.int64)
    lags = np.asarray(table.columns, dtype=np.float64)
    # each cell is one increment wide (from its start to the next window's)
    step_ms = int(np.diff(starts).min()) if len(starts) > 1 else round(float(table.attrs.get("increment_s", 1)) * 1000)
    half = float(np.diff(lags).min()) / 2 if len(lags) > 1 else 0.5
    ends = table.attrs.get("end_ms")
    ends = np.asarray(ends, dtype=np.int64) if ends is not None and len(ends) == len(starts) else starts + step_ms
    long = pd.DataFrame(
        {
            "onset_ms": np.repeat(starts, len(lags)),
            "lag": np.tile(lags, len(starts)),
            "value": table.to_numpy(dtype=np.float64).ravel(),
            "end_ms": np.repeat(ends, len(lags)),
        }
    ).dropna(subset=["value"])
    long["start_s"] = long["onset_ms"] / 1000
    long["until_s"] = (long["onset_ms"] + step_ms) / 1000
    long["lag_lo"], long["lag_hi"] = long["lag"] - half, long["lag"] + half
    long["time"] = [span_text(a, b) for a, b in zip(long["onset_ms"], long["end_ms"], strict=True)]
    return long.drop(columns="end_ms").reset_index(drop=True)


def synchrony_heatmap(
    first: str, second: str, *, duration_ms: int, lag_s: float, height: int = 200
) -> alt.LayerChart:
    """Synchrony over the recording as a heatmap: window start across, lag up, synchrony as colour.

    The chart reads the named dataset ``ccf`` (the rows of :func:`synchrony_rows`) and has a
    ``playhead`` parameter (ms) drawn as a blue rule, like the review timeline, whose time axis it
    shares (0 to the recording's end, ``m:ss``). A click on a cell seeks to its window's start.

    Parameters
    ----------
    first, second : str
        The two people (positive lags: ``second`` follows ``first``).
    duration_ms : int
        The recording's length (the x extent).
    lag_s : float
        The largest lag (the y extent, ``-lag_s`` to ``+lag_s``).
    height : int
        Pixels.
    """
    end_s = max(duration_ms / 1000, 1.0)
    x_axis = alt.Axis(
        title="window start (m:ss)", labelExpr=_CLOCK_LABEL, labelFlush=False, tickCount=alt.ExprRef("ceil(width / 80)")
    )
    x_scale = alt.Scale(domain=[0, end_s], nice=False, zero=False)
    cells = (
        alt.Chart(alt.Data(name="ccf"))
        .mark_rect()
        .encode(
            x=alt.X("start_s:Q", scale=x_scale, axis=x_axis),
            x2="until_s:Q",
            y=alt.Y(
                "lag_lo:Q", title=f"lag (s): + {second} follows", scale=alt.Scale(domain=[-lag_s, lag_s], nice=False)
            ),
            y2="lag_hi:Q",
            color=alt.Color(
                "value:Q",
                scale=alt.Scale(scheme="viridis"),
                legend=alt.Legend(title="synchrony", orient="right", gradientLength=max(60, height - 40)),
            ),
            tooltip=[
                alt.Tooltip("time:N", title="window"),
                alt.Tooltip("lag:Q", title="lag (s)", format="+.2f"),
                alt.Tooltip("value:Q", title="synchrony", format=".3f"),
            ],
        )
    )
    head = (
        alt.Chart(pd.DataFrame({"x": [0]}))
        .transform_calculate(x="playhead / 1000")
        .mark_rule(color=PLAYHEAD_COLOUR, strokeWidth=2, clip=True)
        .encode(x=alt.X("x:Q", scale=x_scale, axis=x_axis))
    )
    return (
        alt.layer(cells, head, name="synchrony")
        .add_params(alt.param(name="playhead", value=0))
        .properties(
            width="container",
            height=height,
            title=alt.TitleParams(f"{first} and {second}: synchrony over time", anchor="start", fontSize=12),
        )
    )


__all__ += ["synchrony_heatmap", "synchrony_rows"]

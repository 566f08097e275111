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
from workbench.annotations import AnnotationTable
from workbench.scheme import CodingScheme

__all__ = ["timeline_chart", "timeline_frame"]

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
        ``from_s, from_lane, to_s, to_lane, outcome, initiative_id`` - one row per
        reception or response link, and one row per missed initiative with
        ``to_s``/``to_lane`` equal to its start.
    """
    by_id = frame.set_index("id")
    lane, onset = by_id["lane"].to_dict(), by_id["onset_ms"].to_dict()
    rows = []
    for r in found.itertuples():
        start = lane.get(r.initiative_id)
        if start is None:
            continue
        answers = [a for a in (r.reception_id, r.response_id, r.discordant_id) if pd.notna(a) and a in lane]
        if r.outcome == "missed" or not answers:
            rows.append(
                {
                    "from_s": r.onset_ms / 1000,
                    "from_lane": start,
                    "to_s": r.onset_ms / 1000,
                    "to_lane": start,
                    "outcome": str(r.outcome),
                    "initiative_id": r.initiative_id,
                }
            )
        for a in answers:
            rows.append(
                {
                    "from_s": r.onset_ms / 1000,
                    "from_lane": start,
                    "to_s": onset[a] / 1000,
                    "to_lane": lane[a],
                    "outcome": str(r.outcome),
                    "initiative_id": r.initiative_id,
                }
            )
    return pd.DataFrame(rows, columns=["from_s", "from_lane", "to_s", "to_lane", "outcome", "initiative_id"])


#: Colours of contingency outcomes on timelines.
OUTCOME_COLOURS = {"attuned": "#2ca02c", "received": "#ff9f1c", "discordant": "#d62728", "missed": "#d62728"}


#: Dots across the review timeline's overview strip, at most, per lane.
OVERVIEW_SLOTS = 600


def lane_label_width(lanes: Sequence[str]) -> int:
    """Pixels for the lane names left of the review timeline (about 6.5 px a character, 40 to 220)."""
    longest = max((len(str(lane)) for lane in lanes), default=0)
    return int(min(220, max(40, 16 + 6.5 * longest)))


def review_timeline(
    frame: pd.DataFrame,
    links: pd.DataFrame,
    scheme: CodingScheme,
    *,
    duration_ms: int,
    lane_height: int = 34,
    label_width: int | None = None,
) -> alt.VConcatChart:
    """The review widget's timeline: lanes of annotations, contingency links, missed initiatives, a playhead.

    Two views, one above the other: an overview strip of the whole recording (a dot where a
    lane has annotations, at most :data:`OVERVIEW_SLOTS` per lane) where a brush, dragged
    across it, zooms the timeline below into that span (a click on the strip shows all
    again); and the timeline itself.

    Interactive parameters, for ``alt.JupyterChart``: ``playhead`` (ms, drives the red
    rule on both views), ``pick`` (a clicked mark's ``id`` and ``onset_ms``) and ``span``
    (the brushed interval, in seconds). Rows of ``frame`` with ``disagree`` true get a
    red outline.

    The lane names take ``label_width`` pixels (default :func:`lane_label_width`) left of
    both views, and each view is as wide as its container (``width="container"``): Vega-Lite
    cannot fit a concatenation into its container, so the container must leave that room
    beside it (the review widget's chart is ``calc(100% - label_width)`` wide).

    Returns
    -------
    alt.VConcatChart
        ``vconcat[0]`` the overview, ``vconcat[1]`` the timeline: a layer of bars, answered
        links, missed initiatives, the playhead and an invisible extent (0 to ``duration_ms``).
    """
    category_scale = _category_scale(frame, scheme)
    frame = frame.copy()
    if "disagree" not in frame:
        frame["disagree"] = False
    lanes = sorted(frame["lane"].unique()) or [""]
    gutter = label_width or lane_label_width(lanes)
    y = alt.Y(
        "lane:N",
        title=None,
        sort=lanes,
        scale=alt.Scale(domain=lanes),
        axis=alt.Axis(minExtent=gutter, maxExtent=gutter, labelLimit=gutter - 10),
    )
    playhead = alt.param(name="playhead", value=0)
    pick = alt.selection_point(name="pick", fields=["id", "onset_ms"], on="click", empty=False)
    span = alt.selection_interval(name="span", encodings=["x"])
    extent = [0, max(duration_ms / 1000, 1)]
    x_scale = alt.Scale(domain={"param": "span"}, nice=False)  # the brushed span; all of it when none
    bars = (
        alt.Chart(frame)
        .mark_bar(height=lane_height * 0.45, cornerRadius=2, clip=True)
        .encode(
            x=alt.X("onset_s:Q", title="time (s)", scale=x_scale),
            x2="end_s:Q",
            y=y,
            color=alt.Color(
                "category:N",
                scale=category_scale,
                legend=alt.Legend(orient="bottom", columns=4, title="principle"),
            ),
            stroke=alt.condition("datum.disagree", alt.value("#d62728"), alt.value(None)),
            strokeWidth=alt.condition("datum.disagree", alt.value(2), alt.value(0)),
            tooltip=[
                alt.Tooltip("lane:N", title="who"),
                alt.Tooltip("label:N", title="code"),
                alt.Tooltip("kind:N", title="contact"),
                "onset_ms:Q",
                "offset_ms:Q",
                "id:Q",
            ],
        )
        .add_params(pick)
    )
    outcome_scale = alt.Scale(domain=list(OUTCOME_COLOURS), range=list(OUTCOME_COLOURS.values()))
    answered = links[links["outcome"] != "missed"]
    link_layer = (
        alt.Chart(answered)
        .mark_rule(strokeWidth=1.5, opacity=0.7, clip=True)
        .encode(
            x=alt.X("from_s:Q", scale=x_scale),
            x2="to_s:Q",
            y=alt.Y("from_lane:N", sort=lanes, scale=alt.Scale(domain=lanes)),
            y2="to_lane:N",
            color=alt.Color("outcome:N", scale=outcome_scale, legend=alt.Legend(orient="bottom", title="contingency")),
        )
    )
    missed = (
        alt.Chart(links[links["outcome"] == "missed"])
        .mark_point(shape="cross", size=140, strokeWidth=3, filled=False, clip=True)
        .encode(
            x=alt.X("from_s:Q", scale=x_scale),
            y=alt.Y("from_lane:N", sort=lanes, scale=alt.Scale(domain=lanes)),
            color=alt.value(OUTCOME_COLOURS["missed"]),
            tooltip=[alt.Tooltip("from_s:Q", title="missed initiative at (s)")],
        )
    )
    head = (
        alt.Chart(pd.DataFrame({"x": [0]}))
        .transform_calculate(x="playhead / 1000")
        .mark_rule(color="#d62728", strokeWidth=2, clip=True)
        .encode(x=alt.X("x:Q", scale=x_scale))
    )
    # the timeline's extent without a brush: 0 to the recording's end, whatever the data
    ends = alt.Chart(pd.DataFrame({"x": extent})).mark_point(size=0, opacity=0).encode(x=alt.X("x:Q", scale=x_scale))
    timeline = (
        alt.layer(bars, link_layer, missed, head, ends)
        .resolve_scale(color="independent")
        .properties(width="container", height=max(60, lane_height * len(lanes)))
    )
    whole = alt.Scale(domain=extent, nice=False)
    # one dot per lane and slot of about a pixel (600 slots over the recording): a long session's strip
    # draws hundreds of dots, not thousands, and looks the same
    step = max(extent[1] / OVERVIEW_SLOTS, 0.05)
    dots = (
        alt.Chart(frame)
        .transform_calculate(slot=f"floor(datum.onset_s / {step!r})")
        .transform_aggregate(first="argmin(onset_s)", groupby=["lane", "slot"])
        .transform_calculate(at=f"(datum.slot + 0.5) * {step!r}", category="datum.first.category")
        .mark_circle(size=14, opacity=0.9)
        .encode(
            x=alt.X("at:Q", scale=whole, axis=None),
            y=alt.Y(
                "lane:N",
                sort=lanes,
                scale=alt.Scale(domain=lanes),
                axis=alt.Axis(labels=False, ticks=False, domain=False, title=None, minExtent=gutter, maxExtent=gutter),
            ),
            color=alt.Color("category:N", scale=category_scale, legend=None),
        )
        .add_params(span)
    )
    where = (
        alt.Chart(pd.DataFrame({"x": [0]}))
        .transform_calculate(x="playhead / 1000")
        .mark_rule(color="#444", strokeWidth=1.5)
        .encode(x=alt.X("x:Q", scale=whole))
    )
    overview = alt.layer(dots, where).properties(
        width="container", height=max(24, 6 * len(lanes)), title=alt.TitleParams(
            "drag across this strip to zoom the timeline into a span; click it to see all",
            fontSize=10, fontWeight="normal", color="#666", anchor="start",
        )
    )
    return alt.vconcat(overview, timeline, spacing=4).add_params(playhead)


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

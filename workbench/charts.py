"""Altair chart builders: data in, chart out (pure; no store, no widgets).

Charts are checked without a browser through ``chart.to_dict()``; the review
widget wraps them in ``alt.JupyterChart`` and reports render them as SVG/PNG
with vl-convert.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import pandas as pd

from workbench.annotations import AnnotationTable
from workbench.scheme import CodingScheme

__all__ = ["timeline_chart", "timeline_frame"]

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
    cat_label = {c.key: c.label for c in scheme.categories}

    def info(code: str) -> tuple[str, str, str]:
        if code in scheme:
            c = scheme.code(code)
            return c.label, cat_label.get(c.category, c.category), c.kind or ""
        return code, "(not in scheme)", ""

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
    categories = [c.label for c in scheme.categories]
    colours = [c.colour for c in scheme.categories]
    if (df["category"] == "(not in scheme)").any():
        categories.append("(not in scheme)")
        colours.append("#9e9e9e")
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
                scale=alt.Scale(domain=categories, range=colours),
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
    lane = frame.set_index("id")["lane"].to_dict()
    onset = frame.set_index("id")["onset_ms"].to_dict()
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


def review_timeline(
    frame: pd.DataFrame,
    links: pd.DataFrame,
    scheme: CodingScheme,
    *,
    duration_ms: int,
    lane_height: int = 34,
) -> alt.LayerChart:
    """The review widget's timeline: lanes of annotations, contingency links, missed initiatives, a playhead.

    Interactive parameters, for ``alt.JupyterChart``: ``playhead`` (ms, drives the
    red rule), ``pick`` (a clicked mark's ``id`` and ``onset_ms``) and ``zoom``
    (drag or wheel on the x axis). Rows of ``frame`` with ``disagree`` true get a
    red outline.
    """
    categories = [c.label for c in scheme.categories]
    colours = [c.colour for c in scheme.categories]
    frame = frame.copy()
    if "disagree" not in frame:
        frame["disagree"] = False
    lanes = sorted(frame["lane"].unique()) or [""]
    y = alt.Y("lane:N", title=None, sort=lanes, scale=alt.Scale(domain=lanes))
    playhead = alt.param(name="playhead", value=0)
    pick = alt.selection_point(name="pick", fields=["id", "onset_ms"], on="click", empty=False)
    zoom = alt.selection_interval(name="zoom", encodings=["x"], bind="scales")
    x_scale = alt.Scale(domain=[0, max(duration_ms / 1000, 1)])
    bars = (
        alt.Chart(frame)
        .mark_bar(height=lane_height * 0.45, cornerRadius=2)
        .encode(
            x=alt.X("onset_s:Q", title="time (s)", scale=x_scale),
            x2="end_s:Q",
            y=y,
            color=alt.Color(
                "category:N",
                scale=alt.Scale(domain=categories, range=colours),
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
        .add_params(pick, zoom)
    )
    outcome_scale = alt.Scale(domain=list(OUTCOME_COLOURS), range=list(OUTCOME_COLOURS.values()))
    answered = links[links["outcome"] != "missed"]
    link_layer = (
        alt.Chart(answered)
        .mark_rule(strokeWidth=1.5, opacity=0.7)
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
        .mark_point(shape="cross", size=140, strokeWidth=3, filled=False)
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
        .mark_rule(color="#d62728", strokeWidth=2)
        .encode(x=alt.X("x:Q", scale=x_scale))
    )
    return (
        alt.layer(bars, link_layer, missed, head)
        .add_params(playhead)
        .resolve_scale(color="independent")
        .properties(width="container", height=max(60, lane_height * len(lanes)))
    )


# -- outcomes across cases (workbench.analysis.outcomes) ----------------------------------------------

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

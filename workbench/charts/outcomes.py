"""Outcomes across cases: pre/post slopes, effect sizes and goal ratings (:mod:`workbench.analysis.outcomes`).

Pure builders: the tables of :func:`~workbench.analysis.outcomes.pre_post`,
:func:`~workbench.analysis.outcomes.effect_sizes` and
:func:`~workbench.analysis.outcomes.goal_trajectories` in, an Altair chart out. The research
notebook and the reports draw the same charts from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import altair as alt
import numpy as np
import pandas as pd

from workbench.charts.colours import DIRECTION_COLOURS

__all__ = ["EFFECT_MEASURES", "better_phrase", "effect_size_chart", "goal_chart", "need_columns", "pre_post_chart",
           "spread_labels"]

#: The effect sizes drawn by :func:`effect_size_chart`, in order.
EFFECT_MEASURES = ("d_z", "g_z", "d_av", "g_av")


def need_columns(table: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Refuse a table that is not a DataFrame from ``what`` with ``columns`` (naming what it lacks)."""
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


def pre_post_chart(
    table: pd.DataFrame, *, width: int = 180, height: int = 240, columns: int | None = None
) -> alt.FacetChart:
    """Slope chart of pre/post outcomes: one line per case from pre to post, one panel per instrument.

    Parameters
    ----------
    table : DataFrame
        The result of :func:`workbench.analysis.outcomes.pre_post`.
    width, height : int
        Size of each panel in pixels.
    columns : int, optional
        Panels per row, wrapping onto the next (a report's page holds two); default: all in one row.

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
    need_columns(table, ("case", "label", "pre", "post", "direction", "better"), "pre_post()")
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
    header = alt.Header(labelFontWeight="bold")
    layers = alt.layer(lines, points, names, data=long).properties(width=width, height=height)
    if columns:
        panels = layers.facet(facet=alt.Facet("panel:N", title=None, header=header), columns=int(columns))
    else:
        panels = layers.facet(column=alt.Column("panel:N", title=None, header=header))
    return panels.resolve_scale(y="independent")


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
    need_columns(effects, ("label", "n", "better", "d_z_ci_low", "d_z_ci_high", *EFFECT_MEASURES), "effect_sizes()")
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


def goal_chart(
    trajectories: pd.DataFrame,
    *,
    colour: Literal["case", "goal"] = "case",
    width: int = 480,
    height: int = 220,
) -> alt.LayerChart:
    """Goal ratings over time: one line per goal, on the goals' own scale.

    Parameters
    ----------
    trajectories : DataFrame
        The result of :func:`workbench.analysis.outcomes.goal_trajectories`.
    colour : {"case", "goal"}
        What the colours tell apart: the cases (several cases), or one case's goals.
    width, height : int
        Size in pixels.

    Returns
    -------
    alt.LayerChart
        Lines and points, dates on the x axis (``YYYY-MM-DD``), y from the lowest ``scale_min``
        to the highest ``scale_max``.
    """
    need_columns(
        trajectories,
        ("case", "goal_id", "goal", "date", "value", "days", "scale_min", "scale_max"),
        "goal_trajectories()",
    )
    if colour not in ("case", "goal"):
        raise ValueError(
            "Invalid value for the 'colour' parameter. Allowed values are 'case' and 'goal', "
            f"but got {colour!r} instead."
        )
    df = trajectories.copy()
    lo = float(df["scale_min"].min()) if len(df) else 0.0
    hi = float(df["scale_max"].max()) if len(df) else 10.0
    base = alt.Chart(df).encode(
        x=alt.X("date:T", title="date", axis=alt.Axis(format="%Y-%m-%d", labelAngle=0, tickCount=4)),
        y=alt.Y("value:Q", title="rating", scale=alt.Scale(domain=[lo, hi])),
        color=alt.Color(f"{colour}:N", legend=alt.Legend(title=colour, orient="bottom", labelLimit=520)),
        detail="goal_id:N",
        tooltip=[
            alt.Tooltip("case:N"),
            alt.Tooltip("goal:N"),
            alt.Tooltip("date:T", format="%Y-%m-%d"),
            alt.Tooltip("value:Q"),
            alt.Tooltip("days:Q", title="days since first rating"),
        ],
    )
    return alt.layer(base.mark_line(strokeWidth=2), base.mark_point(filled=True, size=60)).properties(
        width=width, height=height
    )

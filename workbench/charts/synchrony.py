"""Synchrony over a recording (:mod:`workbench.analysis.synchrony`): a heatmap on the review's time axis."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from workbench.charts.colours import PLAYHEAD_COLOUR
from workbench.charts.timeline import CLOCK_LABEL, span_text

__all__ = ["synchrony_heatmap", "synchrony_rows"]


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
        title="window start (m:ss)", labelExpr=CLOCK_LABEL, labelFlush=False, tickCount=alt.ExprRef("ceil(width / 80)")
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

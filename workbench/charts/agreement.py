"""Agreement between two codings (:mod:`workbench.analysis.agreement`), per code."""

from __future__ import annotations

import altair as alt
import pandas as pd

from workbench.charts.colours import REPORT_WIDTH
from workbench.charts.outcomes import need_columns

__all__ = ["agreement_by_code_chart"]


def agreement_by_code_chart(per_code: pd.DataFrame, *, width: int = REPORT_WIDTH) -> alt.Chart:
    """Horizontal bars of per-code agreement.

    Parameters
    ----------
    per_code : DataFrame
        ``code`` (its label), ``agreement`` (0-1: the share of its events with an agreeing partner)
        and ``events``, one row per code.
    width : int
        Pixels, the code labels included.

    Returns
    -------
    alt.Chart
        One bar per code, the most agreed first.
    """
    need_columns(per_code, ("code", "agreement", "events"), "a per-code agreement table")
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

"""How initiatives were answered (:mod:`workbench.analysis.contingency`): stacked outcome bars, share attuned.

One stacked-bar builder, :func:`outcome_bars`, draws the outcomes wherever they are shown: a
report's bars per actor pair, coder or cycle, and the research notebook's grid of cases and
phases (:func:`contingency_outcomes_chart`, for a
:func:`~workbench.analysis.outcomes.contingency_by_phase` table). The colours are
:data:`~workbench.charts.colours.OUTCOME_COLOURS`, the review's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from workbench.analysis.contingency import OUTCOMES
from workbench.charts.colours import OUTCOME_COLOURS, REPORT_WIDTH
from workbench.charts.outcomes import need_columns

__all__ = ["OUTCOMES_ORDER", "attuned_chart", "contingency_outcomes_chart", "outcome_bars"]

#: Contingency outcomes in stacking order.
OUTCOMES_ORDER = OUTCOMES


def outcome_bars(
    counts: pd.DataFrame,
    *,
    bar: str = "who",
    normalize: bool = True,
    horizontal: bool = True,
    column: str | None = None,
    row: str | None = None,
    sort: Sequence[str] | None = None,
    titles: Mapping[str, str] | None = None,
    width: int = REPORT_WIDTH,
    height: int | None = None,
    title: str | None = None,
) -> alt.Chart:
    """Stacked bars of initiatives attuned, received, discordant and missed: one bar per value of ``bar``.

    Parameters
    ----------
    counts : DataFrame
        A ``bar`` column (the bar's label), optional ``column`` / ``row`` columns (panels) and one
        count column per outcome (:data:`~workbench.analysis.contingency.OUTCOMES`; an outcome without
        a column is left out). Rows with the same bar and panel are added up.
    bar : str
        The column that names each bar.
    normalize : bool
        Stack shares of the initiatives (each bar fills the axis) instead of counts.
    horizontal : bool
        Bars across (a report's rows of labels) or upright (phases along the x axis).
    column, row : str, optional
        Columns of ``counts`` that split the chart into panels.
    sort : sequence of str, optional
        The bars' order (default: their first appearance in ``counts``).
    titles : mapping, optional
        Tooltip titles of columns (default: the column's name).
    width, height : int
        Pixels (of each panel); a horizontal chart's default height grows with its bars.
    title : str, optional
        The chart's title.

    Returns
    -------
    alt.Chart
        Coloured by outcome in the review's colours, stacked attuned first.
    """
    present = [o for o in OUTCOMES if o in counts]
    ids = [c for c in dict.fromkeys([bar, *(c for c in (column, row) if c)])]
    long = counts[[*ids, *present]].melt(id_vars=ids, value_vars=present, var_name="outcome", value_name="initiatives")
    long["order"] = long["outcome"].map({o: i for i, o in enumerate(OUTCOMES)})
    order = list(sort) if sort is not None else list(dict.fromkeys(counts[bar].astype(str)))
    names = dict(titles or {})
    label = alt.Axis(labelAngle=0) if not horizontal else alt.Undefined
    position = {"title": None, "sort": order, "axis": label}
    amount = {
        "stack": "normalize" if normalize else "zero",
        "title": "share of initiatives" if normalize else "initiatives",
        "axis": alt.Axis(format="%") if normalize else alt.Undefined,
    }
    encoding: dict[str, object] = {
        "color": alt.Color(
            "outcome:N",
            sort=list(OUTCOMES),
            scale=alt.Scale(domain=list(OUTCOME_COLOURS), range=list(OUTCOME_COLOURS.values())),
            legend=alt.Legend(title="initiative was", orient="bottom"),
        ),
        "order": alt.Order("order:Q", sort="ascending"),
        "tooltip": [
            *(alt.Tooltip(f"{c}:N", title=names.get(c, c)) for c in ids),
            alt.Tooltip("outcome:N"),
            alt.Tooltip("sum(initiatives):Q", title="initiatives"),
        ],
    }
    if horizontal:
        encoding.update(y=alt.Y(f"{bar}:N", **position), x=alt.X("sum(initiatives):Q", **amount))
    else:
        encoding.update(x=alt.X(f"{bar}:N", **position), y=alt.Y("sum(initiatives):Q", **amount))
    if column:
        encoding["column"] = alt.Column(f"{column}:N", title=None)
    if row:
        encoding["row"] = alt.Row(f"{row}:N", title=None)
    if height is None:
        height = max(40, 24 * len(order)) if horizontal else 180
    return (
        alt.Chart(long, title=title or alt.Undefined)
        .mark_bar()
        .encode(**encoding)  # type: ignore[arg-type]
        .properties(width=width, height=height)
    )


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
        phases on the x axis in their order in ``table`` (:func:`outcome_bars`).
    """
    need_columns(table, ("case", "phase", "pair", *OUTCOMES_ORDER), "contingency_by_phase()")
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
    return outcome_bars(
        df,
        bar="phase",
        normalize=normalize,
        horizontal=False,
        column="case",
        row="pair",
        sort=phases,
        titles={"pair": "initiator → partner"},
        width=width,
        height=height,
    )


def attuned_chart(
    table: pd.DataFrame, *, phases: Sequence[str] = ("pre", "post"), width: int = 260, height: int = 180
) -> alt.FacetChart:
    """The share of initiatives attuned per phase: one line per case, one panel per actor pair.

    Parameters
    ----------
    table : DataFrame
        ``case, phase, who`` (the actor pair) and ``p_attuned`` (0-1), one row per case, phase and pair.
    phases : sequence of str
        The phases' order on the x axis (others follow).
    width, height : int
        Size of each panel in pixels.

    Returns
    -------
    alt.FacetChart
        Percent attuned (0-100) from phase to phase, coloured by case.
    """
    need_columns(table, ("case", "phase", "who", "p_attuned"), "a contingency table")
    data = table[["case", "phase", "who"]].assign(pct=100 * table["p_attuned"].astype(float))
    return (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=60))
        .encode(
            x=alt.X("phase:N", sort=list(phases), title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("pct:Q", title="% initiatives attuned", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("case:N", legend=alt.Legend(orient="bottom")),
            tooltip=["case:N", "phase:N", "who:N", alt.Tooltip("pct:Q", format=".0f")],
        )
        .properties(width=width, height=height)
        .facet(column=alt.Column("who:N", title=None))
    )

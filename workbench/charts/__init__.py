"""Altair chart builders: data in, chart out (pure; no store, no widgets).

One set of builders for the review, the notebooks and the reports, in one colour per meaning
(:mod:`workbench.charts.colours`):

===============================  ===================================================================
:mod:`~workbench.charts.timeline`     annotations in lanes: static, for a report, the review's live one
:mod:`~workbench.charts.contingency`  how initiatives were answered: stacked outcome bars, share attuned
:mod:`~workbench.charts.agreement`    agreement of two codings per code
:mod:`~workbench.charts.outcomes`     pre/post slopes, effect sizes, goal ratings over time
:mod:`~workbench.charts.synchrony`    synchrony over a recording, on the review's time axis
===============================  ===================================================================

Charts are checked without a browser through ``chart.to_dict()``; the review widget wraps them
in ``alt.JupyterChart`` and reports render them as SVG with vl-convert. Everything is importable
from here (``from workbench.charts import timeline_chart``).
"""

from __future__ import annotations

from workbench.charts.agreement import agreement_by_code_chart
from workbench.charts.colours import (
    COMMENT_COLOUR,
    CROSS,
    DIRECTION_COLOURS,
    DISAGREE_COLOUR,
    DISAGREE_DASH,
    LINK_DASHES,
    MOMENT_COLOUR,
    OUTCOME_COLOURS,
    PLAYHEAD_COLOUR,
    REPORT_WIDTH,
    STATUS_COLOURS,
)
from workbench.charts.contingency import OUTCOMES_ORDER, attuned_chart, contingency_outcomes_chart, outcome_bars
from workbench.charts.outcomes import (
    EFFECT_MEASURES,
    better_phrase,
    effect_size_chart,
    goal_chart,
    pre_post_chart,
    spread_labels,
)
from workbench.charts.synchrony import synchrony_heatmap, synchrony_rows
from workbench.charts.timeline import (
    CLOCK_LABEL,
    OVERVIEW_SLOTS,
    TIMELINE_COLUMNS,
    Lanes,
    clock,
    contingency_links,
    lane_label_width,
    notes_datasets,
    report_timeline,
    review_categories,
    review_timeline,
    span_text,
    timeline_chart,
    timeline_datasets,
    timeline_frame,
)

__all__ = [
    "CLOCK_LABEL",
    "COMMENT_COLOUR",
    "CROSS",
    "DIRECTION_COLOURS",
    "DISAGREE_COLOUR",
    "DISAGREE_DASH",
    "EFFECT_MEASURES",
    "LINK_DASHES",
    "MOMENT_COLOUR",
    "OUTCOMES_ORDER",
    "OUTCOME_COLOURS",
    "OVERVIEW_SLOTS",
    "PLAYHEAD_COLOUR",
    "REPORT_WIDTH",
    "STATUS_COLOURS",
    "TIMELINE_COLUMNS",
    "Lanes",
    "agreement_by_code_chart",
    "attuned_chart",
    "better_phrase",
    "clock",
    "contingency_links",
    "contingency_outcomes_chart",
    "effect_size_chart",
    "goal_chart",
    "lane_label_width",
    "notes_datasets",
    "outcome_bars",
    "pre_post_chart",
    "report_timeline",
    "review_categories",
    "review_timeline",
    "span_text",
    "spread_labels",
    "synchrony_heatmap",
    "synchrony_rows",
    "timeline_chart",
    "timeline_datasets",
    "timeline_frame",
]

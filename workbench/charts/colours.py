"""The colours, dashes and marks every chart shares: one colour per meaning.

The review's timeline, the research charts and the reports draw the same things (contingency
outcomes, comments, the video's time) the same way, from these constants; the review's key
(:mod:`workbench.ui`) names them from here too.
"""

from __future__ import annotations

__all__ = [
    "COMMENT_COLOUR",
    "CROSS",
    "DIRECTION_COLOURS",
    "DISAGREE_COLOUR",
    "DISAGREE_DASH",
    "LINK_DASHES",
    "MOMENT_COLOUR",
    "OUTCOME_COLOURS",
    "PLAYHEAD_COLOUR",
    "REPORT_WIDTH",
    "STATUS_COLOURS",
]

#: Colours of contingency outcomes, wherever they are drawn (the review's links and crosses, stacked bars in
#: notebooks and reports): attuned green, received amber, discordant purple, missed grey.
OUTCOME_COLOURS = {"attuned": "#2e7d32", "received": "#e69f00", "discordant": "#6a3d9a", "missed": "#7f7f7f"}
#: How the review timeline tells the answers to an initiative apart: a colour and a dash each.
LINK_DASHES = {"attuned": [], "received": [1, 3], "discordant": [6, 3]}
#: The missed initiative's mark: an X (Vega's own "cross" is a plus sign).
CROSS = "M-1,-1L1,1M-1,1L1,-1"
#: Where two coders disagree: a dashed outline of this colour round the annotation (no other mark uses it).
DISAGREE_COLOUR = "#000000"
DISAGREE_DASH = [3, 2]
#: The playhead (the video's current time) on the review timeline and its overview.
PLAYHEAD_COLOUR = "#1565c0"
#: A moment (a span marked as a best moment) behind the lanes, and a comment's tick above them.
MOMENT_COLOUR = "#f5c518"
COMMENT_COLOUR = "#455a64"
#: Colours of comment statuses (a report's timeline marks each comment with its status).
STATUS_COLOURS = {"agree": "#2e7d32", "discuss": "#f2a900", "revise": "#c62828"}
#: Colours of reliable-change directions in pre/post charts.
DIRECTION_COLOURS = {
    "improved": "#2ca02c",
    "no reliable change": "#7f7f7f",
    "deteriorated": "#d62728",
    "reliable, direction unknown": "#1f77b4",
    "not assessed": "#bcbd22",
    "incomplete": "#c7c7c7",
}
#: Width in pixels of a chart that fills an A4 report page.
REPORT_WIDTH = 640

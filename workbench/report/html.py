"""HTML blocks the report kinds share (beside :mod:`workbench.report.show`'s tables, stills and sign-off).

A moment is written here once, for every report that shows moments: the micro-analysis and VERP
(with the coding around each moment) and the supervision record.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.model import Moment
from workbench.report.show import fmt_ms, stills_html

__all__ = ["moment_html"]


def moment_html(
    number: int, moment: Moment, recording: str, stills: Sequence[Mapping[str, Any]], *, coding: str = ""
) -> str:
    """One moment as a block: title, recording and time span, why it was chosen, the reflection, stills, coding.

    Parameters
    ----------
    number : int
        The moment's number in the report ("Moment 2: ...").
    moment : Moment
        The moment (title, span, reason and reflection are shown, escaped).
    recording : str
        The recording's label (never a file name).
    stills : sequence of mapping
        The moment's stills as :func:`workbench.report.show.stills_html` takes them.
    coding : str
        Ready-made HTML of the coding around the moment (a table), or ``""`` for none.

    Returns
    -------
    str
        ``<section class="wb-moment">...</section>``.
    """
    parts = [
        f'<section class="wb-moment"><h3>Moment {number}: {html.escape(moment.title)}</h3>',
        f'<p class="wb-meta">{html.escape(recording)} · {fmt_ms(moment.onset_ms)}–'
        f"{fmt_ms(moment.offset_ms)} ({(moment.offset_ms - moment.onset_ms) / 1000:.1f} s)</p>",
    ]
    if moment.reason:
        parts.append(f"<p><strong>Why this moment:</strong> {html.escape(moment.reason)}</p>")
    if moment.reflection:
        parts.append(f'<blockquote class="wb-reflection">{html.escape(moment.reflection)}</blockquote>')
    parts.append(stills_html(stills))
    parts.append(coding)
    parts.append("</section>")
    return "".join(parts)

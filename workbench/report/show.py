"""Display helpers for report notebooks: cover, tables, charts, stills, notes, sign-off.

Each helper displays one output that reads well in JupyterLab *and* exports well through our
nbconvert template (``vig-report``): tables as plain HTML with our classes, charts as a static SVG
(vector, made by vl-convert) plus their Vega-Lite spec (which the HTML export renders live with the
inlined Vega bundle), stills as embedded PNG data (never a file path).

Every ``*_html`` function returns the HTML string; the matching ``show_*`` displays it.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "CHART_MIME",
    "COVER_MIME",
    "chart_svg",
    "fmt_ms",
    "show_chart",
    "show_cover",
    "show_html",
    "show_note",
    "show_signoff",
    "show_stills",
    "show_table",
    "signoff_html",
    "stills_html",
    "table_html",
]

#: Output MIME type of the cover page (the template renders it as the title page and contents).
COVER_MIME = "application/vnd.vig-workbench.cover+json"
#: Output MIME type of a chart's Vega-Lite spec (beside its static ``image/svg+xml``).
CHART_MIME = "application/vnd.vig-workbench.chart+json"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Tables with this many columns or more are set smaller (class ``wb-wide``) to fit an A4 page.
WIDE_COLUMNS = 9


def _display(bundle: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> None:
    from IPython.display import display

    display(dict(bundle), raw=True, metadata=dict(metadata or {}))


def fmt_ms(ms: Any) -> str:
    """A time in ms as ``m:ss.s`` (``35396 -> '0:35.4'``); empty for missing values.

    Examples
    --------
    >>> fmt_ms(35396), fmt_ms(61_040), fmt_ms(None)
    ('0:35.4', '1:01.0', '')
    """
    if ms is None or (isinstance(ms, float) and math.isnan(ms)) or ms is pd.NA:
        return ""
    sign = "-" if int(ms) < 0 else ""
    tenths = round(abs(int(ms)) / 100)
    minutes, rest = divmod(tenths, 600)
    return f"{sign}{minutes}:{rest // 10:02d}.{rest % 10}"


def _cell(value: Any, digits: int) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return '<span class="wb-na">–</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, dt.datetime):
        return html.escape(value.strftime("%Y-%m-%d %H:%M"))
    if isinstance(value, dt.date | pd.Timestamp):
        return html.escape(value.strftime("%Y-%m-%d"))
    return html.escape(str(value))


def table_html(
    frame: pd.DataFrame,
    caption: str | None = None,
    *,
    digits: int = 2,
    index: bool = False,
    classes: str = "",
    empty: str = "Nothing to show.",
) -> str:
    """A tidy HTML table (``<table class="wb-table">``) with an optional caption.

    Floats get ``digits`` decimals (or, per column, those of ``frame.attrs["digits"]``), missing
    values a dash, numbers are right-aligned; the header repeats on every printed page. A table of
    many columns gets the class ``wb-wide`` (smaller type, tighter cells) so that it fits the page.
    """
    per_column = dict(frame.attrs.get("digits", {}))
    if index:
        frame = frame.reset_index()
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    if frame.empty:
        body = f'<tr><td class="wb-empty" colspan="{max(1, len(frame.columns))}">{html.escape(empty)}</td></tr>'
    else:
        rows = []
        numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
                   for c in frame.columns]
        places = [per_column.get(c, digits) for c in frame.columns]

        def td(value: Any, num: bool, places: int) -> str:
            if num:
                return f'<td class="num">{_cell(value, places)}</td>'
            if isinstance(value, dt.date | pd.Timestamp) or (isinstance(value, str) and _ISO_DATE.match(value)):
                return f'<td class="date">{_cell(value, places)}</td>'  # never broken at its hyphens
            return f"<td>{_cell(value, places)}</td>"

        for values in frame.itertuples(index=False, name=None):
            tds = "".join(td(v, num, d) for v, num, d in zip(values, numeric, places, strict=True))
            rows.append(f"<tr>{tds}</tr>")
        body = "".join(rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    cls = " ".join(["wb-table", *(["wb-wide"] if len(frame.columns) >= WIDE_COLUMNS else []), classes]).strip()
    return f'<table class="{cls}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def show_table(frame: pd.DataFrame, caption: str | None = None, **kwargs: Any) -> None:
    """Display :func:`table_html` (with the frame's plain text for other front ends)."""
    _display({"text/html": table_html(frame, caption, **kwargs), "text/plain": frame.to_string(index=False)})


def show_html(markup: str, text: str = "") -> None:
    """Display ready-made HTML (with an optional plain-text version)."""
    _display({"text/html": markup, "text/plain": text or "(HTML)"})


def show_note(text: str, kind: str = "info") -> None:
    """A boxed note; ``kind`` is ``"info"``, ``"todo"`` or ``"warning"``."""
    if kind not in ("info", "todo", "warning"):
        raise ValueError(f"Invalid value for the 'kind' parameter. Allowed values are 'info', 'todo' and "
                         f"'warning', but got {kind!r} instead.")
    label = {"info": "Note", "todo": "To do", "warning": "Warning"}[kind]
    show_html(f'<aside class="wb-note wb-note-{kind}"><strong>{label}:</strong> {html.escape(text)}</aside>',
              f"{label}: {text}")


def chart_svg(chart: Any) -> str:
    """The chart as an SVG document (vector), rendered by vl-convert without a browser."""
    import vl_convert as vlc

    spec = chart.to_dict() if hasattr(chart, "to_dict") else dict(chart)
    return vlc.vegalite_to_svg(spec)


def show_chart(chart: Any, caption: str | None = None) -> None:
    """Display an Altair chart as static SVG plus its Vega-Lite spec.

    JupyterLab shows the SVG; the HTML report draws the spec live (tooltips) with the Vega bundle
    inlined in the file, falling back to the SVG; the PDF keeps the SVG (vector graphics).
    """
    spec = chart.to_dict() if hasattr(chart, "to_dict") else dict(chart)
    svg = chart_svg(spec)
    _display(
        {
            CHART_MIME: {"spec": spec, "caption": caption or ""},
            "image/svg+xml": svg,
            "text/plain": f"<chart: {caption or 'figure'}>",
        }
    )


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def stills_html(stills: Sequence[Mapping[str, Any]]) -> str:
    """A grid of stills: each mapping has ``png`` (bytes), ``caption`` and ``time_ms``."""
    figs = []
    for s in stills:
        cap = html.escape(str(s.get("caption") or ""))
        when = fmt_ms(s.get("time_ms"))
        alt = html.escape(f"Still at {when}: {s.get('caption') or ''}".strip())
        blurred = ' <span class="wb-tag">faces blurred</span>' if s.get("blurred") else ""
        figs.append(
            f'<figure class="wb-still"><img src="{_png_uri(s["png"])}" alt="{alt}" '
            f'width="{int(s.get("width", 0)) or ""}" height="{int(s.get("height", 0)) or ""}">'
            f'<figcaption><span class="wb-time">{when}</span> {cap}{blurred}</figcaption></figure>'
        )
    if not figs:
        return '<p class="wb-empty">No stills for this moment.</p>'
    return f'<div class="wb-stills">{"".join(figs)}</div>'


def show_stills(stills: Sequence[Mapping[str, Any]]) -> None:
    """Display :func:`stills_html`."""
    show_html(stills_html(stills), f"{len(stills)} still(s)")


def show_cover(info: Mapping[str, Any]) -> None:
    """Display the cover: the template turns it into the title page (and puts the contents after it).

    ``info`` holds ``title``, ``project``, ``case``, ``kind``, ``kind_label``, ``date``, ``author``,
    ``scheme`` (``"id vVERSION"``), ``generated_at`` and optional ``subtitle`` / ``details``
    (a mapping shown as a small table).
    """
    clean = json.loads(json.dumps(dict(info), default=str))
    lines = [f"# {clean.get('title', 'Report')}", ""]
    for key in ("project", "case", "kind_label", "date", "author", "scheme", "generated_at"):
        if clean.get(key):
            lines.append(f"- **{key.replace('_', ' ')}**: {clean[key]}")
    _display({COVER_MIME: clean, "text/markdown": "\n".join(lines), "text/plain": clean.get("title", "Report")})


def signoff_html(
    roles: Sequence[str] = ("Supervisor", "Trainee"),
    *,
    signed: Mapping[str, str] | None = None,
    statement: str = "",
) -> str:
    """A sign-off block: one row per role with name, signature and date lines.

    ``signed`` maps a role to a name already recorded (for example ``{"Supervisor": "supervisor"}``).
    """
    signed = dict(signed or {})
    rows = []
    for role in roles:
        name = html.escape(signed.get(role, ""))
        rows.append(
            f'<div class="wb-sign-row"><span class="wb-sign-role">{html.escape(role)}</span>'
            f'<span class="wb-sign-field"><span class="wb-sign-line">{name}</span><small>name</small></span>'
            f'<span class="wb-sign-field"><span class="wb-sign-line"></span><small>signature</small></span>'
            f'<span class="wb-sign-field wb-sign-date"><span class="wb-sign-line"></span><small>date</small></span>'
            "</div>"
        )
    stmt = f"<p>{html.escape(statement)}</p>" if statement else ""
    return f'<section class="wb-signoff">{stmt}{"".join(rows)}</section>'


def show_signoff(roles: Sequence[str] = ("Supervisor", "Trainee"), **kwargs: Any) -> None:
    """Display :func:`signoff_html`."""
    show_html(signoff_html(roles, **kwargs), "Sign-off: " + ", ".join(roles))

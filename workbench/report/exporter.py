"""Our nbconvert exporter: executed report notebook -> self-contained, offline HTML.

:class:`ReportExporter` renders with the ``vig-report`` template (``templates/vig-report``): a
cover page, a table of contents from the notebook's headings, no code, our CSS inlined, charts as
inline SVG. In ``mode="html"`` it also inlines the Vega bundle from the installed vl-convert
package so that charts are drawn live (tooltips) with no network; ``mode="print"`` leaves the
static SVG only (what the PDF is printed from). It never executes: execute first (nbclient),
then export.

It is a normal nbconvert exporter, so it also works on the command line::

    jupyter nbconvert --to workbench.report.exporter.ReportExporter executed.ipynb
"""

from __future__ import annotations

import html
import itertools
import json
import re
from typing import Any

import mistune
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters import DataTypeFilter
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Unicode, default
from traitlets.config import Config

from workbench.report._assets import TEMPLATE_DIR, report_css, vega_bundle
from workbench.report.show import CHART_MIME, COVER_MIME

__all__ = ["BUNDLE_PLACEHOLDER", "REMOVE_TAGS", "HeadingAnchors", "ReportExporter", "json_for_script"]

#: Where the Vega bundle goes in ``mode="html"`` (replaced after rendering).
BUNDLE_PLACEHOLDER = "<!--wb:vega-bundle-->"
#: Cells with these tags are left out of reports (the parameters, notes for whoever adapts the notebook).
REMOVE_TAGS = frozenset({"remove-cell", "parameters", "injected-parameters"})

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")


def json_for_script(value: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">`` (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline(md: str) -> str:
    out = str(mistune.html(md)).strip()
    if out.startswith("<p>") and out.endswith("</p>"):
        out = out[3:-4]
    return out


class HeadingAnchors(Preprocessor):
    """Give each Markdown heading (levels 1-3) a stable id and list them for the table of contents.

    Headings of Markdown cells, and of Markdown a code cell displays (``show_markdown``: a section
    shown only when there is something to put in it), become HTML headings ``<hN id="sec-K">``;
    ``resources["wb"]["toc"]`` gets ``{"level", "text", "id"}`` for levels 2 and 3 (level 1 is the
    title on the cover).
    """

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        toc: list[dict[str, Any]] = []
        count = itertools.count(1)

        def anchor(source: str) -> str:
            lines = source.splitlines()
            fenced = False
            for i, line in enumerate(lines):
                if _FENCE.match(line):
                    fenced = not fenced
                    continue
                m = None if fenced else _HEADING.match(line)
                if m is None:
                    continue
                level, text = len(m.group(1)), m.group(2)
                name = f"sec-{next(count)}"
                lines[i] = f'<h{level} id="{name}">{_inline(text)}</h{level}>\n'
                if level in (2, 3):
                    plain = re.sub(r"<[^>]+>", "", _inline(text))
                    toc.append({"level": level, "text": html.unescape(plain), "id": name})
            return "\n".join(lines)

        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = anchor(cell.source)
            elif cell.cell_type == "code":
                for out in cell.get("outputs", []):
                    data = out.get("data", {})
                    if "text/markdown" in data and not ({COVER_MIME, CHART_MIME, "text/html"} & set(data)):
                        data["text/markdown"] = anchor(data["text/markdown"])
        resources.setdefault("wb", {})["toc"] = toc
        return nb, resources


class ReportExporter(HTMLExporter):
    """Export an *executed* report notebook to one self-contained HTML file (see the module docs).

    Attributes
    ----------
    mode : {"html", "print"}
        ``"html"``: charts drawn live by the inlined Vega bundle (falling back to their SVG);
        ``"print"``: static SVG only, for printing to PDF.
    """

    export_from_notebook = "VIG Workbench report"
    mode = Unicode("html", help="'html' (live charts, Vega inlined) or 'print' (static SVG only).").tag(config=True)
    report_version = Unicode("", help="The workbench version named in the page.").tag(config=True)

    @default("template_name")
    def _template_name_default(self) -> str:
        return "vig-report"

    @default("extra_template_basedirs")
    def _extra_template_basedirs_default(self) -> list[str]:
        return [str(TEMPLATE_DIR)]

    @property
    def default_config(self) -> Config:
        c = super().default_config
        c.merge(Config({
            "NbConvertBase": {
                "display_data_priority": [
                    COVER_MIME,
                    CHART_MIME,
                    "text/html",
                    "image/svg+xml",
                    "image/png",
                    "image/jpeg",
                    "text/markdown",
                    "text/plain",
                ]
            },
            "TemplateExporter": {"exclude_input": True, "exclude_input_prompt": True,
                                 "exclude_output_prompt": True},
            "HTMLExporter": {"exclude_anchor_links": True},
            "TagRemovePreprocessor": {"enabled": True, "remove_cell_tags": set(REMOVE_TAGS),
                                      "remove_all_outputs_tags": {"remove-output"}},
            "HighlightMagicsPreprocessor": {"enabled": False},
        }))
        return c

    def __init__(self, config: Config | None = None, **kw: Any) -> None:
        super().__init__(config=config, **kw)
        self.exclude_input = True
        self.exclude_input_prompt = True
        self.exclude_output_prompt = True
        self.exclude_anchor_links = True
        # tagged cells go through nbconvert's own TagRemovePreprocessor, enabled in default_config
        self.register_preprocessor(HeadingAnchors(parent=self), enabled=True)

    def default_filters(self) -> Any:
        """Our filters on top of HTMLExporter's."""
        yield from super().default_filters()
        yield ("wb_json_script", json_for_script)

    def from_notebook_node(  # type: ignore[override]
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        """Render (never execute) ``nb``; ``mode`` decides whether the Vega bundle is inlined."""
        if self.mode not in ("html", "print"):
            raise ValueError(f"Invalid value for the 'mode' parameter. Allowed values are 'html' and 'print', "
                             f"but got {self.mode!r} instead.")
        resources = self._init_resources(resources)
        wb = resources.setdefault("wb", {})
        wb.setdefault("mode", self.mode)
        wb.setdefault("css", report_css())
        wb.setdefault("version", self.report_version)
        if "title" not in wb:
            wb["title"] = _cover_title(nb) or "VIG Workbench report"
        self.register_filter("filter_data_type", DataTypeFilter(parent=self))
        # TemplateExporter directly: HTMLExporter's BeautifulSoup round trip would re-serialise
        # the whole page (and a megabyte of inlined JavaScript) for nothing.
        output, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if self.mode == "html":
            output = output.replace(BUNDLE_PLACEHOLDER, f"<script>{vega_bundle()}</script>", 1)
        else:
            output = output.replace(BUNDLE_PLACEHOLDER, "", 1)
        return output, resources


def _cover_title(nb: NotebookNode) -> str:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if COVER_MIME in data:
                return str(data[COVER_MIME].get("title", ""))
    return ""

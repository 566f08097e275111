"""Print report HTML to PDF with Chromium through Playwright (Debian's chromium; never a downloaded browser).

Charts stay vector graphics (inline SVG), stills stay images. Every network request is refused
while printing. The PDF's creation and modification dates are set to the report's generation
time, so that two builds from the same data differ only there.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import html
import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

__all__ = ["CHROMIUM_ARGS", "PdfPrinter", "find_chromium", "html_to_pdf"]

log = logging.getLogger(__name__)

#: Flags for a quiet, offline headless Chromium.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--disable-domain-reliability",
)


def find_chromium() -> str:
    """The Chromium executable: ``$WORKBENCH_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH.

    Raises
    ------
    WorkbenchError
        If none is found (with the install hint; the workbench never downloads a browser).
    """
    env = os.environ.get("WORKBENCH_CHROMIUM", "").strip()
    if env:
        if Path(env).is_file():
            return env
        raise WorkbenchError(f"Expected WORKBENCH_CHROMIUM to name a Chromium executable, but {env!r} is not a file.")
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise WorkbenchError(
        "Expected a Chromium browser to print the PDF, but none was found on PATH. Install your system's "
        "package (Debian/Ubuntu: `apt-get install chromium`) or set WORKBENCH_CHROMIUM to its path."
    )


def _footer(label: str) -> str:
    return (
        '<div style="font-family: DejaVu Sans, Arial, sans-serif; font-size: 7.5px; color: #5f6b7a; width: 100%; '
        'margin: 0 15mm; display: flex; justify-content: space-between;">'
        f"<span>{html.escape(label)}</span>"
        '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
    )


def _pdf_date(when: dt.datetime) -> bytes:
    when = when.astimezone(dt.UTC)
    return when.strftime("D:%Y%m%d%H%M%S+00'00'").encode("ascii")


_DATE = re.compile(rb"/(CreationDate|ModDate) \((D:[0-9]{14}[^)]*)\)")


def stamp_dates(pdf: bytes, when: dt.datetime | None) -> bytes:
    """Set the PDF Info dates to ``when``, keeping every byte offset (same-length replacement)."""
    if when is None:
        return pdf
    new = _pdf_date(when)

    def repl(m: re.Match[bytes]) -> bytes:
        old = m.group(2)
        value = new[: len(old)].ljust(len(old), b" ") if len(new) >= len(old) else new.ljust(len(old), b" ")
        return b"/" + m.group(1) + b" (" + value + b")"

    return _DATE.sub(repl, pdf)


class PdfPrinter:
    """A headless Chromium kept open to print several reports; use as a context manager.

    Playwright's synchronous API cannot run inside an asyncio loop (Jupyter has one), so the
    browser lives in a worker thread of its own.
    """

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or find_chromium()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-pdf")
        self._pw: Any = None
        self._browser: Any = None

    def _start(self) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:  # pragma: no cover - playwright is a dependency of PDF export
            raise WorkbenchError(
                "Expected the 'playwright' Python package to print PDFs, but it is not installed: "
                "`pip install playwright` (its browser download is not needed: the system Chromium is used)."
            ) from exc
        try:
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(executable_path=self.executable, args=list(CHROMIUM_ARGS))
        except Exception as exc:
            self._stop()
            raise WorkbenchError(f"Expected to start Chromium ({self.executable}) to print the PDF, but it "
                                 f"failed: {str(exc).splitlines()[0]}") from exc

    def _stop(self) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._browser = None
            if self._pw is not None:
                self._pw.stop()
            self._pw = None

    def __enter__(self) -> PdfPrinter:
        self._pool.submit(self._start).result()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._pool.submit(self._stop).result()
        finally:
            self._pool.shutdown(wait=True)

    def _print(self, page_html: str, footer: str, timeout_ms: int) -> bytes:
        if self._browser is None:
            self._start()
        context = self._browser.new_context(offline=True, java_script_enabled=True)
        try:
            page = context.new_page()
            refused: list[str] = []

            def refuse(route: Any) -> None:
                url = route.request.url
                if url.startswith("data:"):
                    route.continue_()
                else:
                    refused.append(url)
                    route.abort()

            page.route("**/*", refuse)
            page.set_content(page_html, wait_until="load", timeout=timeout_ms)
            page.emulate_media(media="print")
            page.evaluate("document.fonts.ready.then(() => true)")
            if refused:
                log.warning("Refused %d network request(s) while printing: %s", len(refused), refused[:3])
            return page.pdf(
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer,
                margin={"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
                prefer_css_page_size=True,
                outline=True,
                tagged=True,
            )
        finally:
            context.close()

    def print(self, page_html: str, *, label: str = "", generated_at: dt.datetime | None = None,
              timeout_ms: int = 120_000) -> bytes:
        """Print one page of HTML to PDF bytes (A4, footer ``label`` and page numbers)."""
        try:
            pdf = self._pool.submit(self._print, page_html, _footer(label), timeout_ms).result()
        except WorkbenchError:
            raise
        except Exception as exc:
            raise WorkbenchError(f"Expected Chromium to print the report to PDF, but it failed: "
                                 f"{str(exc).splitlines()[0]}") from exc
        return stamp_dates(pdf, generated_at)


@contextmanager
def _printer(executable: str | None) -> Iterator[PdfPrinter]:
    with PdfPrinter(executable) as p:
        yield p


def html_to_pdf(page_html: str, *, label: str = "", generated_at: dt.datetime | None = None,
                executable: str | None = None) -> bytes:
    """Print HTML to PDF bytes with a fresh headless Chromium (see :class:`PdfPrinter` for several)."""
    with _printer(executable) as p:
        return p.print(page_html, label=label, generated_at=generated_at)

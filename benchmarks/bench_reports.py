"""Report build times and sizes on the demo project: each kind as HTML only, and as HTML + PDF.

For each kind it builds the report twice: ``html`` (execute the notebook, export) and ``html,pdf``
(execute, export both, print the PDF with Chromium), and prints the split (execute / HTML export /
PDF export and print), the file sizes, and the page count of the PDF (pdfinfo, when installed).
It also times an accreditation pack of the trainee's supervision and micro-analysis reports
(HTML + PDF, faces blurred) and the face detector on one demo still, and counts the database reads
of each kind's data (what its notebook asks for, in this process): the annotation reads should be
one per recording, however many tables, charts and moments the report shows.

Reference in the same process: starting a python3 kernel and importing the workbench's report
helpers in it (what every report execution pays before its first table).

Usage: ``python benchmarks/bench_reports.py [DEMO_FOLDER]`` (default: a new demo in a temporary
folder; the Vega bundle cache is warmed first so that it is not counted).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = {
    "micro-analysis": {"case": "Aster", "session": "1"},
    "supervision": {"case": "Aster", "session": "4", "params": {"duration_min": 75}},
    "verp": {"case": "Birch"},
    "research": {"params": {"lower_is_better": ["PSI-SF"]}},
}


def _pages(pdf: Path) -> str:
    if not shutil.which("pdfinfo"):
        return "?"
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    m = re.search(r"Pages:\s+(\d+)", out)
    return m.group(1) if m else "?"


def _kernel_reference() -> float:
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("from workbench.report import notebook as wr")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    t0 = time.perf_counter()
    NotebookClient(nbformat.from_dict(nb), kernel_name="python3", timeout=600).execute()
    return time.perf_counter() - t0


def _reads(folder: Path) -> None:
    """Each report kind's data, asked for what its notebook shows, with its SELECTs counted (annotations apart)."""
    import sqlalchemy as sa

    from workbench.project import Project, open_project
    from workbench.report.data import MicroAnalysis, ReportData, Research, Supervision, Verp

    counts = {"select": 0, "annotations": 0}

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        text = " ".join(statement.split()).lower()
        if text.startswith("select"):
            counts["select"] += 1
            counts["annotations"] += "from annotations" in text

    def micro(project: Project) -> ReportData:
        r = MicroAnalysis(project, "Aster", session="1")
        r.overview()
        for n, (rec, m) in enumerate(r.moments(), start=1):
            r.moment_html(rec, m, n)
        for rec in r.recordings:
            r.timeline(rec).to_dict()
        r.contingency_table()
        r.outcome_chart().to_dict()
        return r

    def supervision(project: Project) -> ReportData:
        r = Supervision(project, "Aster", duration_min=75)
        r.agreement(), r.per_code_chart().to_dict(), r.differences(), r.side_by_side_chart().to_dict()
        for rec in r.recordings:
            r.timeline(rec).to_dict()
        r.moments_html(), r.comments(), r.goal_chart().to_dict()
        return r

    def verp(project: Project) -> ReportData:
        r = Verp(project, "Birch")
        r.cycle_overview()
        for n, (rec, m) in enumerate(r.moments(), start=1):
            r.moment_html(rec, m, n)
        r.goal_chart().to_dict(), r.progress_chart().to_dict()
        return r

    def research(project: Project) -> ReportData:
        r = Research(project)
        r.outcomes(), r.outcome_chart().to_dict(), r.effect_sizes(), r.contingency_table()
        r.attuned_chart().to_dict(), r.goal_chart(r.cases).to_dict(), r.directions()
        return r

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        with open_project(folder) as project:
            for show in (micro, supervision, verp, research):
                counts.update(select=0, annotations=0)
                t0 = time.perf_counter()
                data = show(project)
                seconds = time.perf_counter() - t0
                recordings = len(data.recordings) if hasattr(data, "recordings") else sum(
                    len(data.phases(c)) for c in data.cases)  # type: ignore[attr-defined]
                print(f"{data.kind:15} {counts['annotations']:3d} annotation reads ({recordings} recordings), "
                      f"{counts['select']:3d} SELECTs in all, {seconds:5.2f} s", flush=True)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)


def main(folder: Path | None = None) -> None:
    from workbench.demo import build_demo
    from workbench.media.faces import detect_faces
    from workbench.report import build, build_pack
    from workbench.report._assets import vega_bundle

    with tempfile.TemporaryDirectory() as tmp:
        if folder is None:
            folder = Path(tmp) / "demo-project"
            t0 = time.perf_counter()
            build_demo(folder).close()
            print(f"demo project built            {time.perf_counter() - t0:6.1f} s")
        t0 = time.perf_counter()
        bundle = vega_bundle()
        print(f"Vega bundle (cached)          {time.perf_counter() - t0:6.2f} s, {len(bundle) / 1e3:.0f} kB")
        print(f"kernel start + imports (ref)  {_kernel_reference():6.1f} s")
        print()
        _reads(folder)
        print()
        print(f"{'kind':15} {'to':9} {'total':>7} {'execute':>8} {'html':>6} {'pdf':>6} {'HTML kB':>8} {'PDF kB':>7} "
              f"{'pages':>5}")
        for kind, kwargs in KINDS.items():
            for to in ("html", "html,pdf"):
                out = Path(tmp) / "out" / to.replace(",", "-")
                # the demo's helping questions name the children: redaction replaces them
                r = build(folder, kind, to=to, out_dir=out, redact=True, **kwargs)  # type: ignore[arg-type]
                s = r.seconds
                html_kb = r.html.stat().st_size / 1e3 if r.html else 0
                pdf_kb = r.pdf.stat().st_size / 1e3 if r.pdf else 0
                pages = _pages(r.pdf) if r.pdf else "-"
                print(f"{kind:15} {to:9} {s['total']:6.1f}s {s['execute']:7.1f}s {s.get('html', 0):5.2f}s "
                      f"{s.get('pdf', 0):5.1f}s {html_kb:8.0f} {pdf_kb:7.0f} {pages:>5}", flush=True)
        print()
        t0 = time.perf_counter()
        pack = build_pack(folder, "trainee", Path(tmp) / "pack.zip", to=("html", "pdf"), redact=True)
        n = len(pack.manifest["files"])
        print(f"accreditation pack (trainee)  {time.perf_counter() - t0:6.1f} s, {n} files, "
              f"{pack.path.stat().st_size / 1e6:.1f} MB")
        import cv2

        from workbench.project import open_project

        with open_project(folder) as project:
            still = project.still_path(project.stills()[0])
        image = cv2.imread(str(still))
        t0 = time.perf_counter()
        detect_faces(image)
        print(f"face detection, one still     {time.perf_counter() - t0:6.2f} s ({image.shape[1]}x{image.shape[0]})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)

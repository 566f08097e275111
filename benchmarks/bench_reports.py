"""Report build times and sizes on the demo project: each kind as HTML only, and as HTML + PDF.

For each kind it builds the report twice: ``html`` (execute the notebook, export) and ``html,pdf``
(execute, export both, print the PDF with Chromium), and prints the split (execute / HTML export /
PDF export and print), the file sizes, and the page count of the PDF (pdfinfo, when installed).
It also times an accreditation pack of the trainee's supervision and micro-analysis reports
(HTML + PDF, faces blurred) and the face detector on one demo still.

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

"""Run every benchmark in this folder (``./run bench``) and print their figures."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    wanted = set(sys.argv[1:])
    for script in sorted(here.glob("bench_*.py")):
        if wanted and script.stem not in wanted:
            continue
        print(f"== {script.stem}", flush=True)
        sys.argv = [str(script)]  # each benchmark parses its own options: give it none (its defaults)
        runpy.run_path(str(script), run_name="__main__")

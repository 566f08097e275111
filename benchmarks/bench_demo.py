"""Demo build time, split into rendering the six films (two per case) and storing everything else.

Reference in the same process: rendering the films alone, one after the other (what the build cannot avoid;
the build renders two at a time).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from workbench.demo import DEMO_CASES, build_demo, interaction_script, render_film


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for case in DEMO_CASES:
            for phase in ("pre", "post"):
                render_film(Path(tmp) / f"{case.pseudonym}-{phase}.mp4", interaction_script(case.pseudonym, phase),
                            phase)
        films = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_demo(Path(tmp) / "demo").close()
        total = time.perf_counter() - t0
    print(f"render the six films   {films:6.2f} s (one after the other)")
    print(f"build the demo project {total:6.2f} s  ({total / films:.2f}x the films alone)")


if __name__ == "__main__":
    main()

"""Demo build time, split into rendering the two films and storing everything else.

Reference in the same process: rendering the films alone (what the build cannot avoid).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from workbench.demo import build_demo, interaction_script, render_film


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        render_film(Path(tmp) / "pre.mp4", interaction_script("pre"), "pre")
        render_film(Path(tmp) / "post.mp4", interaction_script("post"), "post")
        films = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_demo(Path(tmp) / "demo").close()
        total = time.perf_counter() - t0
    print(f"render both films      {films:6.2f} s")
    print(f"build the demo project {total:6.2f} s  ({total / films:.2f}x the films alone)")


if __name__ == "__main__":
    main()

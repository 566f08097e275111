"""Peak memory of the readers on hostile input: compressed bombs, and the largest files they accept.

Each file is generated in a temporary folder (nothing is kept) and read in a fresh process, whose peak
resident memory (``ru_maxrss``) is printed with the outcome. The bombs unpack to 3 GiB (gzip: a 3 MB
file) or 288 MiB (one zip member); the text-heavy files hold 250 MiB of text, just under the default
limit of 256 MiB, in the shape that costs a reader the most memory per byte (few, long text values).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_hostile import MiB, _read_in_child, _text_heavy, gzip_bomb, zip_bomb

CASES = [
    ("gzip bomb named .eaf", "bomb.eaf", "read_eaf"),
    ("gzip bomb named .csv", "bomb.csv", "read_table"),
    ("gzip bomb named .boris", "bomb.boris", "read_boris"),
    ("zip bomb named .otb", "bomb.otb", "read_otx"),
    ("250 MiB of text, .csv", "fat.csv", "read_table"),
    ("250 MiB of text, .eaf", "fat.eaf", "read_eaf"),
    ("250 MiB of text, .boris", "fat.boris", "read_boris"),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, reader in CASES:
            path = Path(tmp) / name
            if name.startswith("bomb"):
                zip_bomb(path) if name.endswith(".otb") else gzip_bomb(path)
            else:
                _text_heavy(path, 250 * MiB)
            start = time.perf_counter()
            done, peak = _read_in_child(reader, path, ', unpaired="skip"' if reader == "read_boris" else "")
            seconds = time.perf_counter() - start
            outcome = "read" if done.returncode == 0 else "refused: " + done.stderr.strip().split(" ", 1)[-1][:90]
            size = path.stat().st_size / MiB
            print(f"{label:26} {size:6.1f} MiB on disk  peak {peak:5.0f} MiB  {seconds:5.1f} s  {outcome}")
            path.unlink()


if __name__ == "__main__":
    main()

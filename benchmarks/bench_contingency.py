"""Contingencies over 1,000 recordings x 1,000 events, against an event-by-event loop in the same run.

The loop is the definition applied one initiative at a time with pandas filtering (how the
first version was written); it runs on 20 recordings and is scaled up.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from workbench import AnnotationTable, default_scheme
from workbench.analysis.contingency import contingencies, contingency_summary

CODES = [
    "initiative-verbal",
    "initiative-nonverbal",
    "returning-eye-contact",
    "receiving-words",
    "receiving-responding",
    "having-fun",
    "discordant-overriding",
    "waiting",
]


def corpus(recordings: int, events: int, seed: int = 1) -> AnnotationTable:
    rng = np.random.default_rng(seed)
    n = recordings * events
    df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "recording_id": np.repeat(np.arange(1, recordings + 1), events),
            "actor": rng.choice(["parent", "child"], n),
            "code": rng.choice(CODES, n),
            "onset_ms": np.sort(rng.integers(0, 30 * 60_000, (recordings, events)), axis=1).ravel(),
        }
    )
    return AnnotationTable(df)


def loop(table: AnnotationTable, window: tuple[int, int] = (0, 3000)) -> int:
    kind = {c.key: c.kind for c in default_scheme().codes}
    df = table.to_dataframe()
    df["kind"] = df["code"].map(kind)
    n = 0
    for _, rec in df.groupby("recording_id"):
        for ini in rec[rec["kind"] == "initiative"].itertuples():
            cand = rec[
                (rec["actor"] != ini.actor)
                & (rec["onset_ms"] >= ini.onset_ms + window[0])
                & (rec["onset_ms"] <= ini.onset_ms + window[1])
            ]
            n += len(cand[cand["kind"] == "reception"][:1])
    return n


def main() -> None:
    t0 = time.perf_counter()
    big = corpus(1000, 1000)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = contingencies(big, default_scheme())
    vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    contingency_summary(found)
    summ = time.perf_counter() - t0
    small = corpus(20, 1000)
    t0 = time.perf_counter()
    loop(small)
    per_rec = (time.perf_counter() - t0) / 20
    print(f"corpus 1,000 recordings x 1,000 events ({len(big):,} rows) built in {build:.2f} s")
    print(f"contingencies        {vec:6.2f} s  ({len(found):,} initiative-partner rows)")
    print(f"contingency_summary  {summ:6.2f} s")
    slower = per_rec * 1000 / vec
    print(f"event-by-event loop  {per_rec * 1000:6.2f} s  (scaled from 20 recordings), {slower:.0f}x slower")


if __name__ == "__main__":
    main()

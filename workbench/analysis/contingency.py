"""Attunement contingencies: initiative -> reception -> response.

For each initiative (a code whose contact kind is ``"initiative"`` in the
scheme) by one actor, look at what each other actor did within a window after
its onset (default 0-3 s) and classify the initiative:

``attuned``
    received and responded to: a reception, and a response at or after it
    (a response with no separate reception counts too: answering an initiative
    shows it was received);
``received``
    received only: a reception but no response in the window;
``discordant``
    the first answer in the window was a discordant act (overriding, turning away);
``missed``
    no reception, response or discordant act in the window.

Everything here is a pure function of an :class:`~workbench.annotations.AnnotationTable`
and a :class:`~workbench.scheme.CodingScheme`; parameters are recorded in the
result's ``attrs``.

Examples
--------
>>> from workbench import AnnotationTable, default_scheme
>>> t = AnnotationTable([
...     {"id": 1, "actor": "child", "code": "initiative-nonverbal", "onset_ms": 1000},
...     {"id": 2, "actor": "parent", "code": "returning-eye-contact", "onset_ms": 1600, "offset_ms": 2400},
...     {"id": 3, "actor": "parent", "code": "receiving-responding", "onset_ms": 2500, "offset_ms": 3500},
... ])
>>> contingencies(t, default_scheme())[["initiative_id", "outcome", "reception_latency_ms"]].values.tolist()
[[1, 'attuned', 600]]
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from workbench.annotations import AnnotationTable
from workbench.scheme import CodingScheme

__all__ = ["OUTCOMES", "contingencies", "contingency_summary"]

Outcome = Literal["attuned", "received", "discordant", "missed"]
OUTCOMES: tuple[str, ...] = ("attuned", "received", "discordant", "missed")

_COLUMNS = [
    "recording_id",
    "initiative_id",
    "actor",
    "partner",
    "code",
    "onset_ms",
    "outcome",
    "reception_id",
    "reception_latency_ms",
    "response_id",
    "response_latency_ms",
    "discordant_id",
]


def _check_window(window_ms: tuple[int, int]) -> tuple[int, int]:
    lo, hi = (int(window_ms[0]), int(window_ms[1]))
    if lo < 0 or hi <= lo:
        raise ValueError(f"Expected a window (start_ms, end_ms) with 0 <= start < end, but got {window_ms!r}.")
    return lo, hi


def contingencies(
    table: AnnotationTable,
    scheme: CodingScheme,
    *,
    window_ms: tuple[int, int] = (0, 3000),
) -> pd.DataFrame:
    """One row per initiative and partner: what answered it within the window, and how.

    Parameters
    ----------
    table : AnnotationTable
        Annotations of one or more recordings (recordings are never mixed), one coder.
    scheme : CodingScheme
        Gives each code's contact kind.
    window_ms : (int, int)
        Answers count when their onset lies in ``[onset + start, onset + end]``.

    Returns
    -------
    DataFrame
        Columns ``recording_id, initiative_id, actor, partner, code, onset_ms,
        outcome, reception_id, reception_latency_ms, response_id,
        response_latency_ms, discordant_id`` (ids and latencies nullable).
        ``attrs["params"]`` holds the window and the scheme id and version.
    """
    lo, hi = _check_window(window_ms)
    df = table.to_dataframe()
    kind = {c.key: c.kind for c in scheme.codes}
    df["kind"] = df["code"].map(kind)
    rows: list[dict[str, object]] = []
    for rec_id, rec in df.groupby("recording_id", dropna=False, sort=True):
        actors = sorted(rec["actor"].unique())
        answers = rec[rec["kind"].isin(["reception", "response", "discordant"])]
        for ini in rec[rec["kind"] == "initiative"].itertuples():
            for partner in actors:
                if partner == ini.actor:
                    continue
                start, end = ini.onset_ms + lo, ini.onset_ms + hi
                cand = answers[
                    (answers["actor"] == partner) & (answers["onset_ms"] >= start) & (answers["onset_ms"] <= end)
                ].sort_values(["onset_ms", "id"])
                rec_rows = cand[cand["kind"] == "reception"]
                resp_rows = cand[cand["kind"] == "response"]
                disc_rows = cand[cand["kind"] == "discordant"]
                reception = rec_rows.iloc[0] if len(rec_rows) else None
                if reception is not None:
                    resp_rows = resp_rows[resp_rows["onset_ms"] >= reception["onset_ms"]]
                response = resp_rows.iloc[0] if len(resp_rows) else None
                first_positive = min(
                    [r["onset_ms"] for r in (reception, response) if r is not None], default=np.iinfo(np.int64).max
                )
                discordant = disc_rows.iloc[0] if len(disc_rows) else None
                if discordant is not None and discordant["onset_ms"] <= first_positive:
                    outcome: Outcome = "discordant"
                elif response is not None:
                    outcome = "attuned"
                elif reception is not None:
                    outcome = "received"
                else:
                    outcome = "missed"
                rows.append(
                    {
                        "recording_id": rec_id,
                        "initiative_id": ini.id,
                        "actor": ini.actor,
                        "partner": partner,
                        "code": ini.code,
                        "onset_ms": ini.onset_ms,
                        "outcome": outcome,
                        "reception_id": None if reception is None else reception["id"],
                        "reception_latency_ms": None
                        if reception is None
                        else int(reception["onset_ms"] - ini.onset_ms),
                        "response_id": None if response is None else response["id"],
                        "response_latency_ms": None if response is None else int(response["onset_ms"] - ini.onset_ms),
                        "discordant_id": None if discordant is None else discordant["id"],
                    }
                )
    out = pd.DataFrame(rows, columns=_COLUMNS)
    for col in ("recording_id", "initiative_id", "reception_id", "response_id", "discordant_id"):
        out[col] = pd.array(out[col].tolist(), dtype="Int64")
    for col in ("reception_latency_ms", "response_latency_ms"):
        out[col] = pd.array(out[col].tolist(), dtype="Int64")
    out["outcome"] = pd.Categorical(out["outcome"], categories=list(OUTCOMES))
    out.attrs["params"] = {"window_ms": [lo, hi], "scheme": scheme.id, "scheme_version": scheme.version}
    return out


def _longest_attuned_chain(outcomes: pd.Series) -> int:
    best = run = 0
    for o in outcomes:
        run = run + 1 if o == "attuned" else 0
        best = max(best, run)
    return best


def contingency_summary(found: pd.DataFrame, *, duration_ms: int | None = None) -> pd.DataFrame:
    """Counts, proportions, rates and latencies per recording and actor pair.

    Parameters
    ----------
    found : DataFrame
        The result of :func:`contingencies`.
    duration_ms : int, optional
        Length of the recording(s), for rates per minute; without it, the span
        from the first to the last initiative is used.

    Returns
    -------
    DataFrame
        One row per ``recording_id, actor, partner`` with ``initiatives``, a
        count and a proportion per outcome, ``attuned_per_min``, reception
        latency median and IQR (ms), and ``longest_attuned_chain`` (consecutive
        attuned initiatives).
    """
    rows = []
    for (rec, actor, partner), g in found.groupby(["recording_id", "actor", "partner"], dropna=False, observed=True):
        n = len(g)
        minutes = (duration_ms if duration_ms else max(1, int(g["onset_ms"].max() - g["onset_ms"].min()))) / 60000
        lat = g["reception_latency_ms"].dropna().astype(float)
        row: dict[str, object] = {"recording_id": rec, "actor": actor, "partner": partner, "initiatives": n}
        for o in OUTCOMES:
            k = int((g["outcome"] == o).sum())
            row[o] = k
            row[f"p_{o}"] = k / n if n else np.nan
        row["attuned_per_min"] = row["attuned"] / minutes if minutes else np.nan
        row["reception_latency_median_ms"] = float(lat.median()) if len(lat) else np.nan
        row["reception_latency_iqr_ms"] = float(lat.quantile(0.75) - lat.quantile(0.25)) if len(lat) else np.nan
        row["longest_attuned_chain"] = _longest_attuned_chain(g.sort_values("onset_ms")["outcome"])
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["params"] = dict(found.attrs.get("params", {}), duration_ms=duration_ms)
    return out

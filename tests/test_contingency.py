"""Attunement contingencies on small hand-coded interactions whose answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import AnnotationTable, default_scheme
from workbench.analysis.contingency import contingencies, contingency_summary


def _table(rows: list[tuple[int, str, str, int, int | None]]) -> AnnotationTable:
    return AnnotationTable(
        [
            {"id": i, "recording_id": 1, "actor": a, "code": c, "onset_ms": on, "offset_ms": off}
            for i, a, c, on, off in rows
        ]
    )


def test_each_outcome_once() -> None:
    t = _table(
        [
            # attuned: reception 600 ms after, then a response
            (1, "child", "initiative-nonverbal", 1000, 2000),
            (2, "parent", "returning-eye-contact", 1600, 2600),
            (3, "parent", "receiving-responding", 2400, 3500),
            # received only
            (4, "child", "initiative-verbal", 10_000, None),
            (5, "parent", "showing-noticed", 10_900, None),
            # discordant before any reception
            (6, "child", "initiative-verbal", 20_000, None),
            (7, "parent", "discordant-overriding", 20_500, 21_500),
            (8, "parent", "receiving-words", 21_000, None),
            # missed: the reception comes after the 3 s window
            (9, "child", "initiative-nonverbal", 30_000, 31_000),
            (10, "parent", "returning-eye-contact", 33_001, 34_000),
        ]
    )
    found = contingencies(t, default_scheme()).set_index("initiative_id")
    assert found.loc[1, "outcome"] == "attuned"
    assert found.loc[1, "reception_latency_ms"] == 600 and found.loc[1, "response_latency_ms"] == 1400
    assert found.loc[4, "outcome"] == "received" and found.loc[4, "reception_id"] == 5
    assert found.loc[6, "outcome"] == "discordant" and found.loc[6, "discordant_id"] == 7
    assert found.loc[9, "outcome"] == "missed"
    # a wider window turns the late reception into one
    wide = contingencies(t, default_scheme(), window_ms=(0, 3500)).set_index("initiative_id")
    assert wide.loc[9, "outcome"] == "received"
    assert wide.attrs["params"]["window_ms"] == [0, 3500]


def test_a_response_before_the_reception_does_not_count_and_own_acts_are_ignored() -> None:
    t = _table(
        [
            (1, "child", "initiative-verbal", 1000, None),
            (2, "parent", "having-fun", 1200, 1500),  # response, but before the reception
            (3, "parent", "receiving-words", 1800, None),
            (4, "child", "returning-eye-contact", 1100, None),  # the initiator's own act
        ]
    )
    found = contingencies(t, default_scheme()).set_index("initiative_id")
    assert found.loc[1, "outcome"] == "received"
    assert found.loc[1, "reception_id"] == 3


def test_summary_counts_rates_latencies_and_chains() -> None:
    rows = []
    i = 0
    for k, answered in enumerate([True, True, False, True, True, True]):
        on = k * 5000
        rows.append((i := i + 1, "child", "initiative-nonverbal", on, on + 500))
        if answered:
            rows.append((i := i + 1, "parent", "returning-eye-contact", on + 400 + 100 * k, None))
            rows.append((i := i + 1, "parent", "receiving-responding", on + 1500, on + 2000))
    summary = contingency_summary(contingencies(_table(rows), default_scheme()), duration_ms=60_000)
    row = summary.set_index("actor").loc["child"]
    assert row["initiatives"] == 6 and row["attuned"] == 5 and row["missed"] == 1
    assert row["p_attuned"] == pytest.approx(5 / 6)
    assert row["attuned_per_min"] == pytest.approx(5.0)
    assert row["longest_attuned_chain"] == 3
    # latencies 400, 500, 700, 800, 900 ms: median 700, IQR 800 - 500 = 300
    assert row["reception_latency_median_ms"] == 700 and row["reception_latency_iqr_ms"] == 300


def test_bad_window() -> None:
    with pytest.raises(ValueError, match="window"):
        contingencies(_table([]), default_scheme(), window_ms=(3000, 1000))


def _brute_force(rows: list[dict], window: tuple[int, int]) -> dict[tuple[int, str], tuple[str, int | None]]:
    """The definition, event by event: outcome and reception id per (initiative id, partner)."""
    scheme = default_scheme()
    kind = {c.key: c.kind for c in scheme.codes}
    out = {}
    for ini in rows:
        if kind[ini["code"]] != "initiative":
            continue
        partners = {r["actor"] for r in rows if r["recording_id"] == ini["recording_id"]} - {ini["actor"]}
        for partner in partners:
            lo, hi = ini["onset_ms"] + window[0], ini["onset_ms"] + window[1]
            answers = sorted(
                (
                    r
                    for r in rows
                    if r["recording_id"] == ini["recording_id"] and r["actor"] == partner and lo <= r["onset_ms"] <= hi
                ),
                key=lambda r: (r["onset_ms"], r["id"]),
            )
            rec = next((r for r in answers if kind[r["code"]] == "reception"), None)
            resp = next(
                (
                    r
                    for r in answers
                    if kind[r["code"]] == "response" and (rec is None or r["onset_ms"] >= rec["onset_ms"])
                ),
                None,
            )
            disc = next((r for r in answers if kind[r["code"]] == "discordant"), None)
            firsts = [r["onset_ms"] for r in (rec, resp) if r is not None]
            if disc is not None and (not firsts or disc["onset_ms"] <= min(firsts)):
                outcome = "discordant"
            elif resp is not None:
                outcome = "attuned"
            elif rec is not None:
                outcome = "received"
            else:
                outcome = "missed"
            out[(ini["id"], partner)] = (outcome, None if rec is None else rec["id"])
    return out


def test_agrees_with_the_definition_on_random_codings(rng) -> None:
    scheme = default_scheme()
    codes = [
        "initiative-verbal",
        "initiative-nonverbal",
        "returning-eye-contact",
        "receiving-words",
        "receiving-responding",
        "having-fun",
        "discordant-overriding",
        "waiting",
    ]
    rows = []
    for i in range(600):
        rows.append(
            {
                "id": i + 1,
                "recording_id": int(rng.integers(1, 5)),
                "actor": str(rng.choice(["parent", "child", "sibling"])),
                "code": str(rng.choice(codes)),
                "onset_ms": int(rng.integers(0, 40_000) // 100 * 100),
            }
        )  # coarse times: many ties
    expected = _brute_force(rows, (0, 3000))
    got = contingencies(AnnotationTable(rows), scheme)
    mine = {
        (int(r.initiative_id), r.partner): (str(r.outcome), None if pd.isna(r.reception_id) else int(r.reception_id))
        for r in got.itertuples()
    }
    assert mine == expected
    assert len(expected) > 300 and {o for o, _ in expected.values()} == {"attuned", "received", "discordant", "missed"}


def test_by_coder_never_answers_one_coders_initiative_with_anothers_reception() -> None:
    """The trainee missed the child's initiative; the supervisor's reception of it does not count for her."""
    from workbench.analysis.contingency import contingencies_by_coder

    rows = [
        {"id": 1, "actor": "child", "code": "initiative-nonverbal", "onset_ms": 1000, "coder": "trainee"},
        {"id": 2, "actor": "child", "code": "initiative-nonverbal", "onset_ms": 1000, "coder": "supervisor"},
        {"id": 3, "actor": "parent", "code": "returning-eye-contact", "onset_ms": 1500, "coder": "supervisor"},
        {"id": 4, "actor": "parent", "code": "returning-eye-contact", "onset_ms": 9000, "coder": "trainee"},
    ]
    found = contingencies_by_coder(AnnotationTable(rows), default_scheme())
    assert found.columns[0] == "coder"
    assert dict(zip(found["coder"], found["outcome"].astype(str), strict=True)) == {
        "supervisor": "received",
        "trainee": "missed",
    }
    assert found.attrs["params"]["window_ms"] == [0, 3000]


def test_scheme_lookups_name_unknown_codes_plainly() -> None:
    from workbench.scheme import NOT_IN_SCHEME, NOT_IN_SCHEME_COLOUR

    scheme = default_scheme()
    assert scheme.label_of("waiting") == scheme.code("waiting").label
    assert scheme.principle_of("waiting") == scheme.category("encouraging").label
    assert scheme.kind_of("returning-eye-contact") == "reception"
    assert scheme.colour_of("waiting") == scheme.code("waiting").colour
    assert (scheme.label_of("zz"), scheme.principle_of("zz"), scheme.kind_of("zz")) == ("zz", NOT_IN_SCHEME, "")
    assert scheme.colour_of("zz") == NOT_IN_SCHEME_COLOUR

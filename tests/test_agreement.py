"""Coder agreement against numbers from outside: BORIS's own tests, textbook and manual
examples of Cohen's kappa, Krippendorff's worked example, scikit-learn and the krippendorff
package.

Where the expected value is ours (hand-worked cases), the working is written beside it.
"""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

import workbench.analysis.agreement as agreement
from workbench import AnnotationTable
from workbench.analysis.agreement import (
    NO_BEHAVIOUR,
    UNMATCHED,
    AgreementReport,
    agreement_report,
    cohen_kappa,
    confusion_matrix,
    event_kappa,
    krippendorff_alpha,
    match_events,
    per_code_agreement,
    unit_categories,
)
from workbench.io import NO_FOCAL_SUBJECT, BorisProject, read_boris

# -- helpers --------------------------------------------------------------------------------------


def _table(rows: list[tuple[str, str, int, int | None]], coder: str = "") -> AnnotationTable:
    """Rows ``(actor, code, onset_ms, offset_ms or None for a point)``."""
    return AnnotationTable([{"id": i, "actor": a, "code": c, "onset_ms": on, "offset_ms": off, "coder": coder}
                            for i, (a, c, on, off) in enumerate(rows, start=1)])


def _coded_units(cells: list[tuple[str | None, str | None, int]], unit_ms: int = 1000,
                 actor: str = "child") -> tuple[AnnotationTable, AnnotationTable, int]:
    """Two codings from a table of counts: ``(code of A, code of B, how many units)``.

    Each unit is one state ``[k * unit, (k + 1) * unit)`` per coder; ``None`` codes nothing
    there (the unit is "(no behaviour)"). Returns both tables and the end of the last unit.
    """
    rows_a: list[tuple[str, str, int, int | None]] = []
    rows_b: list[tuple[str, str, int, int | None]] = []
    k = 0
    for code_a, code_b, count in cells:
        for _ in range(count):
            if code_a is not None:
                rows_a.append((actor, code_a, k * unit_ms, (k + 1) * unit_ms))
            if code_b is not None:
                rows_b.append((actor, code_b, k * unit_ms, (k + 1) * unit_ms))
            k += 1
    return _table(rows_a, "a"), _table(rows_b, "b"), k * unit_ms


def _brute_force_categories(table: AnnotationTable, actors: list[str], start: int, end: int,
                            unit_ms: int) -> list[str]:
    """The documented workbench convention, one unit at a time, without any vector tricks."""
    out = []
    rows = table.records()
    for actor in actors:
        for s in range(start, end, unit_ms):
            e = min(s + unit_ms, end)
            active = set()
            for r in rows:
                if r["actor"] != actor:
                    continue
                if r["onset_ms"] == r["offset_ms"]:
                    if s <= r["onset_ms"] < e:
                        active.add(r["code"])
                elif r["onset_ms"] < e and r["offset_ms"] > s:
                    active.add(r["code"])
            out.append(f"{actor}: {'+'.join(sorted(active))}" if active else NO_BEHAVIOUR)
    return out


def _kappa_from_counts(counts: np.ndarray) -> float:
    """Cohen (1960): (p_o - p_e) / (1 - p_e) from a square table of counts."""
    n = counts.sum()
    p_o = np.trace(counts) / n
    p_e = float(np.sum(counts.sum(axis=0) * counts.sum(axis=1))) / n**2
    return (p_o - p_e) / (1 - p_e)


# -- BORIS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boris(real_data: Path) -> BorisProject:
    """BORIS's own test project, read by our reader (one observation has unpaired events)."""
    with pytest.warns(UserWarning, match="unpaired"):
        return read_boris(real_data / "BORIS" / "test.boris", unpaired="skip")


ALL_SUBJECTS = [NO_FOCAL_SUBJECT, "subject1", "subject2"]

# Every value BORIS's tests assert for its time-unit Cohen's kappa on files/test.boris:
# olivierfriard/BORIS, tests/test_irr.py (commit 6993d7566e74668c26c0eb026dae22e5007db14f),
# class Test_irr. BORIS rounds K to 3 decimals (boris/irr.py, cohen_kappa).
BORIS_KAPPAS = [
    # test_cohen_kappa_same_observation, line 46: `assert K == 1`
    pytest.param("observation #1", "observation #1", ["subject1", "subject2"], ["s", "p"], 1000, 1.0,
                 id="same observation (test_irr.py:46)"),
    # test_cohen_kappa_very_different_obs, line 71: `assert K == -0.036`
    pytest.param("observation #1", "observation #2", ["subject1", "subject2"], ["s"], 1000, -0.036,
                 id="very different, s, 1 s (test_irr.py:71)"),
    # test_cohen_kappa_very_similar_obs_interval_state_1s, line 95: `assert K == 0.988`
    pytest.param("observation #2", "observation #2 (copy)", ALL_SUBJECTS, ["s"], 1000, 0.988,
                 id="very similar, s, 1 s (test_irr.py:95)"),
    # test_cohen_kappa_very_similar_obs_interval_state_3s, line 119: `assert K == 1`
    pytest.param("observation #2", "observation #2 (copy)", ALL_SUBJECTS, ["s"], 3000, 1.0,
                 id="very similar, s, 3 s (test_irr.py:119)"),
    # test_cohen_kappa_very_similar_obs_interval_point_1s, line 143: `assert K == 0.866`
    pytest.param("observation #2", "observation #2 (copy)", ALL_SUBJECTS, ["p"], 1000, 0.866,
                 id="very similar, p, 1 s (test_irr.py:143)"),
    # test_cohen_kappa_very_similar_obs_interval_point_3s, line 167: `assert K == 0.798`
    pytest.param("observation #2", "observation #2 (copy)", ALL_SUBJECTS, ["p"], 3000, 0.798,
                 id="very similar, p, 3 s (test_irr.py:167)"),
]


@pytest.mark.parametrize(("obs_a", "obs_b", "subjects", "behaviours", "unit_ms", "expected"), BORIS_KAPPAS)
def test_boris_convention_reproduces_boris_test_values(
    boris: BorisProject, obs_a: str, obs_b: str, subjects: list[str], behaviours: list[str], unit_ms: int,
    expected: float,
) -> None:
    k = cohen_kappa(boris.observations[obs_a], boris.observations[obs_b], unit_ms,
                    actor=subjects, codes=behaviours, convention="boris")
    assert round(k, 3) == expected


def test_boris_observation_without_events_is_refused(boris: BorisProject) -> None:
    # test_obs_without_events, line 191: BORIS returns its error value `K == -100`
    # ("The observation ... has no recorded events"); we raise instead.
    with pytest.raises(ValueError, match=r"coding #2 .*BORIS.*-100"):
        cohen_kappa(boris.observations["observation #2"], boris.observations["observation without events"],
                    1000, actor=ALL_SUBJECTS, codes=["s"], convention="boris")


def test_boris_kappa_differs_from_workbench_convention(boris: BorisProject) -> None:
    """The two conventions really differ (BORIS samples instants, we cover intervals)."""
    a, b = boris.observations["observation #2"], boris.observations["observation #2 (copy)"]
    ours = cohen_kappa(a, b, 1000, actor=ALL_SUBJECTS, codes=["p"])
    theirs = cohen_kappa(a, b, 1000, actor=ALL_SUBJECTS, codes=["p"], convention="boris")
    assert round(theirs, 3) == 0.866 and abs(ours - theirs) > 0.01


def test_boris_units_are_instants_with_inclusive_states_and_half_unit_points() -> None:
    # boris/irr.py, subj_behav_modif: states where `t BETWEEN start AND stop`, points where
    # `abs(start - t) <= interval / 2`; instants from the first start while t <= last stop.
    a = _table([("s1", "s", 1000, 3000), ("s1", "p", 4500, None)])
    b = _table([("s1", "s", 1000, 2000)])
    units = unit_categories(a, b, 1000, convention="boris")
    # first = 1000, last = 4500: instants 1000, 2000, 3000, 4000 (5000 > 4500)
    assert units["start_ms"].tolist() == [1000, 2000, 3000, 4000]
    assert (units["start_ms"] == units["end_ms"]).all()
    # A: s at 1000..3000 inclusive; the point 4500 is exactly half a unit from 4000 (and 5000 is no
    # instant), and 4.5 - 4.0 <= 0.5 holds in binary floating point too
    assert units["category_a"].tolist() == ["s1: s", "s1: s", "s1: s", "s1: p"]
    # B: 2000 is the state's stop, still inside (BETWEEN is inclusive)
    assert units["category_b"].tolist() == ["s1: s", "s1: s", NO_BEHAVIOUR, NO_BEHAVIOUR]


def test_boris_half_unit_boundary_is_decided_in_binary_floating_point() -> None:
    # A point at 1.1 s, instants at 0.6 s and 1.6 s (the first event is a state at 0.6 s).
    # Exactly, both are 0.5 s away; in IEEE doubles (what BORIS's SQLite compares) only one is:
    assert abs(1.1 - 0.6) > 0.5 and abs(1.1 - 1.6) <= 0.5
    a = _table([("s1", "s", 600, 650), ("s1", "p", 1100, None), ("s1", "s", 1700, 1750)])
    units = unit_categories(a, a, 1000, convention="boris")
    assert units["start_ms"].tolist() == [600, 1600]
    assert units["category_a"].tolist() == ["s1: s", "s1: p"]


def test_boris_drops_the_last_instant_when_the_float_end_is_below_it() -> None:
    # BORIS loops `while Decimal(t) <= last` with `last` a float: 12.7 s is stored as
    # 12.699999999999999289..., so the instant 12.7 s is not visited; 12.5 s is exact in binary.
    assert not Decimal("12.7") <= 12.7 and Decimal("12.5") <= 12.5
    short = unit_categories(_table([("s1", "s", 700, 12700)]), _table([("s1", "s", 700, 12700)]), 1000,
                            convention="boris")
    assert short["start_ms"].iloc[-1] == 11700
    full = unit_categories(_table([("s1", "s", 500, 12500)]), _table([("s1", "s", 500, 12500)]), 1000,
                           convention="boris")
    assert full["start_ms"].iloc[-1] == 12500


def test_boris_categories_are_multisets_qualified_by_subject() -> None:
    # BORIS's category is the list [[subject, behaviour], ...]: two points of one behaviour
    # within half a unit are [p, p], not [p]; subject1's s is not subject2's s; no events is [].
    a = _table([("s1", "p", 1000, None), ("s1", "p", 1200, None), ("s2", "s", 1000, 2000)])
    b = _table([("s1", "p", 1000, None), ("s2", "s", 1000, 2000), ("s1", "s", 2000, 2000 + 1)])
    units = unit_categories(a, b, 1000, convention="boris").set_index(["actor", "start_ms"])
    assert units.loc[("s1", 1000), "category_a"] == "s1: p+p"
    assert units.loc[("s1", 1000), "category_b"] == "s1: p"
    assert units.loc[("s2", 1000), "category_a"] == "s2: s"
    assert units.loc[("s1", 2000), "category_a"] == NO_BEHAVIOUR
    assert units.loc[("s1", 2000), "category_b"] == "s1: s"


# -- Cohen's kappa, textbook and manual examples ---------------------------------------------------


def test_kappa_matches_the_wikipedia_worked_example() -> None:
    # Wikipedia, "Cohen's kappa", section "Simple example": 50 grant proposals read by A and B;
    # yes/yes 20, A yes B no 5, A no B yes 10, no/no 15; p_o = 0.70, p_e = 0.50, kappa = 0.40.
    # Here "yes" is a code and "no" is coding nothing ("(no behaviour)") in a 1 s unit.
    a, b, end = _coded_units([("yes", "yes", 20), ("yes", None, 5), (None, "yes", 10), (None, None, 15)])
    assert cohen_kappa(a, b, 1000, span_ms=(0, end)) == pytest.approx(0.40, abs=1e-12)
    counts = confusion_matrix(a, b, 1000, span_ms=(0, end))
    assert counts.loc["child: yes", "child: yes"] == 20 and counts.loc[NO_BEHAVIOUR, NO_BEHAVIOUR] == 15
    assert counts.loc["child: yes", NO_BEHAVIOUR] == 5 and counts.loc[NO_BEHAVIOUR, "child: yes"] == 10


def test_kappa_matches_a_sas_printout_three_categories() -> None:
    # SAS PROC FREQ AGREE printout for the 3x3 table [[0, 4, 1], [0, 8, 0], [0, 1, 5]] as quoted in
    # statsmodels' tests (statsmodels/stats/tests/test_inter_rater.py, UnweightedCohens:
    # "Simple Kappa Coefficient ... Kappa 0.4842").
    table10 = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
    codes = ["x", "y", "z"]
    cells = [(codes[i], codes[j], table10[i][j]) for i in range(3) for j in range(3)]
    a, b, end = _coded_units(cells, unit_ms=250)
    assert round(cohen_kappa(a, b, 250), 4) == 0.4842
    assert round(cohen_kappa(a, b, 250, span_ms=(0, end)), 4) == 0.4842


def test_kappa_is_sklearns_over_the_documented_units(rng: np.random.Generator) -> None:
    """Random codings with overlaps and points: our vectorised units vs a unit-by-unit loop."""
    codes = ["a", "b", "c"]
    for _ in range(5):
        tables = []
        for _coder in range(2):
            rows: list[tuple[str, str, int, int | None]] = []
            for _i in range(int(rng.integers(5, 25))):
                on = int(rng.integers(0, 20_000))
                off = None if rng.random() < 0.3 else on + int(rng.integers(1, 4000))
                rows.append((str(rng.choice(["parent", "child"])), str(rng.choice(codes)), on, off))
            tables.append(_table(rows))
        a, b = tables
        unit = int(rng.choice([250, 1000, 1500]))
        span = (0, 25_000)
        actors = sorted(set(a.actors) | set(b.actors))
        la = _brute_force_categories(a, actors, *span, unit)
        lb = _brute_force_categories(b, actors, *span, unit)
        expected = cohen_kappa_score(la, lb)
        assert cohen_kappa(a, b, unit, span_ms=span) == pytest.approx(expected, abs=1e-12)
        units = unit_categories(a, b, unit, span_ms=span)
        assert units["category_a"].tolist() == la and units["category_b"].tolist() == lb


def test_workbench_units_hand_worked() -> None:
    a = _table([
        ("parent", "waiting", 500, 1500),       # overlaps units 0 and 1
        ("parent", "having-fun", 1000, 2000),   # unit 1 only: the offset is exclusive
        ("child", "initiative-verbal", 2999, None),  # a point counts in the unit holding it
    ])
    b = _table([("parent", "waiting", 1000, 2000)])
    units = unit_categories(a, b, 1000)
    assert units["start_ms"].tolist() == [0, 1000, 2000] * 2
    assert units["actor"].tolist() == ["child"] * 3 + ["parent"] * 3
    assert units["category_a"].tolist() == [NO_BEHAVIOUR, NO_BEHAVIOUR, "child: initiative-verbal",
                                            "parent: waiting", "parent: having-fun+waiting", NO_BEHAVIOUR]
    assert units["category_b"].tolist() == [NO_BEHAVIOUR] * 3 + [NO_BEHAVIOUR, "parent: waiting", NO_BEHAVIOUR]
    # default span: from the unit holding the first event (500 -> 0) to the last end (3000)
    assert units["end_ms"].tolist() == [1000, 2000, 3000] * 2
    # a given span cuts units from its start; the last unit may be short
    units = unit_categories(a, b, 1000, span_ms=(200, 2700), actor="parent")
    assert units["start_ms"].tolist() == [200, 1200, 2200] and units["end_ms"].tolist() == [1200, 2200, 2700]
    assert units["category_a"].tolist() == ["parent: having-fun+waiting"] * 2 + [NO_BEHAVIOUR]
    # 6 units: A and B agree on 3 (child units 0 and 1, parent unit 2) -> the hand formula
    counts = confusion_matrix(a, b, 1000).to_numpy()
    assert counts.sum() == 6 and np.trace(counts) == 3
    assert cohen_kappa(a, b, 1000) == pytest.approx(_kappa_from_counts(counts))


def test_kappa_options_and_perfect_single_category() -> None:
    a = _table([("child", "x", 0, 3000), ("parent", "y", 0, 3000)])
    b = _table([("child", "x", 0, 3000), ("parent", "z", 0, 3000)])
    assert cohen_kappa(a, b, actor="child") == 1.0  # one category everywhere: 0/0, reported as 1
    assert cohen_kappa(a, b, codes="x") == 1.0
    # parent: y vs z in all 3 units, child agrees: p_o = 1/2, p_e = (3*3 + 3*0 + 0*3)/36
    assert cohen_kappa(a, b) == pytest.approx((0.5 - 9 / 36) / (1 - 9 / 36))


# -- event kappa ----------------------------------------------------------------------------------


def test_event_kappa_hand_worked() -> None:
    a = _table([("child", "x", 1000, None), ("child", "x", 5000, None), ("child", "y", 9000, None),
                ("child", "y", 20_000, None)])
    b = _table([("child", "x", 1400, None), ("child", "y", 5300, None), ("child", "y", 9900, None),
                ("parent", "z", 12_000, None)])
    # pairs: (x, x), (x, y), (y, y), (y, none), (none, parent z)
    m = match_events(a, b, tolerance_ms=1000)
    assert sorted(m["status"]) == ["agree", "agree", "code", "only_a", "only_b"]
    la = ["child: x", "child: x", "child: y", "child: y", UNMATCHED]
    lb = ["child: x", "child: y", "child: y", UNMATCHED, "parent: z"]
    assert event_kappa(a, b, tolerance_ms=1000) == pytest.approx(cohen_kappa_score(la, lb))
    # only the three pairs: (x, x), (x, y), (y, y): p_o = 2/3, p_e = (2*1 + 1*2)/9
    assert event_kappa(a, b, tolerance_ms=1000, include_unmatched=False) == pytest.approx(
        (2 / 3 - 4 / 9) / (1 - 4 / 9))
    # with a tolerance below 300 ms nothing pairs: 8 events, each against "(none)"; p_o = 0,
    # p_e = (2 x 1 + 2 x 2 + 4 x 4) / 64
    assert event_kappa(a, b, tolerance_ms=200) == pytest.approx((0 - 22 / 64) / (1 - 22 / 64))
    counts = confusion_matrix(a, b, None, 1000)
    assert counts.loc[UNMATCHED, UNMATCHED] == 0 and counts.to_numpy().sum() == 5
    assert counts.loc["child: x", "child: y"] == 1 and counts.loc[UNMATCHED, "parent: z"] == 1


def _best_objective(on_a: list[int], code_a: list[str], on_b: list[int], code_b: list[str],
                    tol: int) -> tuple[int, int, int]:
    """Exhaustive: (most pairs, most same-code pairs, least total onset difference)."""
    best = (0, 0, 0)
    for k in range(min(len(on_a), len(on_b)) + 1):
        for sa in itertools.combinations(range(len(on_a)), k):
            for sb in itertools.permutations(range(len(on_b)), k):
                if all(abs(on_a[i] - on_b[j]) <= tol for i, j in zip(sa, sb, strict=True)):
                    same = sum(code_a[i] == code_b[j] for i, j in zip(sa, sb, strict=True))
                    diff = sum(abs(on_a[i] - on_b[j]) for i, j in zip(sa, sb, strict=True))
                    best = max(best, (k, same, -diff))
    return best[0], best[1], -best[2]


def test_match_events_is_optimal_against_exhaustive_search(rng: np.random.Generator) -> None:
    for _ in range(40):
        n_a, n_b = int(rng.integers(0, 5)), int(rng.integers(0, 5))
        on_a = sorted(int(x) for x in rng.integers(0, 6000, n_a))
        on_b = sorted(int(x) for x in rng.integers(0, 6000, n_b))
        code_a = [str(x) for x in rng.choice(["x", "y"], n_a)]
        code_b = [str(x) for x in rng.choice(["x", "y"], n_b)]
        tol = int(rng.choice([300, 1000, 2000]))
        m = match_events(_table([("c", c, t, None) for t, c in zip(on_a, code_a, strict=True)]),
                         _table([("c", c, t, None) for t, c in zip(on_b, code_b, strict=True)]), tolerance_ms=tol)
        pairs = m[m["status"].isin(["agree", "code"])]
        got = (len(pairs), int((pairs["status"] == "agree").sum()),
               int((pairs["onset_a_ms"] - pairs["onset_b_ms"]).abs().sum()))
        assert got == _best_objective(on_a, code_a, on_b, code_b, tol)
        assert len(m) == n_a + n_b - len(pairs)


def test_match_events_chains_across_a_long_run_and_keeps_its_columns() -> None:
    # onsets chain within the tolerance all the way: the best pairing shifts every partner
    a = _table([("c", "x", t, None) for t in (0, 900, 1800, 2700)])
    b = _table([("c", "x", t, None) for t in (450, 1350, 2250, 3150)])
    m = match_events(a, b, tolerance_ms=500)
    assert (m["status"] == "agree").all() and len(m) == 4
    assert list(m.columns) == ["actor", "id_a", "id_b", "code_a", "code_b", "onset_a_ms", "onset_b_ms", "status"]
    assert str(m["id_a"].dtype) == "Int64" and m.attrs["params"] == {"tolerance_ms": 500}
    table = per_code_agreement(m)
    assert table.to_dict("records") == [{"code": "x", "n_a": 4, "n_b": 4, "agreed": 4, "agreement": 1.0}]
    empty = match_events(AnnotationTable.empty(), AnnotationTable.empty())
    assert list(empty.columns) == list(m.columns) and len(empty) == 0


def test_per_code_agreement_counts_each_coders_events_and_the_agreeing_pairs() -> None:
    # counted by hand: A x@0, x@10s, y@20s; B x@0, y@10s, z@50s (no two onsets within 1 s but the pairs)
    a = _table([("c", "x", 0, None), ("c", "x", 10_000, None), ("c", "y", 20_000, None)])
    b = _table([("c", "x", 0, None), ("c", "y", 10_000, None), ("c", "z", 50_000, None)])
    table = per_code_agreement(match_events(a, b, tolerance_ms=1000)).set_index("code")
    assert table.loc["x"].tolist() == [2, 1, 1, pytest.approx(2 / 3)]  # n_a, n_b, agreed, 2*agreed/(n_a+n_b)
    assert table.loc["y"].tolist() == [1, 1, 0, 0.0]
    assert table.loc["z"].tolist() == [0, 1, 0, 0.0]
    assert list(table.index) == ["x", "y", "z"]
    none = per_code_agreement(match_events(AnnotationTable.empty(), AnnotationTable.empty()))
    assert len(none) == 0 and list(none.columns) == ["code", "n_a", "n_b", "agreed", "agreement"]


# -- Krippendorff's alpha -------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C (nominal data,
# any number of observers, missing data): 4 observers, 12 units; None = not coded.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _krippendorff_tables() -> list[AnnotationTable]:
    """Each observer as a coding: value v of unit k is a state coded "v" over [k s, k+1 s)."""
    return [
        _table([("child", str(v), k * 1000, (k + 1) * 1000) for k, v in enumerate(values) if v is not None])
        for values in KRIPPENDORFF_2011
    ]


def test_alpha_reproduces_krippendorffs_worked_example() -> None:
    tables = _krippendorff_tables()
    # the paper: nominal alpha = .743
    assert round(krippendorff_alpha(tables, 1000, "nominal", empty="missing"), 3) == 0.743
    # the same data, other levels, as the krippendorff package's docstring quotes them from the
    # paper ("page 8"): ordinal .815, ratio .797
    assert round(krippendorff_alpha(tables, 1000, "ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(tables, 1000, "ratio"), 3) == 0.797
    raw = np.array([[np.nan if v is None else v for v in row] for row in KRIPPENDORFF_2011], dtype=float)
    assert krippendorff_alpha(tables, 1000, "interval") == pytest.approx(
        krippendorff.alpha(raw, level_of_measurement="interval"))
    # empty units as a category of their own: unit 12 now pairs B's 3 with three "(no behaviour)"
    with_empty = krippendorff_alpha(tables, 1000, "nominal")
    assert with_empty != pytest.approx(0.743, abs=1e-3)


def test_two_coder_alpha_is_the_packages_over_hand_listed_units() -> None:
    a = _table([("child", "x", 0, 2000), ("child", "y", 3000, 4000), ("parent", "z", 1000, 3000)])
    b = _table([("child", "x", 0, 1000), ("child", "y", 2000, 4000), ("parent", "z", 1000, 2000)])
    # units 0..3 of child, then of parent, categories written out by hand
    cats = {"x": 0, "y": 1, "z": 2, "-": 3}
    hand_a = ["x", "x", "-", "y", "-", "z", "z", "-"]
    hand_b = ["x", "-", "y", "y", "-", "z", "-", "-"]
    data = np.array([[cats[c] for c in hand_a], [cats[c] for c in hand_b]], dtype=float)
    assert krippendorff_alpha([a, b], 1000) == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    report = agreement_report(a, b)
    assert report.alpha == pytest.approx(krippendorff_alpha([a, b], 1000))


def test_alpha_closed_form_for_many_categories_equals_the_package(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = [
        _table([(str(rng.choice(["p", "c"])), str(rng.choice(list("abcde"))), int(on), int(on) + int(d))
                for on, d in zip(rng.integers(0, 30_000, 30), rng.integers(100, 3000, 30), strict=True)])
        for _ in range(3)
    ]
    with_package = krippendorff_alpha(tables, 500)
    monkeypatch.setattr(agreement, "_PACKAGE_CELLS", 0)  # force the closed form
    assert krippendorff_alpha(tables, 500) == pytest.approx(with_package, abs=1e-12)


# -- report, confusion, errors --------------------------------------------------------------------


def test_agreement_report_collects_the_measures() -> None:
    a = _table([("child", "x", 0, 2000), ("child", "y", 4000, None), ("parent", "z", 1000, 3000)], "trainee")
    b = _table([("child", "x", 300, 2000), ("child", "x", 4200, None), ("parent", "z", 1000, 2500)], "supervisor")
    report = agreement_report(a, b, unit_ms=500, tolerance_ms=1000)
    assert isinstance(report, AgreementReport)
    assert report.kappa == pytest.approx(cohen_kappa(a, b, 500))
    assert report.event_kappa == pytest.approx(event_kappa(a, b, tolerance_ms=1000))
    assert report.alpha == pytest.approx(krippendorff_alpha([a, b], 500))
    pd.testing.assert_frame_equal(report.confusion, confusion_matrix(a, b, 500))
    pd.testing.assert_frame_equal(report.event_confusion, confusion_matrix(a, b, None, 1000))
    units = unit_categories(a, b, 500)
    assert report.n_units == len(units) and report.percent_agreement == pytest.approx(100 * units["agree"].mean())
    assert report.per_code["code"].tolist() == ["x", "y", "z"]
    assert report.params["unit_ms"] == 500 and report.params["tolerance_ms"] == 1000
    assert report.summary().loc["time-unit kappa", "value"] == report.kappa
    assert repr(report).startswith("<AgreementReport | kappa ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.kappa = 1.0  # type: ignore[misc]


def test_confusion_matrix_labels_and_kappa_agree() -> None:
    a = _table([("child", "x", 0, 3000), ("child", "y", 2000, 5000)])
    b = _table([("child", "x", 0, 2000), ("child", "y", 3000, 6000)])
    counts = confusion_matrix(a, b, 1000)
    assert counts.index.name == "a" and counts.columns.name == "b"
    assert list(counts.index) == list(counts.columns) == ["child: x", "child: x+y", "child: y", NO_BEHAVIOUR]
    assert cohen_kappa(a, b, 1000) == pytest.approx(_kappa_from_counts(counts.to_numpy()))
    assert counts.attrs["params"]["unit_ms"] == 1000


def test_errors_name_what_was_expected() -> None:
    a = _table([("child", "x", 0, 1000)])
    with pytest.raises(ValueError, match="Expected unit_ms to be a positive integer"):
        cohen_kappa(a, a, 0)
    with pytest.raises(ValueError, match="Allowed values are 'workbench' and 'boris'"):
        cohen_kappa(a, a, convention="elan")  # type: ignore[arg-type]
    other = AnnotationTable([{"recording_id": 2, "actor": "child", "code": "x", "onset_ms": 0}])
    mine = AnnotationTable([{"recording_id": 1, "actor": "child", "code": "x", "onset_ms": 0}])
    with pytest.raises(ValueError, match=r"one recording, but got recording ids \[1, 2\]"):
        cohen_kappa(mine, other)
    with pytest.raises(ValueError, match="Expected events"):
        cohen_kappa(AnnotationTable.empty(), AnnotationTable.empty())
    with pytest.raises(ValueError, match="span_ms"):
        cohen_kappa(a, a, span_ms=(500, 100))
    with pytest.raises(TypeError, match="AnnotationTable"):
        cohen_kappa(a, a.to_dataframe())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two or more codings"):
        krippendorff_alpha([a])
    with pytest.raises(ValueError, match="Allowed values are 'nominal'"):
        krippendorff_alpha([a, a], level="circular")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="numeric codes"):
        krippendorff_alpha([a, a], level="interval")
    overlapping = _table([("child", "1", 0, 2000), ("child", "2", 1000, 2000)])
    with pytest.raises(ValueError, match=r"one code per unit\), but got 'child: 1\+2'"):
        krippendorff_alpha([overlapping, overlapping], level="interval")
    with pytest.raises(ValueError, match="Expected empty='missing'"):
        krippendorff_alpha([a, a], level="interval", empty="category")
    with pytest.raises(ValueError, match="at least one event pair"):
        event_kappa(AnnotationTable.empty(), AnnotationTable.empty())
    # one empty coding is a legitimate (and bad) agreement in our convention
    assert cohen_kappa(a, AnnotationTable.empty()) == 0.0

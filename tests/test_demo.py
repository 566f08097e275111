"""The demo's data, checked against its own design without building it: scripts, codings, statistics.

Each case's films are written as episodes meant for one outcome each (:attr:`workbench.demo.Act.meant`,
counted by the case's :class:`~workbench.demo.Profile`); the contingency analysis, which only sees the
timings, must find exactly those outcomes in the supervisor's coding. The data must also vary enough for
the research statistics to say something: no lag-sequential transition table where every top transition
is certain (p = 1, Q = 1, one residual), no case whose initiatives are all attuned, a trainee who misses,
mis-codes and lags behind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.analysis.agreement import agreement_report
from workbench.analysis.contingency import contingencies
from workbench.analysis.outcomes import contingency_by_phase
from workbench.analysis.sequential import event_sequences, lag_tables
from workbench.annotations import AnnotationTable
from workbench.demo import CONFUSIONS, DEMO_CASES, DURATION_S, interaction_script, supervisor_coding, trainee_coding
from workbench.scheme import default_scheme

SCRIPTS = {(c.pseudonym, phase): interaction_script(c.pseudonym, phase)
           for c in DEMO_CASES for phase in ("pre", "post")}


def _counts(profile_counts: tuple[int, ...], kinds: tuple[str, ...]) -> dict[str, int]:
    return {k: n for k, n in zip(kinds, profile_counts, strict=True) if n}


@pytest.mark.parametrize("key", list(SCRIPTS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_the_supervisors_coding_has_the_outcomes_the_script_was_written_for(key: tuple[str, str]) -> None:
    acts = SCRIPTS[key]
    found = contingencies(supervisor_coding(acts), default_scheme())
    meant = {(a.actor, a.onset_ms, a.code): a.meant for a in acts if a.meant}
    assert {(r.actor, r.onset_ms, r.code): r.outcome for r in found.itertuples()} == meant
    case = next(c for c in DEMO_CASES if c.pseudonym == key[0])
    profile = case.pre if key[1] == "pre" else case.post
    child = found[found["actor"] == "child"]["outcome"].value_counts()
    assert child[child > 0].to_dict() == _counts(profile.child, ("attuned", "received", "discordant", "missed"))
    assert all(0 <= a.onset_ms <= a.offset_ms <= DURATION_S * 1000 for a in acts)


def test_families_differ_and_change_differently() -> None:
    table = contingency_by_phase([(c, phase, supervisor_coding(acts), int(DURATION_S * 1000))
                                  for (c, phase), acts in SCRIPTS.items()], default_scheme())
    attuned = table.pivot_table(index=["pair", "case"], columns="phase", values="p_attuned", observed=True)
    assert (attuned < 1).all().all(), "no case is 100 % attuned, in either direction"
    child = attuned.loc["child → parent"]
    assert child["pre"].nunique() > 1  # the families differ
    gain = child["post"] - child["pre"]
    assert (gain > 0).all() and gain["Birch"] < gain["Aster"] and gain["Birch"] < gain["Cedar"]  # Birch: little
    bad = table[table["pair"] == "child → parent"].groupby("phase", observed=True)[["missed", "discordant"]].sum()
    assert bad.loc["post"].sum() < bad.loc["pre"].sum()


def test_lag_statistics_are_not_degenerate() -> None:
    """Before, every top transition was certain: p = 1.000, Q = 1.000, adjusted residual 17.6."""
    coding = pd.concat([supervisor_coding(acts).to_dataframe().assign(recording_id=i)
                        for i, acts in enumerate(SCRIPTS.values(), start=1)], ignore_index=True)
    lags = lag_tables(event_sequences(AnnotationTable(coding), with_actor=True), lag=1)
    top = lags[lags["adjusted_residual"] > 1.96].nlargest(15, "adjusted_residual")
    assert len(top) == 15
    assert (top["p"] < 1).sum() >= 10 and (top["yules_q"] < 0.999).sum() >= 8
    assert top["adjusted_residual"].round(1).nunique() >= 10


def test_the_trainee_misses_miscodes_and_lags_behind() -> None:
    rng = np.random.default_rng(7)
    case = DEMO_CASES[2]  # Cedar: the hardest to code
    acts = SCRIPTS[(case.pseudonym, "pre")]
    sup, trainee = supervisor_coding(acts), trainee_coding(acts, case.trainee, rng)
    report = agreement_report(trainee, sup, unit_ms=1000, tolerance_ms=1000, span_ms=(0, int(DURATION_S * 1000)))
    assert 0.3 < report.kappa < 0.95
    m = report.matched
    assert (m["status"] == "only_b").sum() >= 1  # missed by the trainee
    swapped = m[m["status"] == "code"]
    assert any(CONFUSIONS.get(b) == a for a, b in zip(swapped["code_a"], swapped["code_b"], strict=True))
    paired = m[m["status"] != "only_a"].dropna(subset=["onset_a_ms", "onset_b_ms"])
    late = (paired["onset_a_ms"] - paired["onset_b_ms"]).astype(float)
    assert late.median() > 0  # the trainee codes after the picture
    first, second = late[paired["onset_b_ms"] < 30_000], late[paired["onset_b_ms"] >= 30_000]
    assert second.median() > first.median()  # and drifts further behind

"""The shipped outcome instruments: directions as their manuals state them, lookups, validation.

The expected directions and ranges are those of the published sources each entry names: the PSI-SF
(Abidin 1995; higher = more parenting stress, total 36-180, subscales 12-60), the SDQ's scoring
instructions (Goodman 1997; sdqinfo.org: difficulties 0-10 per scale, total difficulties 0-40, all
"higher = more difficulties", the prosocial scale the other way), the PSOC (Johnston & Mash 1989: 16-96,
higher = more competence), WEMWBS (Tennant et al. 2007: 14-70, higher = more wellbeing) and the
goal-based outcomes tool (Law 2019: 0-10, higher = closer to the goal).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbench.errors import InstrumentError
from workbench.instruments import (
    Instrument,
    Instruments,
    Scale,
    default_instruments,
    instruments_from_dict,
    load_instruments,
    normalise_name,
)

#: (instrument as stored, scale as stored) -> (better, range), from the published sources above
PUBLISHED = {
    ("PSI-SF", "total (36-180)"): ("lower", (36, 180)),
    ("PSI-4-SF", "Parental Distress"): ("lower", (12, 60)),
    ("psi-sf", "P-CDI"): ("lower", (12, 60)),
    ("PSI-SF", "difficult child"): ("lower", (12, 60)),
    ("SDQ", "Total difficulties"): ("lower", (0, 40)),
    ("SDQ", "emotional symptoms"): ("lower", (0, 10)),
    ("SDQ", "conduct problems"): ("lower", (0, 10)),
    ("SDQ", "Hyperactivity"): ("lower", (0, 10)),
    ("SDQ", "peer problems"): ("lower", (0, 10)),
    ("Strengths and Difficulties Questionnaire", "Prosocial"): ("higher", (0, 10)),
    ("PSOC", "total"): ("higher", (16, 96)),
    ("WEMWBS", "total"): ("higher", (14, 70)),
    ("goal rating", "0-10"): ("higher", (0, 10)),
}


@pytest.mark.parametrize(("stored", "expected"), list(PUBLISHED.items()), ids=lambda x: " / ".join(map(str, x)))
def test_shipped_directions_and_ranges_are_the_published_ones(stored: tuple[str, str],
                                                              expected: tuple[str, tuple[int, int]]) -> None:
    instruments = default_instruments()
    assert instruments.better(*stored) == expected[0]
    assert instruments.scale(*stored).range == expected[1]


def test_every_shipped_instrument_names_its_source_and_invents_no_reliability() -> None:
    instruments = default_instruments()
    assert {i.name for i in instruments} >= {"PSI-SF", "SDQ", "PSOC", "WEMWBS", "SWEMWBS", "GBO"}
    for inst in instruments:
        assert len(inst.source) > 40 and any(str(year) in inst.source for year in range(1970, 2030)), inst.name
        assert inst.title and all(s.name for s in inst.scales)
        for scale in inst.scales:
            # none of the sources we could read gives a per-scale test-retest r or a normative SD: none shipped
            assert scale.reliability is None and scale.normative_sd is None, (inst.name, scale.name)


def test_mixed_scales_and_unknown_instruments_have_no_direction() -> None:
    instruments = default_instruments()
    assert instruments.better("SDQ") is None  # difficulties and prosocial go opposite ways
    assert instruments.better("SDQ", "a scale we do not know") is None
    assert instruments.better("PSI-SF") == "lower"  # every outcome scale agrees
    assert instruments.better("PSI-SF", "defensive responding") is None  # a validity scale
    assert instruments.better("my service's own questionnaire") is None
    assert "psi 4 sf" in instruments and "PSI" not in instruments  # the full-length PSI is another instrument


def test_names_compare_without_case_spacing_punctuation_or_range() -> None:
    assert normalise_name("Total (36-180)") == normalise_name("total") == "total"
    assert normalise_name("PSI-4 SF") == normalise_name("psi4sf")
    assert normalise_name("0-10") == "010"


def test_invalid_instrument_files_list_every_problem(tmp_path: Path) -> None:
    bad = {"instruments": [
        {"name": "X", "title": "X scale", "source": "Someone (2020).",
         "scales": [{"name": "total", "better": "up", "range": [10, 5], "reliability": 1.2},
                    {"name": "sub", "aliases": ["TOTAL"]}]},
        {"name": "", "scales": []},
    ]}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_instruments(path)
    message = str(info.value)
    assert str(path) in message
    for expected in ("better: Expected 'higher', 'lower' or null, but got 'up'",
                     "range: Expected [min, max] with min < max, but got [10, 5]",
                     "reliability: Expected a number in [0, 1) or null, but got 1.2",
                     "Expected unique scale names, but 'TOTAL' names both 'total' and 'sub'",
                     "instruments[1].name: Expected a non-empty string",
                     "instruments[1].scales: Expected a non-empty list"):
        assert expected in message, expected
    with pytest.raises(InstrumentError, match="Expected a mapping with a list 'instruments'"):
        instruments_from_dict(["not", "a", "mapping"])
    with pytest.raises(InstrumentError, match="names both 'A' and 'B'"):
        Instruments((Instrument("A", "a", ("same",), (Scale("t"),), "s"),
                     Instrument("B", "b", ("Same",), (Scale("t"),), "s")))


def test_a_service_adds_its_own_instrument(tmp_path: Path) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text(yaml.safe_dump({"instruments": [{
        "name": "FAM-7", "title": "Our family questionnaire", "source": "Our service manual (2024), p. 3.",
        "scales": [{"name": "total", "range": [0, 21], "better": "lower", "reliability": 0.81}]}]}), encoding="utf-8")
    ours = load_instruments(path)
    both = default_instruments().merged(ours)
    assert both.better("fam-7", "Total") == "lower" and both.scale("FAM-7", "total").reliability == 0.81
    assert both.better("PSI-SF") == "lower" and len(both) == len(default_instruments()) + 1

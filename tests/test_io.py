"""Interchange: ELAN, BORIS, Observer XT, CSV/TSV and SDIS against files made by those tools.

Expected numbers come from the files themselves, read here independently (lxml XPath over
the EAF XML, ``json`` over the BORIS project, pandas over BORIS's own exports), never from
our readers.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
import statistics
import warnings
from collections import Counter
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pympi
import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from workbench import AnnotationError, AnnotationTable, FormatError, default_scheme
from workbench.io import (
    CODE_TYPE,
    NO_FOCAL_SUBJECT,
    POINT_TYPE,
    read_boris,
    read_eaf,
    read_otx,
    read_table,
    sdis_codes,
    write_eaf,
    write_sdis,
    write_table,
)
from workbench.scheme import RESERVED_SHORTCUTS


@pytest.fixture(scope="module")
def eaf_schema(real_data: Path) -> etree.XMLSchema:
    """ELAN's EAF 3.0 XML schema (from pympi-ling's test folder)."""
    return etree.XMLSchema(etree.parse(str(real_data / "ELAN" / "EAFv3.0.xsd")))


@pytest.fixture
def mixed_table() -> AnnotationTable:
    """Seven rows of the default VIG scheme: two coders; the parent's codes overlap (800-900 ms);
    two point events at the same time (700 ms) and one at time 0; a child state from 0 to 100 ms."""
    s = default_scheme()
    k = s.code_keys
    rows = [
        {"actor": "parent", "code": k[0], "onset_ms": 100, "offset_ms": 900, "coder": "sup"},
        {"actor": "parent", "code": k[1], "onset_ms": 800, "offset_ms": 1500, "coder": "sup"},
        {"actor": "parent", "code": k[2], "onset_ms": 700, "coder": "sup"},
        {"actor": "parent", "code": k[2], "onset_ms": 700, "coder": "sup"},
        {"actor": "child", "code": k[3], "onset_ms": 0, "offset_ms": 100, "coder": "trainee"},
        {"actor": "child", "code": k[4], "onset_ms": 0, "coder": "trainee"},
        {"actor": "parent", "code": k[3], "onset_ms": 1500, "offset_ms": 2000, "coder": "trainee"},
    ]
    return AnnotationTable(rows, scheme=s)


def _key(table: AnnotationTable, cols: tuple[str, ...] = ("actor", "code", "onset_ms", "offset_ms")) -> Counter:
    df = table.to_dataframe()
    return Counter(zip(*(df[c].tolist() for c in cols), strict=True))


# -- ELAN ----------------------------------------------------------------------------------------


def _xml(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def _root_tiers(root: etree._Element) -> dict[str, str]:
    """Tier id -> the id at the top of its PARENT_REF chain, read straight from the XML."""
    parent = {t.get("TIER_ID"): t.get("PARENT_REF") for t in root.iterfind("TIER")}
    tops = {}
    for tier in parent:
        top = tier
        while parent[top]:
            top = parent[top]
        tops[tier] = top
    return tops


def _slot_values(root: etree._Element) -> dict[str, int | None]:
    return {
        s.get("TIME_SLOT_ID"): (int(s.get("TIME_VALUE")) if s.get("TIME_VALUE") is not None else None)
        for s in root.iter("TIME_SLOT")
    }


def test_read_sample_eaf_counts_times_and_empty_values(real_data: Path) -> None:
    path = real_data / "ELAN" / "sample_3.0.eaf"
    root = _xml(path)
    values = {
        t.get("TIER_ID"): [(a.findtext("ANNOTATION_VALUE") or "").strip() for a in t.findall("ANNOTATION/*")]
        for t in root.iterfind("TIER")
    }
    n_empty = sum(v == "" for vs in values.values() for v in vs)
    assert n_empty == 1992  # all on words-pos: pympi's test file leaves most POS tags empty

    with pytest.warns(UserWarning, match=rf"skipped {n_empty} annotation\(s\) with an empty value"):
        table = read_eaf(path)
    df = table.to_dataframe()
    assert len(table) == sum(len(v) for v in values.values()) - n_empty == 6786
    assert df.groupby("tier").size().to_dict() == {
        t: sum(v != "" for v in vs) for t, vs in values.items() if any(v != "" for v in vs)
    }
    # the actor is the root tier: 'text' for its four dependent tiers, 'gestures' for itself
    assert set(zip(df["tier"], df["actor"], strict=True)) == {(t, _root_tiers(root)[t]) for t in set(df["tier"])}
    assert set(df["actor"]) == {"text", "gestures"} and set(table.coders) == {""}
    assert df["participant"].isna().all()  # no PARTICIPANT attribute in this file

    # the aligned 'text' tier: times straight from the time slots
    slots = _slot_values(root)
    expected = Counter(
        (slots[a.get("TIME_SLOT_REF1")], slots[a.get("TIME_SLOT_REF2")], a.findtext("ANNOTATION_VALUE"))
        for a in root.xpath("TIER[@TIER_ID='text']/ANNOTATION/ALIGNABLE_ANNOTATION")
    )
    text = df[df["tier"] == "text"]
    assert Counter(zip(text["onset_ms"], text["offset_ms"], text["code"], strict=True)) == expected
    assert (text.iloc[0]["onset_ms"], text.iloc[0]["offset_ms"]) == (2000, 5000)


def test_unaligned_time_slots_are_spread_evenly_like_elan(real_data: Path) -> None:
    path = real_data / "ELAN" / "sample_3.0.eaf"
    root = _xml(path)
    slots = _slot_values(root)
    # 'The quick brown fox 003' (a3) is subdivided on words-timesub by a410..a414, whose four
    # inner boundaries have no time value
    chain = [root.xpath(f"//ALIGNABLE_ANNOTATION[@ANNOTATION_ID='a{n}']")[0] for n in range(410, 415)]
    bounds = [chain[0].get("TIME_SLOT_REF1")] + [a.get("TIME_SLOT_REF2") for a in chain]
    assert [slots[b] is None for b in bounds] == [False, True, True, True, True, False]
    start, end = slots[bounds[0]], slots[bounds[-1]]
    assert (start, end) == (8000, 11000)
    step = (end - start) / 5
    expected = [(round(start + i * step), round(start + (i + 1) * step)) for i in range(5)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_eaf(path, tiers=["words-timesub"]).to_dataframe()
    got = df[(df["onset_ms"] >= start) & (df["offset_ms"] <= end)]
    assert list(zip(got["onset_ms"], got["offset_ms"], strict=True)) == expected
    assert got["code"].tolist() == ["The", "quick", "brown", "fox", "003"]


def test_reference_chains_and_controlled_vocabularies(real_data: Path) -> None:
    path = real_data / "ELAN" / "sample_3.0.eaf"
    root = _xml(path)
    slots = _slot_values(root)
    by_id = {a.get("ANNOTATION_ID"): a for a in root.iter("ALIGNABLE_ANNOTATION", "REF_ANNOTATION")}

    def times(aid: str) -> tuple[int, int]:
        a = by_id[aid]
        while a.tag == "REF_ANNOTATION":
            a = by_id[a.get("ANNOTATION_REF")]
        return slots[a.get("TIME_SLOT_REF1")], slots[a.get("TIME_SLOT_REF2")]

    # words-pos -> words-symsub -> text: the 3 non-empty POS tags get their grandparent's times
    pos = [
        a
        for a in root.xpath("TIER[@TIER_ID='words-pos']/ANNOTATION/REF_ANNOTATION")
        if (a.findtext("ANNOTATION_VALUE") or "").strip()
    ]
    cv = {
        e.get("CVE_ID"): e.findtext("CVE_VALUE") for e in root.xpath("CONTROLLED_VOCABULARY[@CV_ID='POS']/CV_ENTRY_ML")
    }
    expected = Counter((*times(a.get("ANNOTATION_ID")), cv[a.get("CVE_REF")]) for a in pos)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_eaf(path, tiers=["words-pos", "gestures"]).to_dataframe()
    got = df[df["tier"] == "words-pos"]
    assert Counter(zip(got["onset_ms"], got["offset_ms"], got["code"], strict=True)) == expected
    assert sum(expected.values()) == 3

    # the gestures tier refers to the 'Gesture' vocabulary by CVE_REF
    gcv = {
        e.get("CVE_ID"): e.findtext("CVE_VALUE")
        for e in root.xpath("CONTROLLED_VOCABULARY[@CV_ID='Gesture']/CV_ENTRY_ML")
    }
    refs = root.xpath("TIER[@TIER_ID='gestures']/ANNOTATION/ALIGNABLE_ANNOTATION/@CVE_REF")
    assert Counter(df[df["tier"] == "gestures"]["code"]) == Counter(gcv[r] for r in refs)


def test_read_childproject_aclew_tiers(real_data: Path) -> None:
    path = real_data / "ELAN" / "childproject_example.eaf"
    root = _xml(path)
    slots = _slot_values(root)
    by_id = {a.get("ANNOTATION_ID"): a for a in root.iter("ALIGNABLE_ANNOTATION", "REF_ANNOTATION")}

    def times(aid: str) -> tuple[int, int]:
        a = by_id[aid]
        while a.tag == "REF_ANNOTATION":
            a = by_id[a.get("ANNOTATION_REF")]
        return slots[a.get("TIME_SLOT_REF1")], slots[a.get("TIME_SLOT_REF2")]

    table = read_eaf(path, coder="lab", recording_id=7)
    df = table.to_dataframe()
    tier_counts = {t.get("TIER_ID"): len(t.findall("ANNOTATION")) for t in root.iterfind("TIER")}
    assert df.groupby("tier").size().to_dict() == tier_counts
    assert len(table) == 712 and tier_counts["CHI"] == 134 and tier_counts["xds@FA1"] == 91
    # the actor is the root tier: dependent tiers (xds@FA1, lex@CHI, mwu@CHI -> lex@CHI) belong to their speaker
    tops = _root_tiers(root)
    assert all(tops[t] == a for t, a in zip(df["tier"], df["actor"], strict=True))
    assert table.actors == ("CHI", "FA1", "FA2", "UC1", "UC2", "UC3")
    assert set(df["coder"]) == {"lab"} and set(df["recording_id"]) == {7}

    for tier in ("CHI", "xds@FA1", "mwu@CHI"):  # aligned, one reference, two references deep
        anns = root.xpath(f"TIER[@TIER_ID='{tier}']/ANNOTATION/*")
        expected = Counter((*times(a.get("ANNOTATION_ID")), a.findtext("ANNOTATION_VALUE").strip()) for a in anns)
        got = df[df["tier"] == tier]
        assert Counter(zip(got["onset_ms"], got["offset_ms"], got["code"], strict=True)) == expected, tier
    first_chi = df[df["tier"] == "CHI"].iloc[0]
    assert (first_chi["onset_ms"], first_chi["offset_ms"]) == (3150, 3332)
    # the xds codes (addressee) of FA1, an ACLEW closed vocabulary held in an external .ecv file
    assert set(df[df["tier"] == "xds@FA1"]["code"]) <= {"T", "C", "B", "A", "O", "U", "P"}


REAL_EAFS = ["sample_3.0.eaf", "childproject_example.eaf", "example_solis.eaf", "eaf_any_tier.eaf"]


@pytest.mark.parametrize("name", REAL_EAFS)
def test_real_eaf_rows_come_back_under_their_root_tier(real_data: Path, name: str) -> None:
    """Files of other projects (pympi-ling, ChildProject), tier by tier: every non-empty annotation comes
    back once, under the name of the tier at the top of its PARENT_REF chain, with the tier's own
    PARTICIPANT beside it."""
    path = real_data / "ELAN" / name
    root = _xml(path)
    tops = _root_tiers(root)
    participant = {t.get("TIER_ID"): t.get("PARTICIPANT") for t in root.iterfind("TIER")}
    non_empty = {
        t.get("TIER_ID"): sum(bool((a.findtext("ANNOTATION_VALUE") or "").strip()) for a in t.findall("ANNOTATION/*"))
        for t in root.iterfind("TIER")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty values, counted in test_read_sample_eaf_counts_...
        df = read_eaf(path).to_dataframe()
    assert df.groupby("tier").size().to_dict() == {t: n for t, n in non_empty.items() if n}
    for tier, rows in df.groupby("tier"):
        assert set(rows["actor"]) == {tops[tier]}, tier
        assert set(rows["participant"].fillna("")) == {participant[tier] or ""}, tier


def test_real_aclew_participants_that_merged_and_split_people(real_data: Path) -> None:
    """ChildProject's SOLIS example: CHI has PARTICIPANT "Child" but its vcm@CHI has "CHI"; three
    speakers (FA2, MA1, MC1) all have "MULTI". Read by participant, that was one child split in two
    actors and three speakers merged into one."""
    path = real_data / "ELAN" / "example_solis.eaf"
    participant = {t.get("TIER_ID"): t.get("PARTICIPANT") for t in _xml(path).iterfind("TIER")}
    assert (participant["CHI"], participant["vcm@CHI"]) == ("Child", "CHI")
    assert {participant[t] for t in ("FA2", "MA1", "MC1")} == {"MULTI"}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_eaf(path).to_dataframe()
        with pytest.raises(FormatError) as info:
            read_eaf(path, actor_from="participant")
        people = read_eaf(path, actor_from="participant", tiers=["CHI", "vcm@CHI", "FA1", "vcm@FA1"]).to_dataframe()
    assert set(df.loc[df["tier"].isin(["CHI", "vcm@CHI"]), "actor"]) == {"CHI"}
    assert set(df.loc[df["participant"] == "MULTI", "actor"]) == {"FA2", "MA1", "MC1"}
    assert str(path) in str(info.value) and "'FA2', 'MA1', 'MC1' -> 'MULTI'" in str(info.value)
    # by participant, the root tier's value names the person on all their tiers
    assert dict(zip(people["tier"], people["actor"], strict=True)) == {
        "CHI": "Child", "vcm@CHI": "Child", "FA1": "Mother", "vcm@FA1": "Mother",
    }  # fmt: skip


def test_three_speakers_with_participant_multi_stay_three_actors(eaf_multi: Path) -> None:
    df = read_eaf(eaf_multi).to_dataframe()
    assert Counter(df["actor"]) == {"FA2": 2, "MA1": 1, "MC1": 3}
    assert (df["actor"] == df["tier"]).all() and set(df["participant"]) == {"MULTI"}
    with pytest.raises(FormatError) as info:
        read_eaf(eaf_multi, actor_from="participant")
    message = str(info.value)
    assert str(eaf_multi) in message and "'FA2', 'MA1', 'MC1' -> 'MULTI'" in message
    assert "actor_from='tier' (the default)" in message
    # one of them alone merges nothing
    assert read_eaf(eaf_multi, tiers=["MA1"], actor_from="participant").actors == ("MULTI",)


def test_aclew_dependent_tiers_share_their_root_tiers_actor(eaf_aclew: Path) -> None:
    df = read_eaf(eaf_aclew).to_dataframe()
    assert Counter(zip(df["tier"], df["actor"], strict=True)) == {
        ("CHI", "CHI"): 2, ("vcm@CHI", "CHI"): 2, ("lex@CHI", "CHI"): 1, ("mwu@CHI", "CHI"): 1,
        ("FA1", "FA1"): 1, ("xds@FA1", "FA1"): 1,
    }  # fmt: skip
    assert dict(zip(df["tier"], df["participant"], strict=True)) == {
        "CHI": "Child", "vcm@CHI": "CHI", "lex@CHI": "CHI", "mwu@CHI": "CHI", "FA1": "Mother", "xds@FA1": "FA1",
    }  # fmt: skip
    rows = sorted(zip(df["tier"], df["onset_ms"], df["offset_ms"], df["code"], strict=True))
    assert [r for r in rows if r[0] != "CHI" and r[0] != "FA1"] == [
        ("lex@CHI", 1200, 1500, "W"), ("mwu@CHI", 1200, 1500, "1"),
        ("vcm@CHI", 100, 600, "C"), ("vcm@CHI", 1200, 1500, "L"), ("xds@FA1", 700, 1100, "T"),
    ]  # fmt: skip
    by_participant = read_eaf(eaf_aclew, actor_from="participant").to_dataframe()
    assert set(zip(by_participant["tier"], by_participant["actor"], strict=True)) == {
        ("CHI", "Child"), ("vcm@CHI", "Child"), ("lex@CHI", "Child"), ("mwu@CHI", "Child"),
        ("FA1", "Mother"), ("xds@FA1", "Mother"),
    }  # fmt: skip


def test_actors_are_the_tier_names_not_the_participant_codes(eaf_parent_child: Path) -> None:
    table = read_eaf(eaf_parent_child, scheme=default_scheme())
    df = table.to_dataframe()
    assert table.actors == ("Child", "Parent") and table.scheme == default_scheme()
    assert set(zip(df["actor"], df["participant"], df["coder"], strict=True)) == {
        ("Parent", "P01", "coder1"), ("Child", "C01", ""),
    }  # fmt: skip
    assert read_eaf(eaf_parent_child, actor_from="participant").actors == ("C01", "P01")
    with pytest.raises(ValueError, match=r"'actor_from'.*'tier' and 'participant', but got 'speaker'"):
        read_eaf(eaf_parent_child, actor_from="speaker")  # type: ignore[arg-type]


def test_read_eaf_with_a_scheme_names_file_tier_and_time_of_unknown_codes(tmp_path: Path) -> None:
    from tests.fixtures.elan import write_pympi_eaf

    path = write_pympi_eaf(
        tmp_path / "coding.eaf",
        [
            ("Parent", "P01", None, [(0, 500, "waiting"), (83_456, 84_000, "waving")]),
            ("Child", "C01", None, [(4_000_000, 4_000_100, "smiling")]),
            ("vcm@Child", "C01", "Child", [(4_000_050, "waiting")]),
        ],
    )
    with pytest.raises(AnnotationError) as info:
        read_eaf(path, scheme=default_scheme())
    assert info.value.problems == [
        f"{path}, tier 'Parent', 00:01:23.456-00:01:24.000: Expected a code of scheme 'vig-principles', "
        "but got 'waving'.",
        f"{path}, tier 'Child', 01:06:40.000-01:06:40.100: Expected a code of scheme 'vig-principles', "
        "but got 'smiling'.",
    ]


def test_write_eaf_validates_and_round_trips(mixed_table: AnnotationTable, eaf_schema, tmp_path: Path) -> None:
    out = write_eaf(mixed_table, tmp_path / "coding.eaf")
    root = _xml(out)
    assert eaf_schema.validate(etree.parse(str(out))), eaf_schema.error_log
    # two coders: tiers per actor and coder, overlapping rows and coinciding points on extra tiers
    tiers = {t.get("TIER_ID"): t for t in root.iterfind("TIER")}
    assert set(tiers) == {
        "child@trainee",
        "child@trainee (points)",
        "parent@sup",
        "parent@sup #2",
        "parent@sup (points)",
        "parent@sup (points) #2",
        "parent@trainee",
    }
    assert {(t.get("PARTICIPANT"), t.get("ANNOTATOR")) for t in tiers.values()} == {
        ("child", "trainee"),
        ("parent", "sup"),
        ("parent", "trainee"),
    }
    slots = _slot_values(root)
    for tid, t in tiers.items():
        spans = sorted(
            (slots[a.get("TIME_SLOT_REF1")], slots[a.get("TIME_SLOT_REF2")]) for a in t.iter("ALIGNABLE_ANNOTATION")
        )
        assert all(b <= c for (_, b), (c, _) in itertools.pairwise(spans)), f"overlap on {tid}"
        if tid.endswith(("(points)", "(points) #2")):
            assert t.get("LINGUISTIC_TYPE_REF") == POINT_TYPE
            assert all(b - a == 1 for a, b in spans)
    # the scheme became the controlled vocabulary
    entries = root.xpath("CONTROLLED_VOCABULARY[@CV_ID='vig-principles']/CV_ENTRY_ML/CVE_VALUE/text()")
    assert entries == list(default_scheme().code_keys)

    back = read_eaf(out)
    assert _key(back, ("actor", "code", "onset_ms", "offset_ms", "coder")) == _key(
        mixed_table, ("actor", "code", "onset_ms", "offset_ms", "coder")
    )
    assert back.is_point.sum() == 3


def test_workbench_tiers_keep_their_actors_when_renamed_in_elan(mixed_table: AnnotationTable, tmp_path: Path) -> None:
    """Tiers of the workbench's own types name their actor by PARTICIPANT ("parent@sup (points)" is
    actor "parent"), also after a user renamed them in ELAN; a tier the user adds under one of them
    belongs to the same actor."""
    tree = etree.parse(str(write_eaf(mixed_table, tmp_path / "coding.eaf")))
    doc = tree.getroot()
    renamed = {}
    for i, tier in enumerate(doc.iterfind("TIER")):
        renamed[tier.get("TIER_ID")] = tier.get("PARTICIPANT")
        tier.set("TIER_ID", f"Tier {i}")
    first = doc.find("TIER")
    note = etree.SubElement(doc, "TIER", TIER_ID="notes", LINGUISTIC_TYPE_REF="note", PARENT_REF="Tier 0")
    parent_id = first.find("ANNOTATION/ALIGNABLE_ANNOTATION").get("ANNOTATION_ID")
    ref = etree.SubElement(
        etree.SubElement(note, "ANNOTATION"), "REF_ANNOTATION", ANNOTATION_ID="a999", ANNOTATION_REF=parent_id
    )
    etree.SubElement(ref, "ANNOTATION_VALUE").text = "seen"
    first.addnext(note)
    note.addnext(
        etree.Element(
            "LINGUISTIC_TYPE", LINGUISTIC_TYPE_ID="note", TIME_ALIGNABLE="false",
            CONSTRAINTS="Symbolic_Association", GRAPHIC_REFERENCES="false",
        )
    )  # fmt: skip
    tree.write(str(tmp_path / "renamed.eaf"), xml_declaration=True, encoding="UTF-8")

    back = read_eaf(tmp_path / "renamed.eaf").to_dataframe()
    cols = ("actor", "code", "onset_ms", "offset_ms", "coder")
    ours = AnnotationTable(back[back["tier"] != "notes"])
    assert _key(ours, cols) == _key(mixed_table, cols)
    assert set(back.loc[back["tier"] == "notes", "actor"]) == {first.get("PARTICIPANT")}
    assert len(set(renamed.values())) == 2  # seven tiers, two actors: the renaming took every tier id away


def test_a_users_tier_named_like_a_workbench_actor_joins_that_actor(tmp_path: Path) -> None:
    """A tier "parent" the user made in ELAN beside the workbench's "parent@sup" (PARTICIPANT "parent"):
    by tier name they are one actor; by participant, one tier has none, so the merge is refused."""
    eaf = pympi.Elan.Eaf(author="")
    eaf.remove_tier("default")
    eaf.add_linguistic_type(CODE_TYPE)
    eaf.add_linguistic_type("notes")
    eaf.add_tier("parent@sup", ling=CODE_TYPE, part="parent", ann="sup")
    eaf.add_annotation("parent@sup", 100, 400, "waiting")
    eaf.add_tier("parent", ling="notes")
    eaf.add_annotation("parent", 500, 900, "calmer today")
    path = tmp_path / "mixed.eaf"
    pympi.Elan.to_eaf(str(path), eaf)
    df = read_eaf(path).to_dataframe()
    assert set(zip(df["tier"], df["actor"], df["coder"], strict=True)) == {("parent@sup", "parent", "sup"),
                                                                           ("parent", "parent", "")}  # fmt: skip
    with pytest.raises(FormatError, match=r"the workbench's own tiers, 'parent' -> 'parent'"):
        read_eaf(path, actor_from="participant")


def test_real_eaf_round_trip_keeps_every_annotation(real_data: Path, eaf_schema, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = read_eaf(real_data / "ELAN" / "sample_3.0.eaf")
    out = write_eaf(original, tmp_path / "again.eaf")
    assert eaf_schema.validate(etree.parse(str(out))), eaf_schema.error_log
    back = read_eaf(out)
    assert len(back) == len(original) == 6786
    assert _key(back) == _key(original)


def test_write_eaf_media_is_linked_relatively(mixed_table: AnnotationTable, eaf_schema, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    out = write_eaf(mixed_table, tmp_path / "a.eaf", media=tmp_path / "media" / "clip 1.mp4")
    md = _xml(out).find("HEADER/MEDIA_DESCRIPTOR")
    assert md.get("MEDIA_URL") == md.get("RELATIVE_MEDIA_URL") == "./media/clip%201.mp4"
    assert md.get("MIME_TYPE") == "video/mp4"

    outside = Path("/home/alice/private/family-visit.webm")
    out = write_eaf(mixed_table, tmp_path / "b.eaf", media=outside)
    text = out.read_text(encoding="utf-8")
    assert "alice" not in text and "/home" not in text and 'MEDIA_URL="./family-visit.webm"' in text
    assert eaf_schema.validate(etree.parse(str(out)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.eaf", "b.eaf", "media"]  # no .bak, no temp files


def test_write_eaf_without_scheme_and_empty(tmp_path: Path, eaf_schema) -> None:
    t = AnnotationTable([{"actor": "A B", "code": "free text", "onset_ms": 5, "offset_ms": 5}])
    out = write_eaf(t, tmp_path / "x.eaf")
    assert eaf_schema.validate(etree.parse(str(out)))
    assert _xml(out).find("CONTROLLED_VOCABULARY") is None
    assert _key(read_eaf(out)) == _key(t)
    two = AnnotationTable([{"actor": "a", "code": "x", "onset_ms": 0, "recording_id": r} for r in (1, 2)])
    with pytest.raises(ValueError, match=r"recording ids \[1, 2\]"):
        write_eaf(two, tmp_path / "two.eaf")
    empty = write_eaf(AnnotationTable.empty(), tmp_path / "empty.eaf")
    assert eaf_schema.validate(etree.parse(str(empty)))
    assert len(read_eaf(empty)) == 0


_ACTORS = st.sampled_from(["parent", "child", "guider"])
_CODES = st.sampled_from(["a", "b", "c-d", "e f"])


@st.composite
def _tables(draw: st.DrawFn) -> AnnotationTable:
    n = draw(st.integers(0, 25))
    rows = []
    for _ in range(n):
        onset = draw(st.integers(0, 5000))
        dur = draw(st.sampled_from([0, 0, 1, 2, 50, 700]))
        rows.append(
            {
                "actor": draw(_ACTORS),
                "code": draw(_CODES),
                "onset_ms": onset,
                "offset_ms": onset + dur,
                "coder": draw(st.sampled_from(["", "x"])),
            }
        )
    return AnnotationTable(rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=_tables())
def test_eaf_round_trip_property(table: AnnotationTable, tmp_path: Path, eaf_schema) -> None:
    out = write_eaf(table, tmp_path / "p.eaf")
    assert eaf_schema.validate(etree.parse(str(out)))
    cols = ("actor", "code", "onset_ms", "offset_ms", "coder")
    assert _key(read_eaf(out), cols) == _key(table, cols)


def _eaf(tmp_path: Path, body: str, name: str = "t.eaf") -> Path:
    p = tmp_path / name
    p.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ANNOTATION_DOCUMENT AUTHOR="" DATE="2020-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">\n'
        '<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>\n' + body + "</ANNOTATION_DOCUMENT>\n",
        encoding="utf-8",
    )
    return p


_LT = '<LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="lt" TIME_ALIGNABLE="true"/>\n'


def test_cv_entry_ids_written_as_values_are_mapped(tmp_path: Path) -> None:
    p = _eaf(
        tmp_path,
        '<TIME_ORDER><TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="10"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="20"/>'
        "</TIME_ORDER>\n"
        '<TIER LINGUISTIC_TYPE_REF="cvt" TIER_ID="T" ANNOTATOR="ann">'
        '<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">'
        "<ANNOTATION_VALUE>cve_w</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>"
        '<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2"'
        ' CVE_REF="cve_w"><ANNOTATION_VALUE>wachten</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>'
        "</TIER>\n"
        '<LINGUISTIC_TYPE CONTROLLED_VOCABULARY_REF="vig" GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="cvt"'
        ' TIME_ALIGNABLE="true"/>\n'
        '<LANGUAGE LANG_ID="eng"/><LANGUAGE LANG_ID="nld"/>\n'
        '<CONTROLLED_VOCABULARY CV_ID="vig"><CV_ENTRY_ML CVE_ID="cve_w">'
        '<CVE_VALUE LANG_REF="eng">waiting</CVE_VALUE><CVE_VALUE LANG_REF="nld">wachten</CVE_VALUE>'
        "</CV_ENTRY_ML></CONTROLLED_VOCABULARY>\n",
    )
    t = read_eaf(p)
    assert t.to_dataframe()[["actor", "code", "coder", "onset_ms", "offset_ms"]].values.tolist() == [
        ["T", "waiting", "ann", 10, 20],
        ["T", "waiting", "ann", 10, 20],
    ]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (  # a reference annotation pointing at itself through another one
            '<TIME_ORDER/><TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="T">'
            '<ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a1" ANNOTATION_REF="a2"><ANNOTATION_VALUE>x'
            "</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>"
            '<ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a2" ANNOTATION_REF="a1"><ANNOTATION_VALUE>y'
            "</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION></TIER>\n" + _LT,
            "cycle",
        ),
        (
            '<TIME_ORDER/><TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="T">'
            '<ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a1" ANNOTATION_REF="a9"><ANNOTATION_VALUE>x'
            "</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION></TIER>\n" + _LT,
            "'a9'",
        ),
        (
            '<TIME_ORDER><TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="1"/></TIME_ORDER>'
            '<TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="T">'
            '<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts7">'
            "<ANNOTATION_VALUE>x</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION></TIER>\n" + _LT,
            "'ts7'",
        ),
        (
            '<TIME_ORDER><TIME_SLOT TIME_SLOT_ID="ts1"/><TIME_SLOT TIME_SLOT_ID="ts2"/></TIME_ORDER>'
            '<TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="T">'
            '<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">'
            "<ANNOTATION_VALUE>x</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION></TIER>\n" + _LT,
            "unaligned",
        ),
        (
            '<TIME_ORDER/><TIER TIER_ID="T"/>\n',
            "Expected attribute LINGUISTIC_TYPE_REF on <TIER>",
        ),  # no LINGUISTIC_TYPE_REF
        (  # a dependent tier whose parent tier is not in the file
            '<TIME_ORDER/><TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="vcm@CHI" PARENT_REF="CHI"/>\n' + _LT,
            "Expected PARENT_REF of tier 'vcm@CHI' to name a tier of the file, but got 'CHI'",
        ),
        (  # two tiers each the other's parent
            '<TIME_ORDER/><TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="A" PARENT_REF="B"/>'
            '<TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="B" PARENT_REF="A"/>\n' + _LT,
            "cycle: A -> B -> A",
        ),
    ],
)
def test_broken_eaf_references_raise_format_error(tmp_path: Path, body: str, match: str) -> None:
    p = _eaf(tmp_path, body)
    with pytest.raises(FormatError, match=match) as info:
        read_eaf(p)
    assert str(p) in str(info.value)


def test_read_eaf_unknown_tier_is_a_value_error(real_data: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown \['MA1'\]"):
        read_eaf(real_data / "ELAN" / "childproject_example.eaf", tiers=["CHI", "MA1"])


# -- BORIS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boris_test(real_data: Path):
    """``test.boris`` read with its one unpaired observation left out."""
    with pytest.warns(UserWarning, match="live not paired"):
        return read_boris(real_data / "BORIS" / "test.boris", unpaired="skip")


def _boris_actor(subject: str) -> str:
    return NO_FOCAL_SUBJECT if subject == "No focal subject" else subject


def test_boris_unpaired_state_event_is_named(real_data: Path) -> None:
    with pytest.raises(FormatError) as info:
        read_boris(real_data / "BORIS" / "test.boris")
    msg = str(info.value)
    for part in ("test.boris", "'live not paired'", f"'{NO_FOCAL_SUBJECT}'", "behaviour 's'", "26.862 s"):
        assert part in msg


def test_boris_events_agree_with_borises_tabular_export(real_data: Path, boris_test) -> None:
    ours = boris_test.observations["observation #1"].to_dataframe()
    for name, sep in (("test_export_events_tabular.tsv", "\t"), ("test_export_events_tabular.csv", ",")):
        exp = pd.read_csv(real_data / "BORIS" / name, sep=sep, skiprows=18)
        assert list(exp["Status"]) == ["START", "STOP"] * 4
        starts, stops = exp[exp["Status"] == "START"], exp[exp["Status"] == "STOP"]
        expected = Counter(
            (s, b, round(a * 1000), round(o * 1000))
            for s, b, a, o in zip(starts["Subject"], starts["Behavior"], starts["Time"], stops["Time"], strict=True)
        )
        assert _key(boris_test.observations["observation #1"]) == expected
    assert ours["offset_ms"].tolist()[:2] == [7750, 16200]


def test_boris_events_agree_with_borises_aggregated_export(real_data: Path, boris_test) -> None:
    exp = pd.read_csv(real_data / "BORIS" / "test_export_aggregated_events_test_full_1.tsv", sep="\t")
    assert set(exp["Observation id"]) == {"observation #2"}
    table = boris_test.observations["observation #2"]
    expected = Counter(
        (_boris_actor(s), b, round(a * 1000), round(o * 1000))
        for s, b, a, o in zip(exp["Subject"], exp["Behavior"], exp["Start (s)"], exp["Stop (s)"], strict=True)
    )
    assert _key(table) == expected and len(table) == 18
    # BORIS's point/state types agree with ours
    types = dict(zip(exp["Behavior"], exp["Behavior type"], strict=True))
    assert {boris_test.code_keys[b] for b, t in types.items() if t == "POINT"} <= boris_test.point_codes
    assert {boris_test.code_keys[b] for b, t in types.items() if t == "STATE"} <= boris_test.state_codes
    assert table.points().to_dataframe()["code"].isin(list(boris_test.point_codes)).all()

    # the second export (no header, one column fewer: no description) holds the state events
    sub = pd.read_csv(real_data / "BORIS" / "test_export_aggregated_events_test_full_3.tsv", sep="\t", header=None)
    rows = Counter(
        (_boris_actor(s), b, round(a * 1000), round(o * 1000))
        for s, b, a, o in zip(sub[8], sub[9], sub[13], sub[14], strict=True)
    )
    assert rows == _key(table.states())


def test_boris_time_budget_of_observation_1(real_data: Path, boris_test) -> None:
    budget = json.loads((real_data / "BORIS" / "test_time_budget1.json").read_text())
    df = boris_test.observations["observation #1"].to_dataframe()
    for row in budget:
        sel = df[(df["actor"] == row["subject"]) & (df["code"] == row["behavior"])].sort_values("onset_ms")
        assert len(sel) == int(row["number"])
        durations = ((sel["offset_ms"] - sel["onset_ms"]) / 1000).tolist()
        assert sum(durations) == pytest.approx(row["duration"], abs=5e-4)
        if len(sel):
            assert statistics.mean(durations) == pytest.approx(row["duration_mean"], abs=5e-4)
        if row["duration_stdev"] != "NA":
            assert statistics.stdev(durations) == pytest.approx(row["duration_stdev"], abs=5e-4)
        if row["inter_duration_mean"] != "NA":
            gaps = ((sel["onset_ms"].iloc[1:].to_numpy() - sel["offset_ms"].iloc[:-1].to_numpy()) / 1000).tolist()
            assert statistics.mean(gaps) == pytest.approx(row["inter_duration_mean"], abs=5e-4)


def test_boris_observations_list_subjects_and_media(real_data: Path, boris_test) -> None:
    exp = pd.read_csv(real_data / "BORIS" / "export_observations_list_test1.tsv", sep="\t", keep_default_na=False)
    for obs_id, subjects, media in zip(
        exp["Observation id"], exp["Subjects"], exp["Media files/Live observation"], strict=True
    ):
        if media == "Live observation":
            assert boris_test.media[obs_id] == ()
        else:
            names = [re.sub(r"^#\d+: ", "", m).rsplit("/", 1)[-1] for m in media.split(", ")]
            assert sorted(boris_test.media[obs_id]) == sorted(names), obs_id
        if obs_id in boris_test.skipped or obs_id == "2 video":  # this export predates the events of "2 video"
            continue
        expected = {_boris_actor(s) for s in subjects.split(", ")} if subjects else set()
        assert set(boris_test.observations[obs_id].actors) == expected, obs_id
    assert boris_test.skipped == ("live not paired",)


def test_boris_ethogram_becomes_the_scheme(real_data: Path, boris_test) -> None:
    raw = json.loads((real_data / "BORIS" / "test.boris").read_text())
    conf = raw["behaviors_conf"]
    s = boris_test.scheme
    assert [c.label for c in s.codes] == [conf[k]["code"] for k in sorted(conf, key=int)]
    assert {c.label: c.shortcut for c in s.codes} == {b["code"]: b["key"] for b in conf.values()}
    assert boris_test.state_codes == {b["code"] for b in conf.values() if b["type"] == "State event"}
    assert boris_test.point_codes == {b["code"] for b in conf.values() if b["type"] == "Point event"}
    assert all(c.kind is None and re.fullmatch(r"#[0-9a-f]{6}", c.colour) for c in s.codes)
    assert boris_test.subjects == ("subject1", "subject2")
    assert all(t.scheme is s for t in boris_test.observations.values())


def test_boris_modifiers_go_to_column_and_note(real_data: Path, boris_test) -> None:
    df = boris_test.observations["modifiers"].to_dataframe()
    q = df[df["code"] == "q"]
    assert q["modifiers"].tolist() == ["m1", "m2", "m3"]
    assert q["note"].tolist() == ["modif #1: m1", "modif #1: m2", "modif #1: m3"]
    r = df[df["code"] == "r"]  # r paired per modifier: (m1 19.175-27.95), (None 30.425-40.825)
    assert list(zip(r["onset_ms"], r["offset_ms"], r["modifiers"], strict=True)) == [
        (19175, 27950, "m1"),
        (30425, 40825, ""),
    ]

    project = read_boris(real_data / "BORIS" / "test_with_leading_trailing_spaces_in_modifiers.boris")
    raw = json.loads((real_data / "BORIS" / "test_with_leading_trailing_spaces_in_modifiers.boris").read_text())
    events = raw["observations"]["test1 live"]["events"]
    df = project.observations["test1 live"].to_dataframe()
    assert df["onset_ms"].tolist() == [round(e[0] * 1000) for e in events]
    assert df["modifiers"].tolist() == ["a|c", "a|", "|111", "|c"]
    assert df["note"].tolist() == ["test 1: a; test 2: c", "test 1: a", "test 2: 111", "test 2: c"]
    assert set(df["actor"]) == {NO_FOCAL_SUBJECT}


def test_boris_versions_and_media_paths(real_data: Path, boris_test) -> None:
    with pytest.warns(UserWarning, match="live not paired"):
        bare = read_boris(real_data / "BORIS" / "test_without_media_files_paths.boris", unpaired="skip")
    with pytest.warns(UserWarning, match="live not paired"):
        other = read_boris(real_data / "BORIS" / "test2.boris", unpaired="skip")
    # media folders are never kept: '/home/user/video/video1.mp4' and 'video1.mp4' give the same name
    assert bare.media["2 video"] == boris_test.media["2 video"] == ("video1.mp4", "video2.mp4")
    for obs in ("observation #1", "observation #2", "modifiers", "live"):
        assert bare.observations[obs] == boris_test.observations[obs] == other.observations[obs]
    only = read_boris(real_data / "BORIS" / "test.boris", observations=["observation #1"])
    assert list(only.observations) == ["observation #1"]
    with pytest.raises(ValueError, match="unknown"):
        read_boris(real_data / "BORIS" / "test.boris", observations=["nope"])


def test_boris_gzip_colours_shortcuts_and_bad_events(tmp_path: Path) -> None:
    project = {
        "project_name": "Colours",
        "project_format_version": "7.0",
        "subjects_conf": {},
        "behavioral_categories": ["Contact", ""],
        "behaviors_conf": {
            "0": {"code": "look", "type": "State event", "key": "l", "category": "Contact", "color": "red"},
            "1": {"code": "smile at", "type": "Point event", "key": "s", "category": "Contact", "color": "tab:blue"},
            "2": {"code": "nod", "type": "Point event", "key": "s", "category": "", "color": "#ABC"},
            "3": {"code": "wait", "type": "State event", "key": ".", "category": "", "color": "chartreuse-ish"},
        },
        "observations": {"o1": {"type": "LIVE", "file": [], "events": [[1.0005, "", "smile at", "", "nice"]]}},
    }
    path = tmp_path / "p.boris"
    path.write_bytes(gzip.compress(json.dumps(project).encode()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = read_boris(path)
    messages = " | ".join(str(w.message) for w in caught)
    assert "'smile at' ('s': shared by 2 behaviours)" in messages and "'wait' ('.'" in messages
    assert "chartreuse-ish" in messages
    codes = {c.label: c for c in p.scheme.codes}
    assert codes["look"].colour == "#ff0000" and codes["smile at"].colour == "#1f77b4"
    assert codes["nod"].colour == "#aabbcc"
    assert [codes[n].shortcut for n in ("look", "smile at", "nod", "wait")] == ["l", None, None, None]
    assert codes["smile at"].key == "smile-at" and codes["nod"].category == "uncategorised"
    row = p.observations["o1"].records()[0]
    assert (row["code"], row["onset_ms"], row["offset_ms"], row["note"]) == ("smile-at", 1001, 1001, "nice")
    assert "." in RESERVED_SHORTCUTS

    # BORIS 8: categories with colours, events with a sixth field (frame index), images observations
    del project["behavioral_categories"]
    project["behavioral_categories_conf"] = {"0": {"name": "Contact", "color": "Dark Green"}}
    project["observations"]["o1"]["events"] = [[1.0005, "", "smile at", "", "nice", 25]]
    project["observations"]["pictures"] = {"type": "IMAGES", "file": {}, "events": [[float("nan"), "", "nod", "", ""]]}
    path.write_text(json.dumps(project))
    with pytest.warns(UserWarning) as caught:
        p8 = read_boris(path)
    assert any("'pictures': has no timestamps" in str(w.message) for w in caught)
    assert p8.skipped == ("pictures",) and p8.observations["o1"] == p.observations["o1"]
    assert p8.scheme.category(p8.scheme.code("look").category).colour == "#006400"

    for not_boris in ('{"a": 1}', "[1, 2]", '{"behaviors_conf": {}}'):
        path.write_text(not_boris)
        with pytest.raises(FormatError, match="a JSON object with 'behaviors_conf' and 'observations'"):
            read_boris(path)

    project["observations"]["o1"]["events"] = [[2.0, "", "dance", "", ""]]
    path.write_text(json.dumps(project))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FormatError, match=r"observation 'o1', event #0 at 2\.0 s: Expected a behaviour"):
            read_boris(path)
        project["observations"]["o1"]["events"] = [[2.0, ""]]
        path.write_text(json.dumps(project))
        with pytest.raises(FormatError, match=r"event #0: Expected \[time, subject, behaviour"):
            read_boris(path)
        # events before 0 s are named by observation, event, subject, behaviour and time, not a row number
        project["observations"]["o1"]["events"] = [[1.0, "", "nod", "", ""], [-0.25, "Ann", "smile at", "", ""]]
        path.write_text(json.dumps(project))
        with pytest.raises(AnnotationError) as info:
            read_boris(path)
        assert info.value.problems == [
            f"{path}, observation 'o1', event #1 (subject 'Ann', behaviour 'smile at'): Expected a time of 0 s or "
            "later, but got -0.25 s."
        ]


# -- Observer XT ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["otx_parser_test.otx", "otx_parser_test.otb"])
def test_otx_agrees_with_borises_import_of_it(real_data: Path, name: str) -> None:
    project = read_otx(real_data / "ObserverXT" / name)
    boris = json.loads((real_data / "BORIS" / "otx_import_test.boris").read_text())
    ethogram = list(boris["behaviors_conf"].values())
    codes = {c.label: c for c in project.scheme.codes}
    assert set(codes) == {b["code"] for b in ethogram} and len(codes) == 22
    assert {label: project.scheme.category(c.category).label for label, c in codes.items()} == {
        b["code"]: b["category"] for b in ethogram
    }
    assert {label: c.shortcut for label, c in codes.items()} == {b["code"]: b["key"] for b in ethogram}
    state = {b["code"] for b in ethogram if b["type"] == "State event"}
    assert {codes[n].key for n in state} == project.state_codes and not project.point_codes
    assert [c.label for c in project.scheme.categories] == boris["behavioral_categories"]
    assert list(project.subjects) == [s["name"] for s in boris["subjects_conf"].values()]
    assert project.name == boris["project_name"] and project.observations == {}
    # Observer colours are Windows COLORREF 0x00BBGGRR: 8410623 = 0x80_55_FF -> red FF, green 55, blue 80
    assert codes["chicken - healthy"].colour == "#ff5580"


def test_odx_observation_events_are_paired(tmp_path: Path) -> None:
    """A synthetic ODX (no real one is available), in the structure BORIS's importer reads."""
    ns = "nxmlinterchange"
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<NXMLINTERCHANGE xmlns="{ns}"><CDS_VOSCODINGSCHEME><CDS_SUBJECTS>
<CDS_SUBJECT><CDS_ELE_NAME>Dyad</CDS_ELE_NAME></CDS_SUBJECT>
<CDS_SUBJECT><CDS_ELE_NAME>mother</CDS_ELE_NAME><CDS_ELE_PARENT_NAME>Dyad</CDS_ELE_PARENT_NAME></CDS_SUBJECT>
</CDS_SUBJECTS><CDS_BEHAVIORS>
<CDS_BEHAVIOR><CDS_ELE_NAME>Gaze</CDS_ELE_NAME><CDS_ELE_MUT_EXCLUSIVE>Y</CDS_ELE_MUT_EXCLUSIVE></CDS_BEHAVIOR>
<CDS_BEHAVIOR><CDS_ELE_NAME>look</CDS_ELE_NAME><CDS_ELE_PARENT_NAME>Gaze</CDS_ELE_PARENT_NAME>
<CDS_ELE_START_KEYCODE>l</CDS_ELE_START_KEYCODE><CDS_ELE_STOP_KEYCODE>L</CDS_ELE_STOP_KEYCODE></CDS_BEHAVIOR>
<CDS_BEHAVIOR><CDS_ELE_NAME>away</CDS_ELE_NAME><CDS_ELE_PARENT_NAME>Gaze</CDS_ELE_PARENT_NAME>
<CDS_ELE_START_KEYCODE>a</CDS_ELE_START_KEYCODE><CDS_ELE_STOP_KEYCODE>A</CDS_ELE_STOP_KEYCODE></CDS_BEHAVIOR>
<CDS_BEHAVIOR><CDS_ELE_NAME>Talk</CDS_ELE_NAME></CDS_BEHAVIOR>
<CDS_BEHAVIOR><CDS_ELE_NAME>praise</CDS_ELE_NAME><CDS_ELE_PARENT_NAME>Talk</CDS_ELE_PARENT_NAME>
<CDS_ELE_START_KEYCODE>p</CDS_ELE_START_KEYCODE></CDS_BEHAVIOR>
</CDS_BEHAVIORS></CDS_VOSCODINGSCHEME>
<OBS_OBSERVATIONS><OBS_OBSERVATION NAME="visit 1"><OBS_EVENT_LOGS>
<OBS_EVENT_LOG CREATION_DATETIME="2022-05-18 10:04:00.000">
<OBS_EVENT><OBS_EVENT_TIMESTAMP>2022-05-18 10:04:01.250</OBS_EVENT_TIMESTAMP>
<OBS_EVENT_SUBJECT NAME="mother"/><OBS_EVENT_BEHAVIOR NAME="look"/></OBS_EVENT>
<OBS_EVENT><OBS_EVENT_TIMESTAMP>2022-05-18 10:04:02.000</OBS_EVENT_TIMESTAMP>
<OBS_EVENT_BEHAVIOR NAME="praise"><OBS_EVENT_BEHAVIOR_MODIFIER>warm</OBS_EVENT_BEHAVIOR_MODIFIER>
</OBS_EVENT_BEHAVIOR><OBS_EVENT_COMMENT>first</OBS_EVENT_COMMENT></OBS_EVENT>
<OBS_EVENT><OBS_EVENT_TIMESTAMP>2022-05-18 10:04:03.500</OBS_EVENT_TIMESTAMP>
<OBS_EVENT_SUBJECT NAME="mother"/><OBS_EVENT_BEHAVIOR NAME="look"/></OBS_EVENT>
</OBS_EVENT_LOG></OBS_EVENT_LOGS></OBS_OBSERVATION></OBS_OBSERVATIONS></NXMLINTERCHANGE>
"""
    path = tmp_path / "visit.odx"
    path.write_text(xml, encoding="utf-8")
    project = read_otx(path)
    assert project.subjects == ("mother",)
    assert project.state_codes == {"look", "away"} and project.point_codes == {"praise"}
    assert project.scheme.exclusive_groups == (frozenset({"look", "away"}),)
    rows = [
        (r["actor"], r["code"], r["onset_ms"], r["offset_ms"], r["note"])
        for r in project.observations["visit 1"].records()
    ]
    assert rows == [
        ("mother", "look", 1250, 3500, ""),
        (NO_FOCAL_SUBJECT, "praise", 2000, 2000, "first; modifier: warm"),
    ]
    # STARTs without STOP are named (here 'look' at 1.250 s, and 'away' at 3.500 s)
    path.write_text(
        xml.replace(
            '<OBS_EVENT_SUBJECT NAME="mother"/><OBS_EVENT_BEHAVIOR NAME="look"/></OBS_EVENT>\n</OBS_EVENT_LOG>',
            '<OBS_EVENT_SUBJECT NAME="mother"/><OBS_EVENT_BEHAVIOR NAME="away"/></OBS_EVENT>\n</OBS_EVENT_LOG>',
        ),
        encoding="utf-8",
    )
    with pytest.raises(FormatError) as info:
        read_otx(path)
    assert "observation 'visit 1', subject 'mother', behaviour 'look' started at 1.250 s" in str(info.value)
    assert "behaviour 'away' started at 3.500 s" in str(info.value)


# -- CSV / TSV -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_table_round_trip_real_eaf_rows(real_data: Path, tmp_path: Path, suffix: str) -> None:
    table = read_eaf(real_data / "ELAN" / "childproject_example.eaf", recording_id=3)
    out = write_table(table, tmp_path / f"chi{suffix}")
    assert out.read_text(encoding="utf-8").splitlines()[0].split("," if suffix == ".csv" else "\t") == [
        "id", "recording_id", "actor", "code", "onset_ms", "offset_ms", "coder", "note", "tier", "participant",
    ]  # fmt: skip
    back = read_table(out)
    assert back == table  # every column, extras included, same order and types


def test_table_round_trip_text_that_needs_quoting(tmp_path: Path, mixed_table: AnnotationTable) -> None:
    t = mixed_table.with_rows(
        [{"actor": "parent", "code": "waiting", "onset_ms": 3000, "note": 'says "wait, look"\nthen\tpoints'}]
    )
    for name in ("q.csv", "q.tsv"):
        back = read_table(write_table(t, tmp_path / name), scheme=default_scheme())
        assert back == t and back.scheme is default_scheme()


def test_read_table_seconds_columns_round_half_up(tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    p.write_text("actor,code,onset_s,offset_s\nparent,x,24.475,25\nchild,y,1.0005,\nchild,y,0,0.0004\n")
    df = read_table(p).to_dataframe()
    assert df[["onset_ms", "offset_ms"]].values.tolist() == [[0, 0], [1001, 1001], [24475, 25000]]


def test_read_table_errors_name_file_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(
        "actor,code,onset_ms,offset_ms,note\n"
        'parent,waiting,100,200,"two\nlines"\n'  # lines 2-3
        "parent,waiting,abc,200,\n"  # line 4
        "child,,300,,\n"  # line 5
        "child,other,500,400,\n"  # line 6
        "child,other,500\n",  # line 7
        encoding="utf-8",
    )
    with pytest.raises(AnnotationError) as info:
        read_table(p, scheme=default_scheme())
    msg = str(info.value)
    assert f"{p}, line 4, column 'onset_ms': Expected integer milliseconds, but got 'abc'." in msg
    assert f"{p}, line 5, column 'code': Expected a value" in msg
    assert f"{p}, line 6, column 'offset_ms': Expected a time >= the onset (500)" in msg
    assert f"{p}, line 6, column 'code': Expected a code of scheme 'vig-principles', but got 'other'." in msg
    assert f"{p}, line 7: Expected 5 columns, but got 3." in msg
    assert "line 2" not in msg and "line 3" not in msg

    p.write_text("who,code,start\nparent,x,1\n")
    with pytest.raises(FormatError, match=r"line 1 .*Expected a column 'actor'; a column 'onset_ms' or 'onset_s'"):
        read_table(p)
    with pytest.raises(ValueError, match=r"Expected a file ending in \.csv"):
        read_table(tmp_path / "x.xlsx")


# -- SDIS ----------------------------------------------------------------------------------------


def test_sdis_timed_exact_text(tmp_path: Path) -> None:
    a = AnnotationTable(
        [
            {"actor": "parent", "code": "waiting", "onset_ms": 1500, "offset_ms": 2400},
            {"actor": "child", "code": "initiative-nonverbal", "onset_ms": 1200},
        ]
    )
    b = AnnotationTable([{"actor": "parent", "code": "waiting", "onset_ms": 0, "offset_ms": 61005}])
    out = write_sdis({"family A, pre": a, "family <A>; post": b}, tmp_path / "x.sds", ends_ms={"family A, pre": 3000})
    assert out.read_text(encoding="ascii") == (
        "% SDIS timed-event data written by VIG Workbench\n"
        "% time unit: seconds with 3 decimals (1 ms)\n"
        "% code mapping (SDIS code = actor / code):\n"
        "% child_initiative = child / initiative-nonverbal\n"
        "% parent_waiting = parent / waiting\n"
        "Timed child_initiative parent_waiting ;\n"
        "% session 1 = 'family A, pre'\n"
        "<family A pre> ,0.000 child_initiative,1.200-1.201 parent_waiting,1.500-2.400 ,3.000/\n"
        "% session 2 = 'family <A>; post'\n"
        "<family A post> ,0.000 parent_waiting,0.000-61.005 ,61.005/\n"
    )


def test_sdis_event_kind_and_code_rules(tmp_path: Path) -> None:
    t = AnnotationTable(
        [
            {"actor": "mother (M)", "code": "a-b", "onset_ms": 30},
            {"actor": "mother (M)", "code": "a_b", "onset_ms": 10, "offset_ms": 50},
            {"actor": "Mother (m)", "code": "A-B", "onset_ms": 20},
            {"actor": "9 child", "code": "réponse très longue au parent", "onset_ms": 40},
        ]
    )
    codes = sdis_codes(t)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,15}", c) for c in codes.values())
    assert len({c.lower() for c in codes.values()}) == len(codes) == 4
    assert codes[("9 child", "réponse très longue au parent")] == "c_9_chil_reponse"
    out = write_sdis(t, tmp_path / "e.sds", kind="event")
    lines = out.read_text(encoding="ascii").splitlines()
    order = [codes[(a, c)] for a, c in [("mother (M)", "a_b"), ("Mother (m)", "A-B"), ("mother (M)", "a-b")]]
    assert lines[-1] == f"<session 1> {' '.join([*order, codes[('9 child', 'réponse très longue au parent')]])} /"
    assert lines[-3].startswith("Event ") and lines[-3].endswith(" ;")
    assert sdis_codes(t, by_actor=False) == {
        ("", "A-B"): "A_B",
        ("", "a-b"): "a_b2",
        ("", "a_b"): "a_b3",
        ("", "réponse très longue au parent"): "reponse_tres_lon",
    }


def test_sdis_timed_parses_back_to_the_table_durations(real_data: Path, boris_test, tmp_path: Path) -> None:
    sessions = {k: boris_test.observations[k] for k in ("observation #1", "observation #2", "live")}
    out = write_sdis(sessions, tmp_path / "boris.sds")
    text = out.read_text(encoding="ascii")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("%"))
    decl, data_part = body.split(";", 1)
    declared = decl.split()[1:]
    mapping = dict(re.findall(r"^% (\S+) = (.+)$", text, flags=re.M))
    sessions_text = [s for s in data_part.split("/") if s.strip()]
    assert len(sessions_text) == 3
    for (name, table), chunk in zip(sessions.items(), sessions_text, strict=True):
        events = re.findall(r"(?<![\S])([A-Za-z]\w*),(\d+\.\d{3})-(\d+\.\d{3})", chunk)
        assert {c for c, _, _ in events} <= set(declared)
        got = Counter()
        for code, on, off in events:
            actor, original = mapping[code].split(" / ")
            got[(actor, original)] += round(float(off) * 1000) - round(float(on) * 1000)
        df = table.to_dataframe()
        expected = Counter()
        for a, c, on, off in zip(df["actor"], df["code"], df["onset_ms"], df["offset_ms"], strict=True):
            expected[(a, c)] += max(off - on, 1)  # point events last one unit (1 ms)
        assert got == expected, name
        assert chunk.strip().startswith(f"<{name}> ,0.000")


def test_sdis_bad_arguments(tmp_path: Path, mixed_table: AnnotationTable) -> None:
    with pytest.raises(ValueError, match="Allowed values are 'timed' and 'event'"):
        write_sdis(mixed_table, tmp_path / "x.sds", kind="interval")
    with pytest.raises(ValueError, match=r"at or after its last event \(2000 ms\)"):
        write_sdis(mixed_table, tmp_path / "x.sds", ends_ms={"session 1": 100})
    with pytest.raises(TypeError, match="Expected an AnnotationTable or a mapping"):
        write_sdis([mixed_table], tmp_path / "x.sds")


# -- every reader: files it cannot use ------------------------------------------------------------

_READERS = {
    "eaf": (read_eaf, ".eaf"),
    "boris": (read_boris, ".boris"),
    "otx": (read_otx, ".otx"),
    "table": (read_table, ".csv"),
}


@pytest.mark.parametrize("reader", sorted(_READERS))
@pytest.mark.parametrize("content", ["missing", "empty", "garbage", "truncated", "other-format"])
def test_unusable_files_raise_format_error(real_data: Path, tmp_path: Path, reader: str, content: str) -> None:
    func, suffix = _READERS[reader]
    path = tmp_path / f"input{suffix}"
    real = {
        "eaf": real_data / "ELAN" / "childproject_example.eaf",
        "boris": real_data / "BORIS" / "test.boris",
        "otx": real_data / "ObserverXT" / "otx_parser_test.otx",
        "table": real_data / "BORIS" / "test_export_events_tabular.csv",
    }
    if content == "empty":
        path.write_bytes(b"")
    elif content == "garbage":
        path.write_bytes(bytes(range(256)) * 8)
    elif content == "truncated":
        raw = real[reader].read_bytes() if reader != "table" else b"actor,code,onset_ms\n"
        path.write_bytes(raw[: len(raw) // 2] if reader != "table" else b'actor,code,onset_ms\nparent,"x,1\n')
    elif content == "other-format":  # a valid file of another tool
        other = {"eaf": "boris", "boris": "eaf", "otx": "eaf", "table": "boris"}[reader]
        path.write_bytes(real[other].read_bytes())
    with pytest.raises(FormatError) as info:
        func(path)
    assert str(path) in str(info.value)
    assert "Expected" in str(info.value)

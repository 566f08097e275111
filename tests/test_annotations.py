"""AnnotationTable: validation at the door, sorting, immutability, new tables from old."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import AnnotationError, AnnotationTable, default_scheme
from workbench.annotations import COLUMNS

ROWS = [
    {"id": 3, "recording_id": 1, "actor": "parent", "code": "waiting", "onset_ms": 5000, "offset_ms": 6500},
    {"id": 1, "recording_id": 1, "actor": "child", "code": "initiative-nonverbal", "onset_ms": 1200},
    {
        "id": 2,
        "recording_id": 1,
        "actor": "parent",
        "code": "returning-eye-contact",
        "onset_ms": 1500,
        "offset_ms": 2400,
        "coder": "sup",
        "note": "smiles back",
    },
]


def test_sorted_typed_and_points() -> None:
    t = AnnotationTable(ROWS, scheme=default_scheme())
    df = t.to_dataframe()
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert df["id"].tolist() == [1, 2, 3]
    assert df["onset_ms"].dtype == "int64" and df["offset_ms"].dtype == "int64"
    assert df.loc[0, "offset_ms"] == 1200  # a point event: offset == onset
    assert t.is_point.tolist() == [True, False, False]
    assert len(t.points()) == 1 and len(t.states()) == 2
    assert t.actors == ("child", "parent") and t.coders == ("", "sup")


def test_to_dataframe_is_a_copy_and_table_is_immutable() -> None:
    t = AnnotationTable(ROWS)
    df = t.to_dataframe()
    df.loc[0, "code"] = "changed"
    assert "changed" not in t.codes
    with pytest.raises(AttributeError, match="immutable"):
        t.foo = 1  # type: ignore[attr-defined]


def test_every_invalid_row_and_field_is_named() -> None:
    bad = [
        {"actor": "parent", "code": "waiting", "onset_ms": -5},
        {"actor": "parent", "code": "waiting", "onset_ms": 100, "offset_ms": 50},
        {"actor": "alien", "code": "waiting", "onset_ms": 100},
        {"actor": "child", "code": "dancing", "onset_ms": 100},
        {"actor": "child", "code": "waiting", "onset_ms": 1.5},
        {"actor": "", "code": "waiting", "onset_ms": 7},
    ]
    with pytest.raises(AnnotationError) as info:
        AnnotationTable(bad, scheme=default_scheme(), actors={"parent", "child"}, source="coding.csv")
    problems = info.value.problems
    msg = str(info.value)
    assert "coding.csv" in msg
    assert any(p.startswith("row 0, field 'onset_ms'") and "-5" in p for p in problems)
    assert any(p.startswith("row 1, field 'offset_ms'") and "50" in p for p in problems)
    assert any(p.startswith("row 2, field 'actor'") and "'alien'" in p for p in problems)
    assert any(p.startswith("row 3, field 'code'") and "'dancing'" in p for p in problems)
    assert any(p.startswith("row 4, field 'onset_ms'") and "1.5" in p for p in problems)
    assert any(p.startswith("row 5, field 'actor'") for p in problems)
    assert len(problems) == 6


def test_accepts_dataframe_and_integral_floats() -> None:
    df = pd.DataFrame(
        {
            "actor": ["a", "b"],
            "code": ["x", "y"],
            "onset_ms": [10.0, 20.0],
            "offset_ms": [float("nan"), 30.0],
            "modifiers": ["m1", None],
        }
    )
    t = AnnotationTable(df)
    out = t.to_dataframe()
    assert out["offset_ms"].tolist() == [10, 30]
    assert "modifiers" in out.columns  # extras are kept


def test_new_tables_from_old() -> None:
    t = AnnotationTable(ROWS)
    assert t.filter(actor="parent").ids == (2, 3)
    assert t.filter(code=["waiting", "initiative-nonverbal"]).ids == (1, 3)
    assert t.between(1300, 1400).ids == ()
    assert t.between(1600, 1700).ids == (2,)
    assert t.between(1000, 1500).ids == (1, 2)
    assert t.at(1200).ids == (1,)
    assert t.drop_ids([2]).ids == (1, 3)
    assert t.replace(1, code="waiting").filter(code="waiting").ids == (1, 3)
    assert t.shifted(100).to_dataframe()["onset_ms"].tolist() == [1300, 1600, 5100]
    with pytest.raises(AnnotationError):
        t.shifted(-2000)
    bigger = t.with_rows([{"actor": "child", "code": "waiting", "onset_ms": 0}])
    assert len(bigger) == 4 and len(t) == 3
    assert bigger.to_dataframe()["onset_ms"].iloc[0] == 0
    assert AnnotationTable.concat([t, t.shifted(10)]).end_ms == 6510
    assert t == AnnotationTable(list(reversed(ROWS)))


def test_repr_is_a_summary() -> None:
    assert repr(AnnotationTable([])) == "<AnnotationTable | 0 annotations>"
    r = repr(AnnotationTable(ROWS))
    assert r.startswith("<AnnotationTable | 3 annotations, 2 actors:") and "waiting (1)" in r


def test_pickles_as_a_value() -> None:
    import pickle

    t = AnnotationTable(ROWS, scheme=default_scheme())
    back = pickle.loads(pickle.dumps(t))
    assert back == t and back.scheme == t.scheme
    with pytest.raises(AttributeError, match="immutable"):
        back.x = 1  # type: ignore[attr-defined]

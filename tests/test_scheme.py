"""The coding scheme: the shipped VIG principles and custom schemes from files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from workbench.errors import SchemeError
from workbench.scheme import CONTACT_KINDS, default_scheme, load_scheme, scheme_from_dict

VIG_MD = Path(__file__).resolve().parents[1].parent / "shared" / "domain" / "VIG.md"


def _principle_behaviours() -> dict[str, list[str]]:
    """Behaviours per principle, read from the field's own description (shared/domain/VIG.md)."""
    text = VIG_MD.read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for m in re.finditer(r"\d\. \*\*(.+?)\*\* — (.+?)(?=\n\d\. \*\*|\n\n)", text, re.S):
        body = " ".join(m.group(2).split())
        out[m.group(1)] = [b.strip().rstrip(".") for b in body.split(";")]
    return out


@pytest.mark.skipif(not VIG_MD.exists(), reason="shared/domain/VIG.md not beside the checkout")
def test_default_scheme_has_every_principle_and_behaviour() -> None:
    scheme = default_scheme()
    behaviours = _principle_behaviours()
    assert len(behaviours) == 6
    labels = {c.category: [] for c in scheme.codes}
    for c in scheme.codes:
        labels[c.category].append(c.label.lower())
    cat_by_label = {cat.label: cat.key for cat in scheme.categories}
    for principle, items in behaviours.items():
        assert principle in cat_by_label, principle
        coded = labels[cat_by_label[principle]]
        assert len(coded) == len(items), (principle, items, coded)
        for item in items:
            # a trailing parenthesis explains the behaviour ("managing conflict (going back to ...)")
            item = re.sub(r" \([^)]*\)$", "", item).lower().replace("’", "'")
            assert item in coded, (principle, item)


def test_default_scheme_codes_are_complete() -> None:
    scheme = default_scheme()
    assert scheme.id == "vig-principles" and scheme.version
    shortcuts = [c.shortcut for c in scheme.codes]
    assert None not in shortcuts and len(set(shortcuts)) == len(shortcuts)
    for c in scheme.codes:
        assert c.kind in CONTACT_KINDS and re.match(r"^#[0-9a-f]{6}$", c.colour)
        assert c.description
    for kind in CONTACT_KINDS:
        assert scheme.codes_of_kind(kind), kind
    assert [c.order for c in scheme.categories] == list(range(len(scheme.categories)))


def test_scheme_is_frozen() -> None:
    scheme = default_scheme()
    with pytest.raises(AttributeError):
        scheme.name = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        scheme.codes[0].key = "x"  # type: ignore[misc]


def test_round_trip_through_yaml_and_json(tmp_path: Path) -> None:
    scheme = default_scheme()
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scheme.to_dict()), encoding="utf-8")
    (tmp_path / "s.json").write_text(json.dumps(scheme.to_dict()), encoding="utf-8")
    assert load_scheme(tmp_path / "s.yaml") == scheme
    assert load_scheme(tmp_path / "s.json") == scheme


def test_broken_scheme_lists_every_problem(tmp_path: Path) -> None:
    bad = {
        "id": "mine",
        "name": "",
        "version": "1",
        "categories": [{"key": "a", "label": "A", "colour": "red"}],
        "codes": [
            {"key": "x", "category": "a", "kind": "initiative", "shortcut": "q"},
            {"key": "x", "category": "zzz", "kind": "hello", "shortcut": "q"},
            {"key": "bad key!", "category": "a", "shortcut": " "},
        ],
        "exclusive_groups": [["x", "nope"]],
    }
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    msg = str(info.value)
    assert str(path) in msg
    for fragment in (
        "'name'",
        "colour",
        "appears twice",
        "'zzz'",
        "'hello'",
        "already the shortcut",
        "bad key!",
        "reserved",
        "nope",
    ):
        assert fragment in msg, fragment
    assert len(info.value.problems) >= 9


def test_unparsable_and_missing_files(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(SchemeError, match=r"s\.json"):
        load_scheme(p)
    with pytest.raises(SchemeError, match="Cannot read"):
        load_scheme(tmp_path / "missing.yaml")
    with pytest.raises(SchemeError, match="mapping"):
        scheme_from_dict(["a"], source="list")


def test_unknown_code_and_kind_messages() -> None:
    scheme = default_scheme()
    with pytest.raises(KeyError, match="'nope'"):
        scheme.code("nope")
    with pytest.raises(ValueError, match="Allowed values"):
        scheme.codes_of_kind("missed")

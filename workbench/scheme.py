"""Coding schemes: the codes an annotation may carry.

A :class:`CodingScheme` is frozen data: categories, codes (each with its contact
kind, modality, colour and shortcut key) and mutually exclusive groups. The
default scheme, the VIG principles of attuned interaction and guidance, ships as
a YAML file inside the package; services load their own adaptations from YAML or
JSON with :func:`load_scheme`.

Examples
--------
>>> from workbench.scheme import default_scheme
>>> scheme = default_scheme()
>>> scheme.code("waiting").category
'encouraging'
>>> sorted(scheme.codes_of_kind("discordant"))
['discordant-ignoring', 'discordant-overriding']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from workbench.errors import SchemeError

__all__ = [
    "CONTACT_KINDS",
    "MODALITIES",
    "NOT_IN_SCHEME",
    "NOT_IN_SCHEME_COLOUR",
    "Category",
    "Code",
    "CodingScheme",
    "default_scheme",
    "load_scheme",
    "scheme_from_dict",
    "shipped_schemes",
]

ContactKind = Literal["initiative", "reception", "response", "discordant"]
CONTACT_KINDS: tuple[str, ...] = ("initiative", "reception", "response", "discordant")
MODALITIES: tuple[str, ...] = ("verbal", "nonverbal", "either")
#: The principle (category label) shown for a code the scheme does not have.
NOT_IN_SCHEME = "(not in scheme)"
#: The colour drawn for a code the scheme does not have.
NOT_IN_SCHEME_COLOUR = "#9e9e9e"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]*$")
# Keys the review widget keeps for the player (play/pause, frame steps, marks).
RESERVED_SHORTCUTS: frozenset[str] = frozenset({" ", ",", ".", "[", "]", "Enter", "Escape"})


@dataclass(frozen=True, slots=True)
class Category:
    """An ordered group of codes (a VIG principle, for the default scheme)."""

    key: str
    label: str
    colour: str
    order: int


@dataclass(frozen=True, slots=True)
class Code:
    """One code of a scheme.

    Attributes
    ----------
    key : str
        Stable identifier stored with each annotation.
    label : str
        Human-readable name.
    category : str
        Key of the :class:`Category` the code belongs to.
    kind : str or None
        Contact kind: ``"initiative"``, ``"reception"``, ``"response"`` or
        ``"discordant"``; ``None`` for a code that is not a contact act (common in
        imported ethograms).
    modality : str
        ``"verbal"``, ``"nonverbal"`` or ``"either"``.
    colour : str
        ``#rrggbb``; the category's colour unless the scheme sets one.
    shortcut : str or None
        The key that adds this code in the review widget.
    description : str
        What the coder looks for.
    """

    key: str
    label: str
    category: str
    kind: str | None
    modality: str
    colour: str
    shortcut: str | None
    description: str = ""


@dataclass(frozen=True, slots=True)
class CodingScheme:
    """A frozen, versioned coding scheme.

    Build one with :func:`load_scheme`, :func:`scheme_from_dict` or
    :func:`default_scheme`; the constructor does not validate.
    """

    id: str
    name: str
    version: str
    categories: tuple[Category, ...]
    codes: tuple[Code, ...]
    exclusive_groups: tuple[frozenset[str], ...] = ()
    _by_key: Mapping[str, Code] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {c.key: c for c in self.codes})

    def __repr__(self) -> str:
        return f"<CodingScheme {self.id} v{self.version} | {len(self.categories)} categories, {len(self.codes)} codes>"

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def code_keys(self) -> tuple[str, ...]:
        """Keys of all codes, in scheme order."""
        return tuple(c.key for c in self.codes)

    def code(self, key: str) -> Code:
        """Return the code with this key.

        Raises
        ------
        KeyError
            If the scheme has no such code; the message lists near matches.
        """
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"Expected a code of scheme {self.id!r}, but got {key!r}.") from None

    def category(self, key: str) -> Category:
        """Return the category with this key."""
        for cat in self.categories:
            if cat.key == key:
                return cat
        raise KeyError(f"Expected a category of scheme {self.id!r}, but got {key!r}.")

    def label_of(self, key: str) -> str:
        """The label of a code; the key itself for a code the scheme does not have."""
        code = self._by_key.get(key)
        return code.label if code else key

    def principle_of(self, key: str) -> str:
        """The label of the category (principle) of a code; :data:`NOT_IN_SCHEME` if unknown."""
        code = self._by_key.get(key)
        if code is None:
            return NOT_IN_SCHEME
        return next((c.label for c in self.categories if c.key == code.category), code.category)

    def kind_of(self, key: str) -> str:
        """The contact kind of a code (``""`` for a code that is not a contact act, or is unknown)."""
        code = self._by_key.get(key)
        return (code.kind or "") if code else ""

    def colour_of(self, key: str) -> str:
        """The colour of a code; :data:`NOT_IN_SCHEME_COLOUR` for a code the scheme does not have."""
        code = self._by_key.get(key)
        return code.colour if code else NOT_IN_SCHEME_COLOUR

    def codes_of_kind(self, kind: str) -> frozenset[str]:
        """Keys of the codes whose contact kind is ``kind``."""
        if kind not in CONTACT_KINDS:
            raise ValueError(
                f"Invalid value for the 'kind' parameter. Allowed values are "
                f"{', '.join(map(repr, CONTACT_KINDS))}, but got {kind!r} instead."
            )
        return frozenset(c.key for c in self.codes if c.kind == kind)

    def shortcuts(self) -> dict[str, str]:
        """Map shortcut key -> code key for codes that have one."""
        return {c.shortcut: c.key for c in self.codes if c.shortcut}

    def exclusive_group_of(self, key: str) -> frozenset[str] | None:
        """The mutually exclusive group that contains ``key``, if any."""
        for group in self.exclusive_groups:
            if key in group:
                return group
        return None

    def to_dict(self) -> dict[str, Any]:
        """The scheme as plain data, in the same shape the YAML/JSON files use."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "categories": [{"key": c.key, "label": c.label, "colour": c.colour} for c in self.categories],
            "exclusive_groups": [sorted(g) for g in self.exclusive_groups],
            "codes": [
                {
                    "key": c.key,
                    "label": c.label,
                    "category": c.category,
                    "kind": c.kind,
                    "modality": c.modality,
                    "colour": c.colour,
                    "shortcut": c.shortcut,
                    "description": c.description,
                }
                for c in self.codes
            ],
        }


def scheme_from_dict(data: Any, source: str = "<dict>") -> CodingScheme:
    """Validate plain data and build a :class:`CodingScheme`.

    Every problem is collected and reported at once in one :class:`SchemeError`.

    Parameters
    ----------
    data : dict
        The parsed scheme (see ``workbench/schemes/vig-principles.yaml`` for the shape).
    source : str
        Name of the file or object, used in the error message.
    """
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise SchemeError(source, [f"Expected a mapping at the top level, but got {type(data).__name__}."])

    def text(where: str, value: Any, required: bool = True) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                problems.append(f"{where}: Expected a non-empty string, but got {value!r}.")
            return ""
        if not isinstance(value, str | int | float):
            problems.append(f"{where}: Expected a string, but got {type(value).__name__}.")
            return ""
        return str(value)

    scheme_id = text("'id'", data.get("id"))
    name = text("'name'", data.get("name"))
    version = text("'version'", data.get("version"))

    categories: list[Category] = []
    raw_cats = data.get("categories")
    if not isinstance(raw_cats, list) or not raw_cats:
        problems.append(f"'categories': Expected a non-empty list, but got {raw_cats!r}.")
        raw_cats = []
    seen_cats: set[str] = set()
    for i, rc in enumerate(raw_cats):
        where = f"categories[{i}]"
        if not isinstance(rc, Mapping):
            problems.append(f"{where}: Expected a mapping, but got {rc!r}.")
            continue
        key = text(f"{where}.key", rc.get("key"))
        if key and key in seen_cats:
            problems.append(f"{where}.key: Expected a unique key, but {key!r} appears twice.")
        seen_cats.add(key)
        colour = text(f"{where}.colour", rc.get("colour", "#888888"))
        if colour and not _COLOUR.match(colour):
            problems.append(f"{where}.colour: Expected '#rrggbb', but got {colour!r}.")
        categories.append(Category(key=key, label=text(f"{where}.label", rc.get("label", key)), colour=colour, order=i))
    cat_colour = {c.key: c.colour for c in categories}

    codes: list[Code] = []
    raw_codes = data.get("codes")
    if not isinstance(raw_codes, list) or not raw_codes:
        problems.append(f"'codes': Expected a non-empty list, but got {raw_codes!r}.")
        raw_codes = []
    seen_keys: set[str] = set()
    seen_shortcuts: dict[str, str] = {}
    for i, rc in enumerate(raw_codes):
        where = f"codes[{i}]"
        if not isinstance(rc, Mapping):
            problems.append(f"{where}: Expected a mapping, but got {rc!r}.")
            continue
        key = text(f"{where}.key", rc.get("key"))
        if key:
            where = f"codes[{i}] ({key!r})"
            if not _KEY.match(key):
                problems.append(f"{where}.key: Expected letters, digits and _.:+- only, but got {key!r}.")
            if key in seen_keys:
                problems.append(f"{where}.key: Expected a unique key, but {key!r} appears twice.")
            seen_keys.add(key)
        category = text(f"{where}.category", rc.get("category"))
        if category and category not in cat_colour:
            problems.append(f"{where}.category: Expected one of {sorted(cat_colour)}, but got {category!r}.")
        kind = text(f"{where}.kind", rc.get("kind"), required=False) or None
        if kind and kind not in CONTACT_KINDS:
            problems.append(f"{where}.kind: Expected one of {list(CONTACT_KINDS)}, but got {kind!r}.")
        modality = text(f"{where}.modality", rc.get("modality", "either"))
        if modality and modality not in MODALITIES:
            problems.append(f"{where}.modality: Expected one of {list(MODALITIES)}, but got {modality!r}.")
        colour = rc.get("colour") or cat_colour.get(category, "#888888")
        if not isinstance(colour, str) or not _COLOUR.match(colour):
            problems.append(f"{where}.colour: Expected '#rrggbb', but got {colour!r}.")
            colour = "#888888"
        shortcut = rc.get("shortcut")
        if shortcut is not None:
            shortcut = str(shortcut)
            if len(shortcut) != 1 or shortcut in RESERVED_SHORTCUTS:
                problems.append(
                    f"{where}.shortcut: Expected one character not reserved by the player "
                    f"({' '.join(sorted(RESERVED_SHORTCUTS - {' '}))} and space), but got {shortcut!r}."
                )
            elif shortcut in seen_shortcuts:
                problems.append(
                    f"{where}.shortcut: Expected a unique key, but {shortcut!r} is already "
                    f"the shortcut of {seen_shortcuts[shortcut]!r}."
                )
            else:
                seen_shortcuts[shortcut] = key
        codes.append(
            Code(
                key=key,
                label=text(f"{where}.label", rc.get("label", key)),
                category=category,
                kind=kind,
                modality=modality,
                colour=colour,
                shortcut=shortcut,
                description=text(f"{where}.description", rc.get("description", ""), required=False),
            )
        )

    groups: list[frozenset[str]] = []
    raw_groups = data.get("exclusive_groups") or []
    if not isinstance(raw_groups, list):
        problems.append(f"'exclusive_groups': Expected a list of lists of code keys, but got {raw_groups!r}.")
        raw_groups = []
    for i, g in enumerate(raw_groups):
        if not isinstance(g, list) or len(g) < 2:
            problems.append(f"exclusive_groups[{i}]: Expected a list of at least two code keys, but got {g!r}.")
            continue
        unknown = [k for k in g if k not in seen_keys]
        if unknown:
            problems.append(f"exclusive_groups[{i}]: Expected known code keys, but got unknown {unknown}.")
        groups.append(frozenset(map(str, g)))

    if problems:
        raise SchemeError(source, problems)
    return CodingScheme(
        id=scheme_id,
        name=name,
        version=version,
        categories=tuple(categories),
        codes=tuple(codes),
        exclusive_groups=tuple(groups),
    )


def load_scheme(path: str | Path) -> CodingScheme:
    """Load and validate a coding scheme from a YAML (``.yaml``/``.yml``) or JSON file.

    Raises
    ------
    SchemeError
        If the file cannot be parsed or does not describe a valid scheme; the
        message names the file and lists every problem.
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemeError(str(path), [f"Cannot read the file: {exc.strerror or exc}."]) from exc
    except UnicodeDecodeError as exc:
        raise SchemeError(str(path), [f"Expected UTF-8 text, but got undecodable bytes at {exc.start}."]) from exc
    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SchemeError(
            str(path), [f"Expected valid {path.suffix.lstrip('.').upper() or 'YAML'}, but: {exc}"]
        ) from exc
    return scheme_from_dict(data, source=str(path))


def shipped_schemes() -> list[str]:
    """Ids of the schemes shipped inside the package."""
    root = resources.files("workbench") / "schemes"
    return sorted(p.name.rsplit(".", 1)[0] for p in root.iterdir() if p.name.endswith(".yaml"))


@cache
def default_scheme(scheme_id: str = "vig-principles") -> CodingScheme:
    """Return a scheme shipped with the package (default: the VIG principles)."""
    res = resources.files("workbench") / "schemes" / f"{scheme_id}.yaml"
    if not res.is_file():
        raise ValueError(f"Expected one of the shipped schemes {shipped_schemes()}, but got {scheme_id!r}.")
    return scheme_from_dict(yaml.safe_load(res.read_text(encoding="utf-8")), source=f"<shipped {scheme_id}>")

"""Ethograms and START/STOP event logs from observation tools -> schemes and tables (internal).

Shared by the BORIS and Observer XT readers: both describe behaviours as point or state
events and log state events as a START and a STOP row.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from workbench.errors import FormatError
from workbench.io._common import PALETTE, code_key, normalise_colour
from workbench.scheme import RESERVED_SHORTCUTS, CodingScheme, scheme_from_dict

#: Category key of behaviours that come without a category.
UNCATEGORISED = "uncategorised"


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One behaviour of an outside ethogram, as the tool describes it."""

    name: str
    kind: Literal["point", "state"]
    category: str = ""
    key: str | None = None
    description: str = ""
    colour: Any = None


@dataclass(frozen=True, slots=True)
class Ethogram:
    """The scheme built from an ethogram, with the maps the readers need."""

    scheme: CodingScheme
    code_keys: dict[str, str]  # outside behaviour name -> scheme code key
    point_codes: frozenset[str]  # scheme code keys
    state_codes: frozenset[str]


def build_scheme(
    *,
    scheme_id: str,
    name: str,
    version: str,
    behaviours: Sequence[Behaviour],
    categories: Iterable[tuple[str, Any]] = (),
    exclusive: Iterable[Iterable[str]] = (),
    source: str,
) -> Ethogram:
    """Build a frozen :class:`CodingScheme` from an outside ethogram.

    Parameters
    ----------
    behaviours
        In ethogram order. Names must be unique (FormatError otherwise).
    categories
        ``(name, colour)`` of the declared categories, in order; categories used by
        behaviours but not declared are added after them.
    exclusive
        Groups of behaviour *names* that are mutually exclusive.
    source
        The file, for messages.

    Notes
    -----
    Code keys: the outside name when it is a valid key, else a slug (see
    :func:`workbench.io._common.code_key`); the label is always the outside name. Colours are
    normalised to ``#rrggbb``; a code without one takes its category's colour if that was
    given, else the next Tableau colour. Shortcut keys are kept only when they are one
    character, not reserved by the player and used by exactly one behaviour; the others are
    dropped with one warning.
    """
    if not behaviours:
        raise FormatError(f"Expected at least one behaviour in the ethogram of {source}, but got none.")
    seen_names: set[str] = set()
    for b in behaviours:
        if b.name in seen_names:
            raise FormatError(
                f"Expected unique behaviour names in the ethogram of {source}, but {b.name!r} appears twice."
            )
        seen_names.add(b.name)

    # categories: declared ones first, then those only referenced by behaviours
    cat_colour_given: dict[str, str | None] = {}
    for cat_name, colour in categories:
        cat_name = str(cat_name).strip()
        if cat_name and cat_name not in cat_colour_given:
            cat_colour_given[cat_name] = normalise_colour(colour)
    for b in behaviours:
        if b.category and b.category not in cat_colour_given:
            cat_colour_given[b.category] = None
    cat_keys: dict[str, str] = {}
    taken_cat: set[str] = set()
    cat_list: list[dict[str, Any]] = []
    for i, (cat_name, colour) in enumerate(cat_colour_given.items()):
        key = code_key(cat_name, taken_cat, i + 1, prefix="category")
        cat_keys[cat_name] = key
        cat_list.append({"key": key, "label": cat_name, "colour": colour or PALETTE[i % len(PALETTE)]})
    if any(not b.category for b in behaviours):
        key = code_key(UNCATEGORISED, taken_cat, 0)
        cat_keys[""] = key
        cat_list.append({"key": key, "label": "Uncategorised", "colour": "#888888"})

    # shortcuts: one char, not reserved, unique
    holders: dict[str, list[str]] = defaultdict(list)
    for b in behaviours:
        if b.key is not None and str(b.key) != "":
            holders[str(b.key)].append(b.name)
    dropped: list[str] = []
    kept: dict[str, str] = {}
    for k, names in holders.items():
        if len(k) != 1 or k in RESERVED_SHORTCUTS:
            dropped.extend(f"{n!r} ({k!r}: not one character free for the player)" for n in names)
        elif len(names) > 1:
            dropped.extend(f"{n!r} ({k!r}: shared by {len(names)} behaviours)" for n in names)
        else:
            kept[names[0]] = k

    unknown_colours: list[str] = []
    taken: set[str] = set()
    code_keys: dict[str, str] = {}
    codes: list[dict[str, Any]] = []
    point: set[str] = set()
    state: set[str] = set()
    for i, b in enumerate(behaviours):
        key = code_key(b.name, taken, i + 1)
        code_keys[b.name] = key
        colour = normalise_colour(b.colour)
        if colour is None and b.colour not in (None, ""):
            unknown_colours.append(f"{b.name!r} ({b.colour!r})")
        if colour is None:
            colour = cat_colour_given.get(b.category) or PALETTE[i % len(PALETTE)]
        codes.append(
            {
                "key": key,
                "label": b.name,
                "category": cat_keys[b.category],
                "kind": None,
                "modality": "either",
                "colour": colour,
                "shortcut": kept.get(b.name),
                "description": b.description or "",
            }
        )
        (point if b.kind == "point" else state).add(key)

    groups = []
    for group in exclusive:
        keys = sorted({code_keys[n] for n in group if n in code_keys})
        if len(keys) >= 2:
            groups.append(keys)

    if dropped:
        warnings.warn(
            f"{source}: dropped {len(dropped)} shortcut key(s) that cannot be used: {'; '.join(dropped)}.",
            stacklevel=3,
        )
    if unknown_colours:
        warnings.warn(
            f"{source}: colour(s) not understood, replaced by the palette: {', '.join(unknown_colours)}.",
            stacklevel=3,
        )
    scheme = scheme_from_dict(
        {
            "id": scheme_id,
            "name": name,
            "version": version,
            "categories": cat_list,
            "codes": codes,
            "exclusive_groups": groups,
        },
        source=source,
    )
    return Ethogram(scheme, code_keys, frozenset(point), frozenset(state))


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One row of an outside event log (times already in integer ms)."""

    time_ms: int
    actor: str
    code: str  # scheme code key
    name: str  # outside behaviour name, for messages
    modifiers: str = ""
    note: str = ""
    time_text: str = ""  # the time as the file wrote it, for messages


def pair_events(
    events: Iterable[LoggedEvent], state_codes: frozenset[str]
) -> tuple[list[dict[str, Any]], list[LoggedEvent]]:
    """Rows for an AnnotationTable from a START/STOP log, and the unpaired STARTs.

    State events toggle per (actor, code, modifiers), as BORIS does: the first row starts
    the state, the next row with the same triple stops it. Point events become rows with
    ``offset_ms == onset_ms``. Events are taken in time order (stable for equal times).
    """
    ordered = sorted(events, key=lambda e: e.time_ms)
    open_: dict[tuple[str, str, str], LoggedEvent] = {}
    rows: list[dict[str, Any]] = []
    for e in ordered:
        if e.code not in state_codes:
            rows.append(_row(e, e.time_ms, e.note))
            continue
        k = (e.actor, e.code, e.modifiers)
        start = open_.pop(k, None)
        if start is None:
            open_[k] = e
        else:
            note = "; ".join(x for x in dict.fromkeys((start.note, e.note)) if x)
            rows.append(_row(start, e.time_ms, note))
    unpaired = sorted(open_.values(), key=lambda e: e.time_ms)
    return rows, unpaired


def _row(e: LoggedEvent, offset_ms: int, note: str) -> dict[str, Any]:
    return {
        "actor": e.actor,
        "code": e.code,
        "onset_ms": e.time_ms,
        "offset_ms": offset_ms,
        "note": note,
        "modifiers": e.modifiers,
    }


def describe_unpaired(obs_id: str, unpaired: Sequence[LoggedEvent]) -> str:
    """One line per unpaired START naming observation, subject, behaviour and time."""
    lines = [
        f"observation {obs_id!r}, subject {e.actor!r}, behaviour {e.name!r}"
        + (f" (modifiers {e.modifiers!r})" if e.modifiers else "")
        + f" started at {e.time_text or f'{e.time_ms / 1000:.3f}'} s and was never stopped"
        for e in unpaired
    ]
    more = f"; ... (+{len(lines) - 20} more)" if len(lines) > 20 else ""
    return "; ".join(lines[:20]) + more

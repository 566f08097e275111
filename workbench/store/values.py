"""Checks of the values an edit brings, before they reach the database.

Each returns the value as the store keeps it or raises ``ValueError`` / ``TypeError`` naming
the field: "Expected X, but got Y."
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "check_changes",
    "date",
    "ms",
    "number",
    "numbered",
    "optional_date",
    "protected_name",
    "span",
    "text",
    "time_in",
]


def ms(value: Any, name: str) -> int:
    """Integer milliseconds (an integral float too)."""
    if isinstance(value, bool):
        raise ValueError(f"Expected {name} in integer milliseconds, but got {value!r}.")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value) == int(value):
        return int(value)
    raise ValueError(f"Expected {name} in integer milliseconds, but got {value!r}.")


def text(value: Any, name: str, *, required: bool = True) -> str:
    """A string (None counts as empty); ``required``: not blank."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TypeError(f"Expected {name} to be a string, but got {type(value).__name__}.")
    if required and not value.strip():
        raise ValueError(f"Expected a non-empty {name}, but got {value!r}.")
    return value


def protected_name(value: Any) -> str | None:
    """A protected real name as stored: None (or blank) for none, else the text, trimmed."""
    if value is None:
        return None
    found = text(value, "real_name", required=False).strip()
    return found or None


def numbered(name: str, taken: set[str]) -> str:
    """``name``, or ``"name (2)"``, ``"name (3)"``, ... if it is taken."""
    n = 1
    found = name
    while found in taken:
        n += 1
        found = f"{name} ({n})"
    return found


def number(value: Any, name: str) -> float:
    """A finite number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"Expected {name} to be a finite number, but got {value!r}.")
    return float(value)


def date(value: Any, name: str) -> dt.date:
    """A date, from a ``datetime.date`` (or datetime) or ``'YYYY-MM-DD'``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"Expected {name} to be a date (datetime.date or 'YYYY-MM-DD'), but got {value!r}.")


def optional_date(value: Any, name: str) -> dt.date | None:
    """A date, or None."""
    return None if value is None else date(value, name)


def span(onset: Any, offset: Any, duration: int, recording_id: int) -> tuple[int, int]:
    """``(onset_ms, offset_ms)`` inside a recording of ``duration`` ms, offset not before onset."""
    on, off = ms(onset, "onset_ms"), ms(offset, "offset_ms")
    if on < 0 or on > duration:
        raise ValueError(f"Expected onset_ms within recording {recording_id} (0..{duration} ms), but got {on}.")
    if off < on or off > duration:
        raise ValueError(
            f"Expected offset_ms between onset ({on} ms) and the end of recording {recording_id} "
            f"({duration} ms), but got {off}."
        )
    return on, off


def time_in(value: Any, duration: int, recording_id: int, name: str = "time_ms") -> int:
    """A time inside a recording of ``duration`` ms."""
    found = ms(value, name)
    if found < 0 or found > duration:
        raise ValueError(f"Expected {name} within recording {recording_id} (0..{duration} ms), but got {found}.")
    return found


def check_changes(changes: Mapping[str, Any], allowed: Iterable[str], kind: str) -> None:
    """TypeError if ``changes`` names a field an update of ``kind`` cannot change."""
    allowed = tuple(allowed)
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise TypeError(f"Expected changes to a {kind}'s {', '.join(allowed)}, but got {', '.join(unknown)}.")

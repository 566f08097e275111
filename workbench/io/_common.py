"""Helpers shared by the interchange readers and writers (internal)."""

from __future__ import annotations

import gzip
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from workbench.errors import FormatError
from workbench.io._colours import CSS_COLOURS, TABLEAU_COLOURS

#: Colours given to codes that arrive without one (matplotlib's Tableau 10, in order).
PALETTE: tuple[str, ...] = tuple(TABLEAU_COLOURS.values())

_HEX6 = re.compile(r"^#?([0-9a-fA-F]{6})$")
_HEX3 = re.compile(r"^#?([0-9a-fA-F]{3})$")
_HEX8 = re.compile(r"^#([0-9a-fA-F]{2})([0-9a-fA-F]{6})$")  # Qt's #aarrggbb
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]*$")


def as_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`Path`; ``TypeError`` for anything else."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"Expected a path (str or os.PathLike), but got {type(path).__name__}.")
    return Path(path)


def read_bytes(path: Path, what: str) -> bytes:
    """The bytes of ``path`` (gunzipped if gzip-compressed), or FormatError naming the file."""
    if not path.exists():
        raise FormatError(f"Expected {what} at {str(path)!r}, but the file does not exist.")
    if path.is_dir():
        raise FormatError(f"Expected {what} at {str(path)!r}, but it is a folder.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"Expected to read {what} {str(path)!r}, but: {exc.strerror or exc}.") from exc
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise FormatError(f"Expected {what} in the gzip file {str(path)!r}, but it is damaged: {exc}.") from exc
    if not data.strip():
        raise FormatError(f"Expected {what} in {str(path)!r}, but the file is empty.")
    return data


def seconds_to_ms(value: Any) -> int:
    """Seconds (number, Decimal or numeric string) to integer ms, rounding half up.

    Decimal arithmetic so that ``24.475`` s is 24475 ms (the float is 24.474999...).

    Raises
    ------
    ValueError
        If ``value`` is not a finite number.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        d = Decimal(value) if isinstance(value, Decimal | int) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{value!r} is not a number") from exc
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return int((d * 1000).to_integral_value(rounding=ROUND_HALF_UP))


def slugify(text: str) -> str:
    """Lower-case ASCII slug: letters and digits joined by single hyphens ('' if none)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def code_key(name: str, taken: set[str], index: int, prefix: str = "code") -> str:
    """A valid, unique scheme code key for an outside code name.

    The name itself when it is a valid key (letters, digits and ``_.:+-``, starting with a
    letter or digit); else its slug (``"chicken - healthy"`` -> ``"chicken-healthy"``); else
    ``<prefix>-<index>``. A key already in ``taken`` gets ``-2``, ``-3``, ... The key is added to
    ``taken``.
    """
    base = name if _KEY.match(name) else (slugify(name) or f"{prefix}-{index}")
    key, n = base, 2
    while key in taken:
        key = f"{base}-{n}"
        n += 1
    taken.add(key)
    return key


def normalise_colour(value: Any) -> str | None:
    """``#rrggbb`` for a hex colour, a CSS/SVG colour name or a ``tab:`` colour; None if unknown/empty."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if m := _HEX6.match(text):
        return "#" + m.group(1).lower()
    if m := _HEX3.match(text):
        return "#" + "".join(c * 2 for c in m.group(1).lower())
    if m := _HEX8.match(text):
        return "#" + m.group(2).lower()
    name = text.lower().replace(" ", "")
    if name.startswith("tab:"):
        return TABLEAU_COLOURS.get(name[4:].replace("grey", "gray"))
    return CSS_COLOURS.get(name)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = path.resolve()
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Expected an existing folder for {str(path)!r}, but {str(path.parent)!r} is not one.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def quote_list(items: Iterable[Any], limit: int = 10) -> str:
    """``'a', 'b', ... (+3 more)`` for messages."""
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")

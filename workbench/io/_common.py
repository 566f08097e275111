"""Helpers shared by the interchange readers and writers (internal)."""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from workbench.errors import FormatError, WorkbenchError
from workbench.io._colours import CSS_COLOURS, TABLEAU_COLOURS
from workbench.util import slugify

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


#: Default limit on the bytes an input file may hold, after decompression (256 MiB). Parsing holds the
#: text about twice (bytes or tree, then Python strings): text-heavy files of 500 MB peaked at 1.1 GB
#: (CSV, BORIS) and 1.5 GB (ELAN), 256 MiB keeps every reader under about 800 MB. The largest real
#: coding file in tests/data is 2.4 MB.
DEFAULT_MAX_INPUT_BYTES = 256 * 1024**2
#: Default limits on the items of an input file, per way of counting them: XML tags (``<``), lines
#: of a table, JSON values (``,``, ``[``, ``{``). Each keeps the parse of a file at its limit (a
#: 37 MB ELAN file, a 31 MB CSV file of tiny rows) under about 650 MB of memory.
DEFAULT_MAX_INPUT_ITEMS: dict[str, int] = {"xml": 1_000_000, "lines": 500_000, "json": 1_000_000}
#: Environment variables that change the limits (bytes, e.g. ``"64M"``, ``"2G"``, ``"1000000"``; items).
MAX_INPUT_BYTES_ENV = "WORKBENCH_MAX_INPUT_BYTES"
MAX_INPUT_ITEMS_ENV = "WORKBENCH_MAX_INPUT_ITEMS"

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def _from_env(name: str, default: int, *, units: bool) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    m = re.fullmatch(r"(\d+)\s*([KMG]?)(?:i?B)?", text, flags=re.IGNORECASE) if units else None
    if m is not None:
        value = int(m.group(1)) * _UNITS[m.group(2).upper()]
    elif text.isascii() and text.isdigit():
        value = int(text)
    else:
        form = "a number of bytes (e.g. 268435456, 256M or 2G)" if units else "a whole number"
        raise WorkbenchError(f"Expected the environment variable {name} to be {form}, but got {text!r}.")
    if value <= 0:
        raise WorkbenchError(f"Expected the environment variable {name} to be positive, but got {text!r}.")
    return value


def input_limits(max_bytes: int | None = None, max_items: int | None = None) -> tuple[int, int | None]:
    """The limits a reader applies: the arguments when given, else the environment, else the defaults.

    Parameters
    ----------
    max_bytes : int, optional
        Most bytes a file may hold once decompressed. Default: :data:`MAX_INPUT_BYTES_ENV`
        (``WORKBENCH_MAX_INPUT_BYTES``) when set, else :data:`DEFAULT_MAX_INPUT_BYTES` (256 MiB).
    max_items : int, optional
        Most items (XML tags, lines of a table, JSON values) a file may hold. Default:
        ``WORKBENCH_MAX_INPUT_ITEMS`` when set, else None: the default of the way the file's
        items are counted (:data:`DEFAULT_MAX_INPUT_ITEMS`).

    Returns
    -------
    tuple
        ``(max_bytes, max_items)``; ``max_items`` is None when neither given nor set.

    Raises
    ------
    ValueError
        If an argument is not a positive integer.
    WorkbenchError
        If an environment variable is set to something else than a positive number.
    """
    for name, value in (("max_bytes", max_bytes), ("max_items", max_items)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"Expected {name!r} to be a positive integer, but got {value!r}.")
    if max_bytes is None:
        max_bytes = _from_env(MAX_INPUT_BYTES_ENV, DEFAULT_MAX_INPUT_BYTES, units=True)
    if max_items is None and os.environ.get(MAX_INPUT_ITEMS_ENV, "").strip():
        max_items = _from_env(MAX_INPUT_ITEMS_ENV, 0, units=False)
    return max_bytes, max_items


def size_text(n: int) -> str:
    """``"512 MiB"``, ``"3.0 GiB"``, ``"900 bytes"`` for messages."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def too_big(what: str, src: str, limit: int, got: str) -> FormatError:
    """The refusal of an input larger than ``limit`` bytes (``got`` says how large it is)."""
    return FormatError(
        f"Expected {what} of at most {size_text(limit)}, but {src!r} {got}. Nothing was read. "
        f"If the file is genuine, raise the limit with the environment variable {MAX_INPUT_BYTES_ENV} "
        "(e.g. 2G) or the reader's 'max_bytes' argument."
    )


def read_limited(fh: IO[bytes], limit: int, what: str, src: str, *, unpacked: bool = False) -> bytes:
    """At most ``limit`` bytes from ``fh``, read in 1 MiB chunks; FormatError naming ``src`` beyond it.

    Memory stays bounded by the limit whatever the stream claims (a compressed stream is
    decompressed chunk by chunk and refused as soon as it passes the limit).
    """
    chunks: list[bytes] = []
    total = 0
    while chunk := fh.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            chunks.clear()
            verb = "decompresses to" if unpacked else "holds"
            raise too_big(what, src, limit, f"{verb} more than {size_text(limit)}")
        chunks.append(chunk)
    return b"".join(chunks)


def count_items(data: bytes, kind: str, what: str, src: str, limit: int | None) -> None:
    """Refuse (FormatError naming ``src``) input with more than ``limit`` items, before it is parsed.

    The parse of a small file of many tiny items (``<a/><a/>...``, ``0,0,0,...``, empty lines)
    takes far more memory than its bytes; counting markup first bounds what a reader holds.
    ``kind`` is ``"xml"`` (tags: ``<``), ``"json"`` (values: ``,``, ``[`` and ``{``) or
    ``"lines"`` (line breaks). ``limit`` None: the kind's :data:`DEFAULT_MAX_INPUT_ITEMS`.
    """
    if kind == "xml":
        n, unit = data.count(b"<"), "XML tags"
    elif kind == "json":
        n, unit = data.count(b",") + data.count(b"[") + data.count(b"{"), "JSON values"
    elif kind == "lines":
        n, unit = data.count(b"\n"), "lines"
    else:
        raise ValueError(f"Expected kind 'xml', 'json' or 'lines', but got {kind!r}.")
    limit = DEFAULT_MAX_INPUT_ITEMS[kind] if limit is None else limit
    if n > limit:
        raise FormatError(
            f"Expected {what} with at most {limit:,} {unit}, but {src!r} has {n:,}. Nothing was read. "
            f"If the file is genuine, raise the limit with the environment variable {MAX_INPUT_ITEMS_ENV} "
            "or the reader's 'max_items' argument."
        )


def read_bytes(
    path: Path,
    what: str,
    *,
    gzip_ok: bool = False,
    max_bytes: int | None = None,
    max_items: int | None = None,
    items: str | None = None,
) -> bytes:
    """The bytes of ``path``, within the input limits, or FormatError naming the file.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What the file should be, for messages ("an ELAN annotation file (.eaf XML)").
    gzip_ok : bool
        Whether a gzip-compressed file is expected (BORIS writes ``.boris.gz``): it is then
        decompressed, chunk by chunk, up to ``max_bytes``. Otherwise a gzip file is refused:
        the tools that write the other formats never compress them, and libxml2 would
        decompress one on its own.
    max_bytes, max_items : int, optional
        See :func:`input_limits`.
    items : {"xml", "json", "lines"}, optional
        How to count items (see :func:`count_items`); None skips the count.
    """
    limit, item_limit = input_limits(max_bytes, max_items)
    src = str(path)
    if not path.exists():
        raise FormatError(f"Expected {what} at {src!r}, but the file does not exist.")
    if path.is_dir():
        raise FormatError(f"Expected {what} at {src!r}, but it is a folder.")
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == _GZIP_MAGIC:
                if not gzip_ok:
                    raise FormatError(
                        f"Expected {what} as plain text in {src!r}, but it is gzip-compressed. The tools that "
                        "write this format do not compress it; decompress the file first (gunzip) if it is "
                        "genuine."
                    )
                try:
                    with gzip.GzipFile(fileobj=fh, mode="rb") as unpacked:
                        data = read_limited(unpacked, limit, what, src, unpacked=True)
                except (OSError, EOFError, zlib.error) as exc:
                    raise FormatError(f"Expected {what} in the gzip file {src!r}, but it is damaged: {exc}.") from exc
            else:
                size = os.fstat(fh.fileno()).st_size
                if size > limit:
                    raise too_big(what, src, limit, f"holds {size_text(size)}")
                data = read_limited(fh, limit, what, src)
    except OSError as exc:
        raise FormatError(f"Expected to read {what} {src!r}, but: {exc.strerror or exc}.") from exc
    if not data.strip():
        raise FormatError(f"Expected {what} in {src!r}, but the file is empty.")
    if items is not None:
        count_items(data, items, what, src, item_limit)
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


def quote_list(items: Iterable[Any], limit: int = 10) -> str:
    """``'a', 'b', ... (+3 more)`` for messages."""
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")

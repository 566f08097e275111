"""Small helpers every layer may use: file digests, atomic writes, slugs, JSON-safe values.

This module sits at the bottom of the house beside :mod:`workbench.errors`: it imports nothing
else of the workbench, so the store, the readers, media, reports and batch work can all share it
instead of keeping private copies that drift apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "jsonable", "sha256_bytes", "sha256_file", "slug", "slugify"]

#: Bytes read at a time when hashing a file.
CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (never whole in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A reader sees the old file or the new one, never half of one.
    """
    path = Path(path).resolve()
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


def slugify(text: str) -> str:
    """Lower-case ASCII slug: letters and digits joined by single hyphens (``''`` if none)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def slug(text: str, *, default: str = "x", limit: int = 60) -> str:
    """A file-name part that keeps case: ASCII letters and digits joined by hyphens, at most ``limit``
    characters, ``default`` if nothing is left."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:limit] or default


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of ``value``.

    ``None``, NaN and pandas' NA become ``None``; NumPy scalars their Python value; dates and
    times ISO text; mappings dicts with text keys; lists and tuples lists; sets sorted lists;
    anything else that JSON cannot hold its ``str``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ == "NAType":  # pandas.NA, without importing pandas here
        return None
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return jsonable(value.item())
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [jsonable(v) for v in sorted(value, key=repr)]
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value

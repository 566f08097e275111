"""SDIS files for GSEQ (Bakeman & Quera's Sequential Data Interchange Standard).

GSEQ analyses sequential data written in SDIS. :func:`write_sdis` writes two of its data
types; the file is plain ASCII text:

Timed-event data (``kind="timed"``)::

    % SDIS timed-event data written by VIG Workbench
    % time unit: seconds with 3 decimals (1 ms)
    % code mapping (SDIS code = actor / code):
    % child_initiative = child / initiative-nonverbal
    % parent_waiting = parent / waiting
    Timed child_initiative parent_waiting ;
    % session 1 = 'family A, pre'
    <family A pre> ,0.000 child_initiative,1.200-1.201 parent_waiting,1.500-2.400 ,2.400/

- Comments start with ``%`` and run to the end of the line; they carry the code mapping
  and each session's full name.
- The declaration is the data type, every code used (neither mutually exclusive nor
  exhaustive: no sets are declared, since an actor's codes may overlap or leave gaps), and
  ``;``.
- Each session starts with its label in angle brackets (ASCII; ``<>%/;,`` and line breaks
  become spaces) and the session start ``,0.000``, lists events as ``code,onset-offset`` in
  onset order, and ends with the session end time and ``/`` (``,2.400/``). The end is the
  latest offset, or ``ends_ms[name]`` when given.
- Times are seconds with three decimals (so the time unit is 1 ms), offsets exclusive as
  in our tables. Point events are written with a duration of one unit (``1.200-1.201``),
  as BORIS's SDIS export does.

Event sequential data (``kind="event"``)::

    Event child_initiative parent_waiting ;
    <family A pre> child_initiative parent_waiting /

Codes are ordered by onset (then actor, then code); durations are not written.

SDIS codes must be identifiers: :func:`sdis_codes` maps each (actor, code) pair (or each
code with ``by_actor=False``) to letters, digits and ``_``, starting with a letter, at most
16 characters, unique without regard to case. Actor and code are transliterated to ASCII,
every run of other characters becomes ``_``; the result is the actor cut to 6 characters,
``_`` and the code (``c_`` in front when it would not start with a letter), cut to 16; a
clash gets a number at the end (``a_b2``). The mapping is written as comment lines at the
top of the file.

This follows the syntax described by Bakeman & Quera (*Sequential Analysis and
Observational Methods for the Behavioral Sciences*, 2011) and the SDIS files BORIS exports
for GSEQ; GSEQ itself (Windows only) was not available to check the files against.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from workbench.annotations import AnnotationTable
from workbench.io._common import as_path
from workbench.util import atomic_write_bytes

__all__ = ["SDIS_CODE_LENGTH", "sdis_codes", "write_sdis"]

#: Longest SDIS code written.
SDIS_CODE_LENGTH = 16


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _ident(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", _ascii(text))).strip("_")


def _as_mapping(tables: AnnotationTable | Mapping[str, AnnotationTable]) -> dict[str, AnnotationTable]:
    if isinstance(tables, AnnotationTable):
        return {"session 1": tables}
    if isinstance(tables, Mapping):
        out = {}
        for name, t in tables.items():
            if not isinstance(t, AnnotationTable):
                raise TypeError(f"Expected AnnotationTable values, but session {name!r} is a {type(t).__name__}.")
            out[str(name)] = t
        if not out:
            raise ValueError("Expected at least one session, but got an empty mapping.")
        return out
    raise TypeError(
        f"Expected an AnnotationTable or a mapping of session names to tables, but got {type(tables).__name__}."
    )


def sdis_codes(
    tables: AnnotationTable | Mapping[str, AnnotationTable], *, by_actor: bool = True
) -> dict[tuple[str, str], str]:
    """The SDIS code for each (actor, code) pair of the tables (see the module docstring).

    With ``by_actor=False`` the keys are ``("", code)``: the same code of different actors
    is one SDIS code.

    Examples
    --------
    >>> from workbench import AnnotationTable
    >>> t = AnnotationTable([{"actor": "parent", "code": "waiting", "onset_ms": 0}])
    >>> sdis_codes(t)
    {('parent', 'waiting'): 'parent_waiting'}
    """
    pairs: set[tuple[str, str]] = set()
    for t in _as_mapping(tables).values():
        df = t.to_dataframe()
        for actor, code in zip(df["actor"], df["code"], strict=True):
            pairs.add((str(actor) if by_actor else "", str(code)))
    taken: set[str] = set()
    out: dict[tuple[str, str], str] = {}
    for actor, code in sorted(pairs):
        a = _ident(actor)[:6].strip("_")
        c = _ident(code)
        base = f"{a}_{c}" if a and c else (a or c)
        if not base or not base[0].isalpha():
            base = "c_" + base if base else "c"
        base = base[:SDIS_CODE_LENGTH].rstrip("_")
        candidate, n = base, 2
        while candidate.lower() in taken:
            suffix = str(n)
            candidate = base[: SDIS_CODE_LENGTH - len(suffix)] + suffix
            n += 1
        taken.add(candidate.lower())
        out[(actor, code)] = candidate
    return out


def _label(name: str) -> str:
    """Session label safe inside ``<...>``: ASCII, no angle brackets, ``%/;,`` or line breaks."""
    text = re.sub(r"\s+", " ", re.sub(r"[<>%/;,]", " ", _ascii(name))).strip()
    return text or "session"


def _seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def write_sdis(
    tables: AnnotationTable | Mapping[str, AnnotationTable],
    path: str | Path,
    *,
    kind: Literal["timed", "event"] = "timed",
    by_actor: bool = True,
    ends_ms: Mapping[str, int] | None = None,
) -> Path:
    """Write tables as an SDIS file for GSEQ: one session per table.

    Parameters
    ----------
    tables : AnnotationTable or mapping of str to AnnotationTable
        One table, or session name -> table (in the order the sessions are written).
    path : str or Path
        The ``.sds`` file to write (replaced if it exists).
    kind : {"timed", "event"}
        Timed-event data (codes with onset and offset) or event sequential data (the order
        of codes only).
    by_actor : bool
        Make one SDIS code per actor and code (default) or per code.
    ends_ms : mapping of str to int, optional
        Session end times (ms) for timed data; default: the session's latest offset.

    Returns
    -------
    Path
        The file written. The exact syntax is described in the module docstring.
    """
    if kind not in ("timed", "event"):
        raise ValueError(
            f"Invalid value for the 'kind' parameter. Allowed values are 'timed' and 'event', but got {kind!r} instead."
        )
    sessions = _as_mapping(tables)
    path = as_path(path)
    ends_ms = dict(ends_ms or {})
    unknown = [n for n in ends_ms if n not in sessions]
    if unknown:
        raise ValueError(f"Expected 'ends_ms' keys among the session names {list(sessions)}, but got {unknown}.")
    codes = sdis_codes(sessions, by_actor=by_actor)

    lines = [
        f"% SDIS {'timed-event' if kind == 'timed' else 'event sequential'} data written by VIG Workbench",
    ]
    if kind == "timed":
        lines.append("% time unit: seconds with 3 decimals (1 ms)")
    lines.append("% code mapping (SDIS code = actor / code):" if by_actor else "% code mapping (SDIS code = code):")
    for (actor, code), sdis in sorted(codes.items(), key=lambda kv: kv[1].lower()):
        original = f"{actor} / {code}" if by_actor else code
        lines.append(f"% {sdis} = {_ascii(original).replace(chr(10), ' ')}")
    declared = " ".join(sorted(codes.values(), key=str.lower))
    lines.append(f"{'Timed' if kind == 'timed' else 'Event'} {declared} ;")

    for i, (name, table) in enumerate(sessions.items(), start=1):
        df = table.to_dataframe().sort_values(["onset_ms", "actor", "code", "offset_ms"], kind="mergesort")
        lines.append(f"% session {i} = {name!r}")
        items: list[str] = []
        for actor, code, onset, offset in zip(df["actor"], df["code"], df["onset_ms"], df["offset_ms"], strict=True):
            sdis = codes[(str(actor) if by_actor else "", str(code))]
            if kind == "event":
                items.append(sdis)
            else:
                end = int(offset) if offset > onset else int(onset) + 1
                items.append(f"{sdis},{_seconds(int(onset))}-{_seconds(end)}")
        if kind == "timed":
            ends = zip(df["onset_ms"], df["offset_ms"], strict=True)
            latest = max((int(o) if o > s else int(s) + 1 for s, o in ends), default=0)
            end_ms = int(ends_ms.get(name, latest))
            if end_ms < latest:
                raise ValueError(
                    f"Expected the end of session {name!r} at or after its last event ({latest} ms), "
                    f"but got ends_ms={end_ms}."
                )
            body = " ".join([",0.000", *items, f",{_seconds(end_ms)}/"])
        else:
            body = " ".join([*items, "/"])
        lines.append(f"<{_label(name)}> {body}")
    text = "\n".join(lines) + "\n"
    return atomic_write_bytes(path, text.encode("ascii", "replace"))

"""Noldus The Observer XT exports: ``.otx`` / ``.odx`` (XML) and ``.otb`` (a zip holding one).

What we read (element names from the files; the namespaces are ignored):

- The coding scheme (``CDS_VOSCODINGSCHEME``): behaviour groups (``CDS_BEHAVIOR`` without a
  parent) become categories; behaviours (with ``CDS_ELE_PARENT_NAME``) become codes, keyed
  like BORIS codes (the name when it is a valid key, else a slug), labelled with the name.
  A behaviour is a *state* event when it has a stop key code (``CDS_ELE_STOP_KEYCODE``) and
  a point event otherwise; this agrees with BORIS's import of the same file
  (``otx_import_test.boris``). The shortcut is the start key code (the stop key code when
  there is no usable start key), kept when it is one character and unique. Colours
  (``CDS_ELE_COLOR/@COLOR``) are Windows ``COLORREF`` integers, ``0x00BBGGRR``, converted to
  ``#rrggbb``. A group marked mutually exclusive (``CDS_ELE_MUT_EXCLUSIVE`` = ``Y``) makes
  its behaviours an exclusive group. Descriptions come from ``CDS_ELE_DESCRIPTION``.
- Subjects (``CDS_SUBJECT`` with a parent; the parent groups are not subjects).
- Observations, which only data exports (``.odx``) contain: ``OBS_OBSERVATION/@NAME`` with
  ``OBS_EVENT`` rows (``OBS_EVENT_TIMESTAMP`` ``YYYY-MM-DD hh:mm:ss.fff``, subject
  ``OBS_EVENT_SUBJECT/@NAME``, behaviour ``OBS_EVENT_BEHAVIOR/@NAME``, modifier
  ``OBS_EVENT_BEHAVIOR_MODIFIER``, comment ``OBS_EVENT_COMMENT``), the structure BORIS's
  importer reads. Times become ms from the start of the observation's first event log
  (``OBS_EVENT_LOG/@CREATION_DATETIME``) or, when that is missing or later, from its first
  event. State events toggle START/STOP per (subject, behaviour, modifier) like BORIS's;
  events without a subject get the actor ``"no focal subject"``. Project templates
  (``.otx`` as in BORIS's tests) have no observations.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from workbench.annotations import AnnotationTable
from workbench.errors import FormatError
from workbench.io._common import as_path, count_items, input_limits, read_bytes, read_limited, too_big
from workbench.io._ethogram import Behaviour, LoggedEvent, build_scheme, describe_unpaired, pair_events
from workbench.io.boris import NO_FOCAL_SUBJECT
from workbench.scheme import CodingScheme
from workbench.util import slugify

__all__ = ["ObserverProject", "read_otx"]

_WHAT = "a Noldus The Observer XT export (.otx/.odx XML or .otb zip)"


@dataclass(frozen=True)
class ObserverProject:
    """What :func:`read_otx` found in an Observer XT export.

    Attributes
    ----------
    name : str
        ``MET_PROJECT_NAME`` (the file name when empty).
    scheme : CodingScheme
        The coding scheme's behaviours as codes.
    observations : dict of str to AnnotationTable
        One table per observation (empty for project templates).
    subjects : tuple of str
        Subject names, in the file's order.
    point_codes, state_codes : frozenset of str
        Scheme code keys of point and state behaviours.
    code_keys : dict of str to str
        Observer behaviour name -> scheme code key.
    source : str
        The file read.
    """

    name: str
    scheme: CodingScheme
    observations: dict[str, AnnotationTable]
    subjects: tuple[str, ...] = ()
    point_codes: frozenset[str] = frozenset()
    state_codes: frozenset[str] = frozenset()
    code_keys: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def __repr__(self) -> str:
        return (
            f"<ObserverProject {self.name!r} | {len(self.scheme)} codes, {len(self.subjects)} subjects, "
            f"{len(self.observations)} observations>"
        )


def read_otx(path: str | Path, *, max_bytes: int | None = None, max_items: int | None = None) -> ObserverProject:
    """Read an Observer XT ``.otx`` / ``.odx`` / ``.otb`` export.

    Parameters
    ----------
    path : str or Path
        The export; ``.otb`` is a zip archive whose first ``.otx``/``.odx`` member is read.
    max_bytes : int, optional
        Most bytes the file, and the member read from a zip, may hold (default 256 MiB, or the
        environment variable ``WORKBENCH_MAX_INPUT_BYTES``). A member is decompressed chunk by
        chunk and refused as soon as it passes the limit, whatever size the zip declares.
    max_items : int, optional
        Most XML tags the document may hold (default 1,000,000, or ``WORKBENCH_MAX_INPUT_ITEMS``),
        which bounds the memory the parse takes.

    Returns
    -------
    ObserverProject

    Raises
    ------
    FormatError
        If the file is missing, larger than ``max_bytes`` (also once unzipped) or ``max_items``,
        not XML (or not a zip holding XML), has no coding scheme,
        names unknown behaviours in events or has unpaired state events.

    Examples
    --------
    >>> project = read_otx("otx_parser_test.otx")  # doctest: +SKIP
    >>> project.scheme.code("chicken-healthy").label  # doctest: +SKIP
    'chicken - healthy'
    """
    path = as_path(path)
    src = str(path)
    limit, item_limit = input_limits(max_bytes, max_items)
    raw = read_bytes(path, _WHAT, max_bytes=limit)
    if raw[:4] == b"PK\x03\x04":
        raw = _unzip(raw, src, limit)
    count_items(raw, "xml", _WHAT, src, item_limit)
    try:
        # libxml2's limits on (no huge_tree): at most 256 levels deep, text nodes of at most 10 MB
        root = etree.fromstring(raw, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"Expected {_WHAT} in {src!r}, but it is not well-formed XML: {exc}.") from exc
    del raw  # the tree holds the text now (peak memory)
    scheme_el = _first(root, "CDS_VOSCODINGSCHEME")
    if scheme_el is None:
        raise FormatError(
            f"Expected {_WHAT} in {src!r} (a CDS_VOSCODINGSCHEME element), but got root element "
            f"{etree.QName(root).localname!r} without one."
        )
    name = _text(_first(root, "MET_PROJECT_NAME")) or path.stem
    behaviours, categories, exclusive = _behaviours(scheme_el)
    ethogram = build_scheme(
        scheme_id=slugify(name) or "observer-project",
        name=name,
        version=(_text(_first(root, "MET_CREATION_DATETIME")) or "1")[:10],
        behaviours=behaviours,
        categories=categories,
        exclusive=exclusive,
        source=src,
    )
    subjects = tuple(
        dict.fromkeys(
            _text(_child(s, "CDS_ELE_NAME"))
            for s in _iter(scheme_el, "CDS_SUBJECT")
            if _text(_child(s, "CDS_ELE_PARENT_NAME")) and _text(_child(s, "CDS_ELE_NAME"))
        )
    )
    observations: dict[str, AnnotationTable] = {}
    for obs in _iter(root, "OBS_OBSERVATION"):
        obs_id = obs.get("NAME") or f"observation {len(observations) + 1}"
        where = f"{src}, observation {obs_id!r}"
        events = _events(obs, where, ethogram.code_keys)
        rows, open_starts = pair_events(events, ethogram.state_codes)
        if open_starts:
            raise FormatError(
                f"{src}: Expected every state event to be stopped, but got unpaired state events: "
                f"{describe_unpaired(obs_id, open_starts)}."
            )
        observations[obs_id] = AnnotationTable(rows, scheme=ethogram.scheme, source=where)
    return ObserverProject(
        name=name,
        scheme=ethogram.scheme,
        observations=observations,
        subjects=subjects,
        point_codes=ethogram.point_codes,
        state_codes=ethogram.state_codes,
        code_keys=ethogram.code_keys,
        source=src,
    )


def _unzip(raw: bytes, src: str, limit: int) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            members = [i for i in z.infolist() if i.filename.lower().endswith((".otx", ".odx"))] or z.infolist()
            if not members:
                raise FormatError(f"Expected an .otx or .odx file inside the zip {src!r}, but it is empty.")
            member = members[0]
            if member.file_size > limit:  # what the zip declares; the read below holds it to the limit anyway
                unzips = f"holds {member.filename!r}, which unzips to {member.file_size:,} bytes"
                raise too_big(_WHAT, src, limit, unzips)
            with z.open(member) as fh:
                return read_limited(fh, limit, _WHAT, src, unpacked=True)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise FormatError(f"Expected {_WHAT} in {src!r}, but the zip archive is damaged: {exc}.") from exc


# -- element helpers (namespace-agnostic) ------------------------------------------------------


def _iter(el: Any, name: str) -> Iterator[Any]:
    return (e for e in el.iter() if isinstance(e.tag, str) and etree.QName(e).localname == name)


def _first(el: Any, name: str) -> Any:
    return next(_iter(el, name), None)


def _child(el: Any, name: str) -> Any:
    for c in el:
        if isinstance(c.tag, str) and etree.QName(c).localname == name:
            return c
    return None


def _text(el: Any) -> str:
    return (el.text or "").strip() if el is not None else ""


def _colour(el: Any) -> str | None:
    """``#rrggbb`` from a Windows COLORREF integer (0x00BBGGRR) in ``@COLOR``."""
    if el is None or not ((el.get("COLOR") or "").strip().isascii() and (el.get("COLOR") or "").strip().isdigit()):
        return None
    v = int(el.get("COLOR"))
    r, g, b = v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF
    return f"#{r:02x}{g:02x}{b:02x}"


def _behaviours(
    scheme_el: Any,
) -> tuple[list[Behaviour], list[tuple[str, Any]], list[list[str]]]:
    behaviours: list[Behaviour] = []
    categories: list[tuple[str, Any]] = []
    exclusive_groups: list[str] = []
    members: dict[str, list[str]] = {}
    for b in _iter(scheme_el, "CDS_BEHAVIOR"):
        name = _text(_child(b, "CDS_ELE_NAME"))
        if not name:
            continue
        parent = _text(_child(b, "CDS_ELE_PARENT_NAME"))
        colour = _colour(_child(b, "CDS_ELE_COLOR"))
        if not parent:  # a behaviour group
            categories.append((name, colour))
            if _text(_child(b, "CDS_ELE_MUT_EXCLUSIVE")).upper() == "Y":
                exclusive_groups.append(name)
            continue
        start_key = _text(_child(b, "CDS_ELE_START_KEYCODE"))
        stop_key = _text(_child(b, "CDS_ELE_STOP_KEYCODE"))
        key = start_key if len(start_key) == 1 else (stop_key if len(stop_key) == 1 else (start_key or None))
        kind: Literal["point", "state"] = "state" if stop_key else "point"
        behaviours.append(
            Behaviour(
                name=name,
                kind=kind,
                category=parent,
                key=key,
                description=_text(_child(b, "CDS_ELE_DESCRIPTION")),
                colour=colour,
            )
        )
        members.setdefault(parent, []).append(name)
    exclusive = [members.get(g, []) for g in exclusive_groups]
    return behaviours, categories, exclusive


def _timestamp(text: str) -> dt.datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def _events(obs: Any, where: str, code_keys: dict[str, str]) -> list[LoggedEvent]:
    raw: list[tuple[dt.datetime, str, str, str, str, str]] = []
    log_starts: list[dt.datetime] = []
    for log in _iter(obs, "OBS_EVENT_LOG"):
        created = _timestamp(log.get("CREATION_DATETIME") or "")
        if created is not None:
            log_starts.append(created)
    for i, ev in enumerate(_iter(obs, "OBS_EVENT")):
        stamp_text = _text(_child(ev, "OBS_EVENT_TIMESTAMP"))
        stamp = _timestamp(stamp_text)
        if stamp is None:
            raise FormatError(
                f"{where}, event #{i}: Expected OBS_EVENT_TIMESTAMP as 'YYYY-MM-DD hh:mm:ss.fff', "
                f"but got {stamp_text!r}."
            )
        subject_el = _child(ev, "OBS_EVENT_SUBJECT")
        subject = ((subject_el.get("NAME") if subject_el is not None else "") or "").strip()
        behaviour_el = _child(ev, "OBS_EVENT_BEHAVIOR")
        behaviour = ((behaviour_el.get("NAME") if behaviour_el is not None else "") or "").strip()
        if behaviour not in code_keys:
            raise FormatError(
                f"{where}, event #{i} at {stamp_text}: Expected a behaviour of the coding scheme, "
                f"but got {behaviour!r}."
            )
        modifier = _text(_first(behaviour_el, "OBS_EVENT_BEHAVIOR_MODIFIER")) if behaviour_el is not None else ""
        comment = _text(_child(ev, "OBS_EVENT_COMMENT"))
        raw.append((stamp, stamp_text, subject, behaviour, modifier, comment))
    if not raw:
        return []
    first = min(r[0] for r in raw)
    origin = min(log_starts) if log_starts and min(log_starts) <= first else first
    out = []
    for stamp, _stamp_text, subject, behaviour, modifier, comment in raw:
        ms = round((stamp - origin) / dt.timedelta(milliseconds=1))
        note = "; ".join(x for x in (comment, f"modifier: {modifier}" if modifier else "") if x)
        out.append(
            LoggedEvent(
                time_ms=int(ms),
                actor=subject or NO_FOCAL_SUBJECT,
                code=code_keys[behaviour],
                name=behaviour,
                modifiers=modifier,
                note=note,
                time_text=f"{ms / 1000:.3f}",
            )
        )
    return out

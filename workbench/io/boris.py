"""BORIS projects (``.boris``): the ethogram as a coding scheme, each observation as a table.

A BORIS project file is JSON; BORIS also saves it gzip-compressed (``.boris.gz``), which is read
with the same limits as any input (at most 256 MiB once decompressed, see :func:`read_boris`).
What we read from it:

- ``behaviors_conf`` (the ethogram) -> a :class:`~workbench.scheme.CodingScheme`: one code
  per behaviour. The code key is BORIS's behaviour code when it is a valid key, else a slug
  of it (``"chicken - healthy"`` -> ``chicken-healthy``); the label is always BORIS's code.
  Category from the behaviour's category (``"uncategorised"`` when empty); colour
  normalised to ``#rrggbb`` (hex, CSS/Qt names and ``tab:`` names are understood; missing
  colours come from a palette); shortcut keys kept when one character, free for the player
  and unique, else dropped with a warning; contact kind ``None``.
- ``observations`` -> one :class:`~workbench.annotations.AnnotationTable` per observation
  id. Subjects are actors; events without a subject get the actor
  :data:`NO_FOCAL_SUBJECT`. State events are paired START/STOP per (subject, behaviour,
  modifiers), as BORIS pairs them; point events get ``offset_ms == onset_ms``. Times are
  BORIS's seconds rounded half up to integer ms (exact decimal arithmetic), as stored: BORIS
  stores event times with the observation's time offset already applied.
- Modifiers go to the extra column ``modifiers`` (the selected values in BORIS's order,
  stripped, joined with ``|``; BORIS's ``None`` = nothing selected becomes empty) and, with
  the modifier set names, to ``note`` (``"modif #1: m1"``), after the event's comment.
- Media file names (never their folders) are kept as information in
  :attr:`BorisProject.media`; media files need not exist.

Observations with unpaired state events raise :class:`~workbench.errors.FormatError`
naming observation, subject, behaviour and time; with ``unpaired="skip"`` they are left out
with a warning instead, which is what BORIS's own exports do ("observations with UNPAIRED
state events will be removed from the analysis"). Observations without timestamps (BORIS
"images" observations) are left out with a warning.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from workbench.annotations import AnnotationTable
from workbench.errors import AnnotationError, FormatError
from workbench.io._common import as_path, read_bytes, seconds_to_ms
from workbench.io._ethogram import Behaviour, LoggedEvent, build_scheme, describe_unpaired, pair_events
from workbench.scheme import CodingScheme
from workbench.util import slugify

__all__ = ["NO_FOCAL_SUBJECT", "BorisProject", "read_boris"]

#: Actor of BORIS events coded without a subject.
NO_FOCAL_SUBJECT = "no focal subject"

_WHAT = "a BORIS project (.boris JSON)"
_MAX_MS = 2**63 - 1  # the store's (and numpy's) integer range


@dataclass(frozen=True)
class BorisProject:
    """What :func:`read_boris` found in a BORIS project.

    Attributes
    ----------
    name : str
        BORIS's project name (the file name when empty).
    scheme : CodingScheme
        The ethogram as a coding scheme; every table is validated against it.
    observations : dict of str to AnnotationTable
        One table per observation id, in the file's order.
    point_codes, state_codes : frozenset of str
        Scheme code keys of BORIS's point and state behaviours.
    subjects : tuple of str
        The subjects declared in the project (not :data:`NO_FOCAL_SUBJECT`).
    media : dict of str to tuple of str
        Media file *names* per observation id (empty for live observations).
    code_keys : dict of str to str
        BORIS behaviour code -> scheme code key.
    skipped : tuple of str
        Observation ids left out (unpaired state events with ``unpaired="skip"``, or no
        timestamps).
    source : str
        The file read.
    """

    name: str
    scheme: CodingScheme
    observations: dict[str, AnnotationTable]
    point_codes: frozenset[str]
    state_codes: frozenset[str]
    subjects: tuple[str, ...] = ()
    media: dict[str, tuple[str, ...]] = field(default_factory=dict)
    code_keys: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    source: str = ""

    def __repr__(self) -> str:
        return (
            f"<BorisProject {self.name!r} | {len(self.scheme)} codes, {len(self.subjects)} subjects, "
            f"{len(self.observations)} observations>"
        )


def read_boris(
    path: str | Path,
    *,
    observations: Collection[str] | None = None,
    unpaired: Literal["error", "skip"] = "error",
    max_bytes: int | None = None,
    max_items: int | None = None,
) -> BorisProject:
    """Read a BORIS project: its ethogram as a scheme and its observations as tables.

    Parameters
    ----------
    path : str or Path
        A ``.boris`` file (JSON, optionally gzip-compressed).
    observations : collection of str, optional
        Only these observation ids (default: all).
    unpaired : {"error", "skip"}
        What to do with an observation that has a state event started and never stopped:
        raise :class:`FormatError` (default) or leave the observation out with a warning,
        as BORIS's exports do.
    max_bytes : int, optional
        Most bytes the file may hold, once decompressed (default 256 MiB, or the environment variable
        ``WORKBENCH_MAX_INPUT_BYTES``); a larger file is refused before it is parsed.
    max_items : int, optional
        Most JSON values the file may hold (default 1,000,000, or ``WORKBENCH_MAX_INPUT_ITEMS``),
        which bounds the memory the parse takes.

    Returns
    -------
    BorisProject

    Raises
    ------
    FormatError
        If the file is missing, larger than ``max_bytes`` (also once decompressed) or
        ``max_items``, not JSON, not a BORIS project, has malformed events, events
        of behaviours missing from the ethogram or (``unpaired="error"``) unpaired state
        events; the message names the file, observation, subject, behaviour and time.
    AnnotationError
        If events have times before 0 s: each is named by observation, event number, subject,
        behaviour and time.

    Examples
    --------
    >>> project = read_boris("test.boris", unpaired="skip")  # doctest: +SKIP
    >>> project.observations["observation #1"].filter(actor="subject1")  # doctest: +SKIP
    <AnnotationTable | 3 annotations, 1 actors: s (3)>
    """
    if unpaired not in ("error", "skip"):
        raise ValueError(
            f"Invalid value for the 'unpaired' parameter. Allowed values are 'error' and 'skip', "
            f"but got {unpaired!r} instead."
        )
    path = as_path(path)
    src = str(path)
    data = _load_json(path, max_bytes, max_items)
    pj_name = str(data.get("project_name") or "").strip()

    behaviours = _behaviours(data, src)
    categories = _categories(data)
    ethogram = build_scheme(
        scheme_id=slugify(pj_name) or slugify(path.stem) or "boris-project",
        name=pj_name or path.stem,
        version=str(data.get("project_date") or "")[:10] or "1",
        behaviours=behaviours,
        categories=categories,
        source=src,
    )
    modifier_sets = _modifier_set_names(data)
    subjects = _subjects(data)

    raw_obs = data.get("observations")
    if not isinstance(raw_obs, Mapping):
        raise FormatError(f"{src}: Expected 'observations' to be a JSON object, but got {type(raw_obs).__name__}.")
    wanted = list(raw_obs) if observations is None else list(observations)
    unknown = [o for o in wanted if o not in raw_obs]
    if unknown:
        raise ValueError(f"Expected observation ids of {src} ({list(raw_obs)}), but got unknown {unknown}.")

    tables: dict[str, AnnotationTable] = {}
    media: dict[str, tuple[str, ...]] = {}
    skipped: list[str] = []
    for obs_id in wanted:
        obs = raw_obs[obs_id]
        where = f"{src}, observation {obs_id!r}"
        if not isinstance(obs, Mapping):
            raise FormatError(f"{where}: Expected a JSON object, but got {type(obs).__name__}.")
        media[obs_id] = _media_names(obs.get("file"))
        events = _events(obs, where, ethogram.code_keys, modifier_sets)
        if events is None:
            warnings.warn(f"{where}: has no timestamps (images observation); left out.", stacklevel=2)
            skipped.append(obs_id)
            continue
        rows, open_starts = pair_events(events, ethogram.state_codes)
        if open_starts:
            message = describe_unpaired(obs_id, open_starts)
            if unpaired == "error":
                raise FormatError(
                    f"{src}: Expected every state event to be stopped, but got unpaired state events: "
                    f"{message}. Fix them in BORIS, or pass unpaired='skip' to leave the observation out."
                )
            warnings.warn(f"{src}: left out an observation with unpaired state events: {message}.", stacklevel=2)
            skipped.append(obs_id)
            continue
        tables[obs_id] = AnnotationTable(rows, scheme=ethogram.scheme, source=where)

    return BorisProject(
        name=pj_name or path.stem,
        scheme=ethogram.scheme,
        observations=tables,
        point_codes=ethogram.point_codes,
        state_codes=ethogram.state_codes,
        subjects=subjects,
        media=media,
        code_keys=ethogram.code_keys,
        skipped=tuple(skipped),
        source=src,
    )


# -- parts of the project ---------------------------------------------------------------------


def _load_json(path: Path, max_bytes: int | None, max_items: int | None) -> dict[str, Any]:
    raw = read_bytes(path, _WHAT, gzip_ok=True, max_bytes=max_bytes, max_items=max_items, items="json")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"Expected {_WHAT} in {str(path)!r}, but got bytes that are not UTF-8 text (at byte {exc.start})."
        ) from exc
    del raw  # one copy of the text at a time (peak memory)
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"Expected {_WHAT} in {str(path)!r}, but it is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})."
        ) from exc
    except RecursionError as exc:
        raise FormatError(f"Expected {_WHAT} in {str(path)!r}, but the JSON is nested too deeply.") from exc
    if not isinstance(data, dict) or "behaviors_conf" not in data or "observations" not in data:
        got = (
            f"a JSON object with keys {sorted(data)[:8]}" if isinstance(data, dict) else f"a JSON {type(data).__name__}"
        )
        raise FormatError(
            f"Expected {_WHAT} in {str(path)!r}: a JSON object with 'behaviors_conf' and 'observations', but got {got}."
        )
    return data


def _indexed(values: Any) -> list[Any]:
    """BORIS's ``{"0": ..., "1": ...}`` objects (or plain lists) in index order."""
    if isinstance(values, Mapping):

        def order(k: Any) -> tuple[int, Any]:
            s = str(k)
            return (0, int(s)) if s.isascii() and s.isdigit() else (1, s)

        return [values[k] for k in sorted(values, key=order)]
    if isinstance(values, list):
        return list(values)
    return []


def _behaviours(data: Mapping[str, Any], src: str) -> list[Behaviour]:
    conf = data.get("behaviors_conf")
    if not isinstance(conf, Mapping | list):
        raise FormatError(f"{src}: Expected 'behaviors_conf' to be a JSON object, but got {type(conf).__name__}.")
    out: list[Behaviour] = []
    for i, b in enumerate(_indexed(conf)):
        where = f"{src}, behaviour #{i}"
        if not isinstance(b, Mapping) or not str(b.get("code") or "").strip():
            raise FormatError(f"{where}: Expected an object with a non-empty 'code', but got {b!r}.")
        kind_text = str(b.get("type") or "").lower()
        if "point" in kind_text:
            kind: Literal["point", "state"] = "point"
        elif "state" in kind_text:
            kind = "state"
        else:
            raise FormatError(
                f"{where} ({b.get('code')!r}): Expected type 'Point event' or 'State event', but got {b.get('type')!r}."
            )
        out.append(
            Behaviour(
                name=str(b["code"]).strip(),
                kind=kind,
                category=str(b.get("category") or "").strip(),
                key=str(b.get("key") or "") or None,
                description=str(b.get("description") or ""),
                colour=b.get("color", b.get("colour")),
            )
        )
    return out


def _categories(data: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Declared categories: BORIS < 8 keeps a list of names, BORIS 8 objects with name and colour."""
    conf = data.get("behavioral_categories_conf")
    out: list[tuple[str, Any]] = []
    if isinstance(conf, Mapping) and conf:
        for c in _indexed(conf):
            if isinstance(c, Mapping) and c.get("name"):
                out.append((str(c["name"]), c.get("color")))
        return out
    for c in _indexed(data.get("behavioral_categories")):
        if isinstance(c, Mapping) and c.get("name"):
            out.append((str(c["name"]), c.get("color")))
        elif isinstance(c, str) and c.strip():
            out.append((c, None))
    return out


def _modifier_set_names(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """BORIS behaviour code -> names of its modifier sets, in order."""
    out: dict[str, list[str]] = {}
    for b in _indexed(data.get("behaviors_conf")):
        if isinstance(b, Mapping) and b.get("code"):
            sets = _indexed(b.get("modifiers"))
            out[str(b["code"]).strip()] = [
                str(s.get("name") or "").strip() if isinstance(s, Mapping) else "" for s in sets
            ]
    return out


def _subjects(data: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for s in _indexed(data.get("subjects_conf")):
        if isinstance(s, Mapping) and str(s.get("name") or "").strip():
            names.append(str(s["name"]).strip())
    return tuple(dict.fromkeys(names))


def _media_names(files: Any) -> tuple[str, ...]:
    """File names (no folders: they would reveal the coder's machine) of all players' media."""
    names: list[str] = []
    for _player, items in sorted(files.items(), key=lambda kv: str(kv[0])) if isinstance(files, Mapping) else []:
        for item in items if isinstance(items, list) else [items]:
            name = re.split(r"[\\/]", str(item))[-1].strip()
            if name:
                names.append(name)
    return tuple(names)


def _modifiers(raw: Any, set_names: list[str]) -> tuple[str, str]:
    """(column value, note text) for BORIS's modifier string ``"m1|None|..."``."""
    if raw is None:
        return "", ""
    parts = [p.strip() for p in str(raw).split("|")]
    parts = ["" if p == "None" else p for p in parts]
    if not any(parts):
        return "", ""
    notes = []
    for i, p in enumerate(parts):
        if p:
            name = set_names[i] if i < len(set_names) and set_names[i] else f"modifier {i + 1}"
            notes.append(f"{name}: {p}")
    return "|".join(parts), "; ".join(notes)


def _events(
    obs: Mapping[str, Any],
    where: str,
    code_keys: Mapping[str, str],
    modifier_sets: Mapping[str, list[str]],
) -> list[LoggedEvent] | None:
    """The observation's events, or None when they have no timestamps (images observations)."""
    raw = obs.get("events", [])
    if not isinstance(raw, list):
        raise FormatError(f"{where}: Expected 'events' to be a list, but got {type(raw).__name__}.")
    out: list[LoggedEvent] = []
    problems: list[str] = []
    for i, ev in enumerate(raw):
        if not isinstance(ev, list) or len(ev) < 3:
            raise FormatError(f"{where}, event #{i}: Expected [time, subject, behaviour, ...], but got {ev!r}.")
        time_raw = ev[0]
        if str(time_raw).strip().lower() == "nan":
            return None
        try:
            t_ms = seconds_to_ms(time_raw)
        except ValueError:
            raise FormatError(f"{where}, event #{i}: Expected a time in seconds, but got {time_raw!r}.") from None
        subject = str(ev[1] or "").strip() or NO_FOCAL_SUBJECT
        behaviour = str(ev[2] or "").strip()
        if behaviour not in code_keys:
            raise FormatError(
                f"{where}, event #{i} at {time_raw} s: Expected a behaviour of the ethogram, but got {behaviour!r}."
            )
        if not 0 <= t_ms <= _MAX_MS:
            problems.append(
                f"{where}, event #{i} (subject {subject!r}, behaviour {behaviour!r}): Expected a time of 0 s or "
                f"later, but got {time_raw} s."
            )
            continue
        modifiers, modifier_note = _modifiers(ev[3] if len(ev) > 3 else "", modifier_sets.get(behaviour, []))
        comment = str(ev[4]).strip() if len(ev) > 4 and ev[4] is not None else ""
        note = "; ".join(x for x in (comment, modifier_note) if x)
        out.append(
            LoggedEvent(
                time_ms=t_ms,
                actor=subject,
                code=code_keys[behaviour],
                name=behaviour,
                modifiers=modifiers,
                note=note,
                time_text=str(time_raw),
            )
        )
    if problems:
        raise AnnotationError(problems, source=where)
    return out

"""ELAN annotation files (``.eaf``): read with lxml, written through pympi-ling.

Reading (:func:`read_eaf`)
--------------------------
- The XML is read with lxml, not pympi's parser: pympi drops ``CVE_REF`` (needed for
  controlled vocabularies), fails with a bare ``KeyError`` on a document without an
  ``xsi:noNamespaceSchemaLocation`` attribute, and gives no line numbers for errors.
- Each tier's annotations become rows, with the tier id in the extra column ``tier`` and the
  tier's own ``PARTICIPANT`` attribute (missing when it has none) in the extra column
  ``participant``.
- **The actor is the name of the tier's root tier**, the tier names a user sees in ELAN: an
  independent tier's own id; for a dependent tier, the id at the top of its ``PARENT_REF``
  chain (``vcm@CHI`` -> ``CHI``; ``mwu@CHI`` -> ``lex@CHI`` -> ``CHI``), so that one person's
  tiers share one actor. ``PARTICIPANT`` is not used by default: in real corpora it is often
  a role shared by several speakers (``"MULTI"`` on three speakers' tiers) or disagrees
  between one person's tiers (``CHI`` with participant ``"Child"``, its dependent ``vcm@CHI``
  with participant ``"CHI"``).
- Tiers whose linguistic type is one of the workbench's own (:data:`CODE_TYPE`,
  :data:`POINT_TYPE`), as :func:`write_eaf` writes them, take the actor from their
  ``PARTICIPANT`` (their ids, ``"parent@trainee"``, ``"parent (points)"``, ``"parent #2"``,
  are built from actor and coder), and so do the tiers that depend on them. A file the
  workbench wrote reads back with its original actors, also after its tiers were renamed
  in ELAN.
- ``actor_from="participant"`` takes the actor from the ``PARTICIPANT`` of each tier's root
  tier (its id when it has none). It refuses, with :class:`~workbench.errors.FormatError`,
  to merge different root tiers into one actor because they share a participant value.
- The coder is the ``coder`` argument when given, else the tier's ``ANNOTATOR`` attribute,
  else ``""``.
- The annotation value is the code. When the tier's linguistic type uses a controlled
  vocabulary stored in the file, a value given by reference (``CVE_REF``) or written as a
  CV entry id is replaced by the entry's value (its first language). External vocabularies
  (``.ecv`` files) are not fetched: values are kept as written. With ``scheme=``, every code
  must be a code of the scheme; each one that is not is named by file, tier and time.
- Times are integer ms. Time slots without a value (unaligned boundaries inside a time
  subdivision) are placed as ELAN displays them: evenly between the nearest aligned
  boundaries of the same chain of annotations.
- Reference annotations (symbolic association and symbolic subdivision tiers) have no
  times of their own: they take their parent's times, through chains of references
  (``mwu@CHI`` -> ``lex@CHI`` -> ``CHI``). ELAN spreads symbolic subdivisions evenly over
  the parent only for display; here each gets the parent's whole interval.
- Annotations with an empty value are skipped, with one warning that counts them per tier.

Writing (:func:`write_eaf`)
---------------------------
- One tier per actor (``PARTICIPANT`` = actor), of the linguistic type :data:`CODE_TYPE`.
  When the table has more than one coder, one tier per actor and coder, with tier id
  ``"actor@coder"`` and ``ANNOTATOR`` = coder; reading uses the attributes, not the id, so
  ids may be renamed in ELAN.
- ELAN does not allow overlapping annotations on one tier: overlapping rows of the same
  actor (and coder) go to extra tiers ``"parent #2"``, ``"parent #3"``, ...
- ELAN has no zero-length annotations. Point events (``offset_ms == onset_ms``) are written
  with a 1 ms duration on tiers of their own, ``"parent (points)"``, whose linguistic type
  is :data:`POINT_TYPE`; reading turns a 1 ms annotation on such a tier back into a point
  event. (An annotation stretched in ELAN to more than 1 ms stays an interval.)
- The table's scheme (or ``scheme=``) becomes a controlled vocabulary whose id is the
  scheme id, one entry per code (value = code key, description = label), used by both
  linguistic types.
- ``media`` adds a media descriptor with a *relative* URL (the file name, or the path
  relative to the EAF's folder when the media is inside it): an absolute path would reveal
  the coder's machine and folders.
- Not written: ids, recording ids, notes and extra columns (the ``tier`` and
  ``participant`` columns of :func:`read_eaf` are not reused: tiers are rebuilt from actors
  and coders).
Every file written validates against ELAN's EAF 3.0 schema.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import os
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import quote

import pympi
from lxml import etree

from workbench.annotations import AnnotationTable, format_span
from workbench.errors import AnnotationError, FormatError
from workbench.io._common import as_path, read_bytes
from workbench.scheme import CodingScheme
from workbench.util import atomic_write_bytes

__all__ = ["CODE_TYPE", "POINT_TYPE", "read_eaf", "write_eaf"]

log = logging.getLogger(__name__)

#: Linguistic type of the tiers :func:`write_eaf` writes for intervals.
CODE_TYPE = "workbench-code"
#: Linguistic type of the tiers holding point events (1 ms annotations that read back as points).
POINT_TYPE = "workbench-point"

_WHAT = "an ELAN annotation file (.eaf XML)"
_UND = ("und", "http://cdb.iso.org/lg/CDB-00130975-001", "undetermined (und)")


# -- reading ----------------------------------------------------------------------------------


def read_eaf(
    path: str | Path,
    *,
    coder: str = "",
    recording_id: int | None = None,
    tiers: Collection[str] | None = None,
    actor_from: Literal["tier", "participant"] = "tier",
    scheme: CodingScheme | None = None,
    max_bytes: int | None = None,
    max_items: int | None = None,
) -> AnnotationTable:
    """Read an ELAN ``.eaf`` file into an :class:`AnnotationTable`.

    Parameters
    ----------
    path : str or Path
        The EAF file.
    coder : str
        Coder of every row; when empty, each tier's ``ANNOTATOR`` attribute (if any).
    recording_id : int, optional
        Recording id given to every row.
    tiers : collection of str, optional
        Only these tier ids (default: every tier).
    actor_from : {"tier", "participant"}
        Name each actor after the tier's root tier (default), or after the root tier's
        ``PARTICIPANT`` attribute.
    scheme : CodingScheme, optional
        Every code must be a code of this scheme; the table is bound to it.
    max_bytes : int, optional
        Most bytes the file may hold (default 256 MiB, or the environment variable
        ``WORKBENCH_MAX_INPUT_BYTES``); a larger file is refused before it is parsed.
    max_items : int, optional
        Most XML tags the file may hold (default 1,000,000, or ``WORKBENCH_MAX_INPUT_ITEMS``),
        which bounds the memory the parse takes.

    Returns
    -------
    AnnotationTable
        Actor from the root tier's id (or, for tiers the workbench wrote, their participant),
        code from the value, times in ms, extra columns ``tier`` and ``participant``. See the
        module docstring for the rules.

    Raises
    ------
    FormatError
        If the file is missing, gzip-compressed (ELAN never compresses), larger than
        ``max_bytes`` or ``max_items``, not XML, not an ELAN document, or its references are
        broken (unknown time slot, parent annotation or parent tier, or a reference cycle);
        with ``actor_from="participant"``, if tiers of different root tiers share a
        participant value. The message names the file and, where it can, the line.
    AnnotationError
        With ``scheme``, naming file, tier and time of every code that is not in it.
    ValueError
        If ``tiers`` names tiers that are not in the file, or ``actor_from`` is unknown.

    Examples
    --------
    >>> table = read_eaf("childproject_example.eaf", tiers=["CHI", "xds@FA1"])  # doctest: +SKIP
    >>> table.actors  # doctest: +SKIP
    ('CHI', 'FA1')
    """
    if actor_from not in ("tier", "participant"):
        raise ValueError(
            "Invalid value for the 'actor_from' parameter. Allowed values are 'tier' and 'participant', "
            f"but got {actor_from!r} instead."
        )
    path = as_path(path)
    src = str(path)
    raw = read_bytes(path, _WHAT, max_bytes=max_bytes, max_items=max_items, items="xml")
    root = _parse_xml(raw, src)
    del raw  # the tree holds the text now: free the bytes before copying it into rows (peak memory)
    doc = _Document(root, src)
    del root
    if tiers is not None:
        wanted = set(tiers)
        unknown = sorted(wanted - set(doc.tiers))
        if unknown:
            raise ValueError(f"Expected tier ids of {src} ({list(doc.tiers)}), but got unknown {unknown}.")
        selected = [t for t in doc.tiers if t in wanted]
    else:
        selected = list(doc.tiers)
    actors = _actors(doc, selected, actor_from)

    times = _Times(doc)
    rows: list[dict[str, Any]] = []
    empty: Counter[str] = Counter()
    for tier_id in selected:
        tier = doc.tiers[tier_id]
        participant = (tier.attrib.get("PARTICIPANT") or "").strip() or None
        row_coder = coder or (tier.attrib.get("ANNOTATOR") or "").strip()
        ling_type = tier.attrib.get("LINGUISTIC_TYPE_REF", "")
        entries = doc.vocabularies.get(doc.linguistic_types.get(ling_type, {}).get("CONTROLLED_VOCABULARY_REF", ""), {})
        for ann in tier.annotations:
            code = _code(ann.value, ann.cve_ref, entries)
            if not code:
                empty[tier_id] += 1
                continue
            onset, offset = times.of(ann.id)
            if ling_type == POINT_TYPE and offset - onset == 1:
                offset = onset
            rows.append(
                {
                    "recording_id": recording_id,
                    "actor": actors[tier_id],
                    "code": code,
                    "onset_ms": onset,
                    "offset_ms": offset,
                    "coder": row_coder,
                    "tier": tier_id,
                    "participant": participant,
                }
            )
    if empty:
        per_tier = ", ".join(f"{t} ({n})" for t, n in empty.items())
        warnings.warn(
            f"{src}: skipped {sum(empty.values())} annotation(s) with an empty value (tiers: {per_tier}).",
            stacklevel=2,
        )
    if scheme is not None:
        problems = [
            f"{src}, tier {r['tier']!r}, {format_span(r['onset_ms'], r['offset_ms'])}: "
            f"Expected a code of scheme {scheme.id!r}, but got {r['code']!r}."
            for r in rows
            if r["code"] not in scheme
        ]
        if problems:
            raise AnnotationError(problems, source=src)
    return AnnotationTable(rows, scheme=scheme, source=src)


def _actors(doc: _Document, selected: list[str], actor_from: str) -> dict[str, str]:
    """The actor of each selected tier: its root tier's (see the module docstring)."""
    roots = {tier_id: doc.root(tier_id) for tier_id in selected}
    of_root: dict[str, str] = {}
    claims: dict[str, list[str]] = {}  # actor -> the root tiers (or the workbench's tiers) it stands for
    for root in dict.fromkeys(roots.values()):
        attrib = doc.tiers[root].attrib
        participant = (attrib.get("PARTICIPANT") or "").strip()
        ours = bool(participant) and attrib.get("LINGUISTIC_TYPE_REF") in (CODE_TYPE, POINT_TYPE)
        of_root[root] = participant or root if ours or actor_from == "participant" else root
        claim = "the workbench's own tiers" if ours else repr(root)
        if claim not in claims.setdefault(of_root[root], []):
            claims[of_root[root]].append(claim)
    merged = {actor: owners for actor, owners in claims.items() if len(owners) > 1}
    if merged and actor_from == "participant":  # by tier id, a tier named as a workbench actor joins it
        listed = "; ".join(f"{', '.join(owners)} -> {actor!r}" for actor, owners in merged.items())
        raise FormatError(
            f"{doc.src}: Expected the tiers of different people to have different PARTICIPANT values "
            f"(actor_from='participant'), but these root tiers would merge into one actor: {listed}. "
            "Read with actor_from='tier' (the default), which names each actor after its root tier."
        )
    return {tier_id: of_root[root] for tier_id, root in roots.items()}


def _parse_xml(raw: bytes, src: str) -> etree._Element:
    # libxml2's own limits stay on (no huge_tree): nesting deeper than 256 and text nodes over 10 MB,
    # which no ELAN file has, are refused; the file was read from bytes, so libxml2 never unpacks gzip
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"Expected {_WHAT} in {src!r}, but it is not well-formed XML: {exc}.") from exc
    if not isinstance(root.tag, str) or etree.QName(root).localname != "ANNOTATION_DOCUMENT":
        raise FormatError(
            f"Expected {_WHAT} in {src!r} (root element ANNOTATION_DOCUMENT), "
            f"but got root element {etree.QName(root).localname!r}."
        )
    return root


@dataclass(frozen=True, slots=True)
class _Annotation:
    id: str
    value: str
    cve_ref: str | None
    slots: tuple[str, str] | None  # time-aligned: (TIME_SLOT_REF1, TIME_SLOT_REF2)
    parent: str | None  # reference annotation: ANNOTATION_REF


@dataclass(slots=True)
class _Tier:
    attrib: dict[str, str]
    annotations: list[_Annotation]


class _Document:
    """The parts of an EAF document the reader needs, checked as they are read.

    EAF is read with lxml rather than pympi's parser: pympi drops ``CVE_REF`` (needed for
    controlled vocabularies), fails with a bare ``KeyError`` on documents without an
    ``xsi:noNamespaceSchemaLocation`` attribute, and reports no line numbers.
    """

    def __init__(self, root: etree._Element, src: str) -> None:
        self.src = src

        def need(el: etree._Element, attr: str) -> str:
            value = el.get(attr)
            if value is None:
                raise FormatError(
                    f"{src}, line {el.sourceline}: Expected attribute {attr} on <{el.tag}>, but it is missing."
                )
            return value

        self.slots: dict[str, int | None] = {}
        for ts in root.iterfind("TIME_ORDER/TIME_SLOT"):
            value = ts.get("TIME_VALUE")
            if value is not None and not (value.strip().isascii() and value.strip().isdigit()):
                raise FormatError(
                    f"{src}, line {ts.sourceline}: Expected TIME_VALUE in whole milliseconds, but got {value!r}."
                )
            self.slots[need(ts, "TIME_SLOT_ID")] = int(value) if value is not None else None
        self.linguistic_types = {
            need(lt, "LINGUISTIC_TYPE_ID"): dict(lt.attrib) for lt in root.iterfind("LINGUISTIC_TYPE")
        }
        self.vocabularies: dict[str, dict[str, str]] = {}
        for cv in root.iterfind("CONTROLLED_VOCABULARY"):
            entries: dict[str, str] = {}
            for entry in cv.iterfind("CV_ENTRY_ML"):
                texts = [(v.text or "").strip() for v in entry.iterfind("CVE_VALUE") if (v.text or "").strip()]
                if texts:
                    entries[need(entry, "CVE_ID")] = texts[0]
            for i, entry in enumerate(cv.iterfind("CV_ENTRY")):  # EAF before 2.8
                if (entry.text or "").strip():
                    entries[entry.get("CVE_ID") or f"cveid{i}"] = entry.text.strip()
            self.vocabularies[need(cv, "CV_ID")] = entries
        self.tiers: dict[str, _Tier] = {}
        self.annotations: dict[str, tuple[str, _Annotation]] = {}
        for t in root.iterfind("TIER"):
            tier_id = need(t, "TIER_ID")
            need(t, "LINGUISTIC_TYPE_REF")
            if tier_id in self.tiers:
                raise FormatError(f"{src}, line {t.sourceline}: Expected unique tier ids, but {tier_id!r} repeats.")
            anns = []
            for a in t.iterfind("ANNOTATION/*"):
                value = a.findtext("ANNOTATION_VALUE") or ""
                if a.tag == "ALIGNABLE_ANNOTATION":
                    ann = _Annotation(
                        need(a, "ANNOTATION_ID"), value, a.get("CVE_REF"),
                        (need(a, "TIME_SLOT_REF1"), need(a, "TIME_SLOT_REF2")), None,
                    )  # fmt: skip
                elif a.tag == "REF_ANNOTATION":
                    ann = _Annotation(
                        need(a, "ANNOTATION_ID"), value, a.get("CVE_REF"), None, need(a, "ANNOTATION_REF")
                    )
                else:
                    continue
                anns.append(ann)
                self.annotations[ann.id] = (tier_id, ann)
            self.tiers[tier_id] = _Tier(dict(t.attrib), anns)

    def root(self, tier_id: str) -> str:
        """The id at the top of ``tier_id``'s chain of ``PARENT_REF`` (``tier_id`` itself if independent)."""
        chain = [tier_id]
        while parent := self.tiers[chain[-1]].attrib.get("PARENT_REF"):
            if parent not in self.tiers:
                raise FormatError(
                    f"{self.src}: Expected PARENT_REF of tier {chain[-1]!r} to name a tier of the file, "
                    f"but got {parent!r}."
                )
            if parent in chain:
                raise FormatError(
                    f"{self.src}: Expected the PARENT_REF chain of tier {tier_id!r} to end at an independent tier, "
                    f"but it forms a cycle: {' -> '.join((*chain, parent))}."
                )
            chain.append(parent)
        return chain[-1]


def _code(value: str | None, cve_ref: str | None, entries: Mapping[str, str]) -> str:
    value = (value or "").strip()
    if entries:
        if cve_ref and cve_ref in entries:
            return entries[cve_ref]
        if value in entries:
            return entries[value]
    return value


class _Times:
    """Onset and offset (ms) of any annotation: aligned, interpolated or inherited."""

    def __init__(self, doc: _Document) -> None:
        self.doc = doc
        self.slots = doc.slots
        self.memo: dict[str, tuple[int, int]] = {}
        self.chains: dict[str, tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]] = {}

    def of(self, aid: str, _seen: tuple[str, ...] = ()) -> tuple[int, int]:
        if aid in self.memo:
            return self.memo[aid]
        src = self.doc.src
        if aid in _seen:
            raise FormatError(
                f"{src}: Expected reference annotations to lead to a time-aligned annotation, "
                f"but they form a cycle: {' -> '.join((*_seen, aid))}."
            )
        if aid not in self.doc.annotations:
            raise FormatError(
                f"{src}: Expected annotation {aid!r} (referred to by {_seen[-1]!r}), but it does not exist."
            )
        tier_id, ann = self.doc.annotations[aid]
        if ann.slots is not None:
            result = (self._slot(tier_id, ann.slots[0], aid), self._slot(tier_id, ann.slots[1], aid))
        else:
            result = self.of(str(ann.parent), (*_seen, aid))
        self.memo[aid] = result
        return result

    def _slot(self, tier_id: str, slot: str, aid: str) -> int:
        src = self.doc.src
        if slot not in self.slots:
            raise FormatError(
                f"{src}, tier {tier_id!r}, annotation {aid!r}: Expected a time slot of TIME_ORDER, but got {slot!r}."
            )
        value = self.slots[slot]
        if value is not None:
            return value
        # unaligned: ELAN spreads it evenly between the nearest aligned slots of the chain
        starts, ends = self._chain(tier_id)
        back, cur = 0, slot
        while self.slots.get(cur) is None and cur in ends and back <= len(ends):
            cur = ends[cur][0]
            back += 1
        fwd, cur2 = 0, slot
        while self.slots.get(cur2) is None and cur2 in starts and fwd <= len(starts):
            cur2 = starts[cur2][1]
            fwd += 1
        a, b = self.slots.get(cur), self.slots.get(cur2)
        if a is None or b is None:
            raise FormatError(
                f"{src}, tier {tier_id!r}, annotation {aid!r}: Expected the unaligned time slot {slot!r} "
                "to lie between aligned slots of its tier, but none was found."
            )
        return round(a + (b - a) * back / (back + fwd))

    def _chain(self, tier_id: str) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
        if tier_id not in self.chains:
            spans = [a.slots for a in self.doc.tiers[tier_id].annotations if a.slots is not None]
            self.chains[tier_id] = ({s[0]: s for s in spans}, {s[1]: s for s in spans})
        return self.chains[tier_id]


# -- writing ----------------------------------------------------------------------------------


def write_eaf(
    table: AnnotationTable,
    path: str | Path,
    media: str | Path | None = None,
    *,
    scheme: CodingScheme | None = None,
) -> Path:
    """Write a table as an ELAN ``.eaf`` (EAF 3.0) file.

    Parameters
    ----------
    table : AnnotationTable
        The rows to write.
    path : str or Path
        The file to write (replaced if it exists; written atomically).
    media : str or Path, optional
        The recording, linked by a relative URL (never an absolute path).
    scheme : CodingScheme, optional
        Written as a controlled vocabulary (default: the table's scheme, if any); the table's
        codes must be in it.

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    Tier layout and the point-event convention are described in the module docstring.
    """
    if not isinstance(table, AnnotationTable):
        raise TypeError(f"Expected an AnnotationTable, but got {type(table).__name__}.")
    path = as_path(path)
    recordings = sorted({int(r) for r in table.to_dataframe()["recording_id"].dropna()})
    if len(recordings) > 1:
        raise ValueError(
            f"Expected the rows of one recording (an EAF file describes one), but got recording ids {recordings}; "
            "write one file per recording with table.filter(recording_id=...)."
        )
    scheme = scheme or table.scheme
    if scheme is not None and scheme is not table.scheme:
        table = table.validate(scheme)

    eaf = pympi.Elan.Eaf(author="")
    eaf.tiers.clear()
    eaf.linguistic_types.clear()
    eaf.properties.clear()
    eaf.annotations.clear()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    eaf.adocument.update(
        {
            "AUTHOR": "",
            "DATE": now.isoformat(),
            "VERSION": "3.0",
            "FORMAT": "3.0",
            "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd",
        }
    )
    eaf.header.update({"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})

    cv_id = None
    if scheme is not None:
        cv_id = scheme.id
        eaf.add_language(*_UND)
        eaf.add_controlled_vocabulary(cv_id)
        eaf.add_cv_description(cv_id, "und", f"{scheme.name} (version {scheme.version})")
        for i, code in enumerate(scheme.codes):
            eaf.add_cv_entry(cv_id, f"cveid{i}", [(code.key, "und", code.label)])
    for lt in (CODE_TYPE, POINT_TYPE):
        params = {"LINGUISTIC_TYPE_ID": lt, "TIME_ALIGNABLE": "true", "GRAPHIC_REFERENCES": "false"}
        if cv_id is not None:
            params["CONTROLLED_VOCABULARY_REF"] = cv_id
        eaf.add_linguistic_type(lt, param_dict=params)

    if media is not None:
        eaf.media_descriptors.append(_media_descriptor(as_path(media), path))

    df = table.to_dataframe()
    several_coders = df["coder"].nunique() > 1
    used_ids: set[str] = set()
    groups = df.groupby(["actor", "coder"], sort=True, dropna=False)
    for (actor, coder), rows in groups:
        base = f"{actor}@{coder}" if several_coders and coder else str(actor)
        points = rows[rows["onset_ms"] == rows["offset_ms"]]
        states = rows[rows["onset_ms"] != rows["offset_ms"]]
        for lanes, tier_base, lt, dur in (
            (_lanes(states, 0), base, CODE_TYPE, 0),
            (_lanes(points, 1), f"{base} (points)", POINT_TYPE, 1),
        ):
            for n, lane in enumerate(lanes, start=1):
                tier_id = _unique(tier_base if n == 1 else f"{tier_base} #{n}", used_ids)
                eaf.add_tier(tier_id, ling=lt, part=str(actor), ann=str(coder) or None)
                for onset, offset, code in lane:
                    eaf.add_annotation(tier_id, onset, offset + dur, code)
    eaf.properties.append(("lastUsedAnnotationId", str(eaf.maxaid if eaf.annotations else 0)))

    document = pympi.Elan.to_adocument(eaf, pretty=True)
    data = ET.tostring(document, encoding="UTF-8", xml_declaration=True)
    return atomic_write_bytes(path, data)


def _lanes(rows: Any, duration: int) -> list[list[tuple[int, int, str]]]:
    """Split rows into lanes without overlap (``duration`` added to each offset), greedily by onset."""
    lanes: list[list[tuple[int, int, str]]] = []
    ends: list[int] = []
    for onset, offset, code in sorted(
        zip(rows["onset_ms"].tolist(), rows["offset_ms"].tolist(), rows["code"].tolist(), strict=True)
    ):
        for i, end in enumerate(ends):
            if end <= onset:
                lanes[i].append((int(onset), int(offset), str(code)))
                ends[i] = int(offset) + duration
                break
        else:
            lanes.append([(int(onset), int(offset), str(code))])
            ends.append(int(offset) + duration)
    return lanes


def _unique(tier_id: str, used: set[str]) -> str:
    candidate, n = tier_id, 2
    while candidate in used:
        candidate = f"{tier_id} ({n})"
        n += 1
    used.add(candidate)
    return candidate


def _media_descriptor(media: Path, eaf_path: Path) -> dict[str, str]:
    """MEDIA_DESCRIPTOR attributes with relative URLs only."""
    name = media.name
    rel = PurePosixPath(name)
    try:
        inside = Path(os.path.relpath(media.resolve(), eaf_path.resolve().parent))
        if not inside.is_absolute() and ".." not in inside.parts:
            rel = PurePosixPath(*inside.parts)
        else:
            log.info("media %s is outside the EAF's folder: linking it by file name only", name)
    except ValueError:  # another drive on Windows
        log.info("media %s is on another drive: linking it by file name only", name)
    url = quote(f"./{rel.as_posix()}", safe="/.-_~")
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return {"MEDIA_URL": url, "RELATIVE_MEDIA_URL": url, "MIME_TYPE": mime}

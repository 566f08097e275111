"""The one de-identification step every export goes through: reports, packs, exports of annotations,
films and handouts.

The protected terms come from the project (:func:`protected_terms`): every real name the store holds
(cases' and participants'), split into its parts; the project's word list ("never export": a
school, a street; :meth:`~workbench.project.Project.add_protected_word`); and paths (the project
folder, the home and working folders, stored media and still paths and file names, the original
file names of the films). The matching itself is :mod:`workbench.deidentify` (pure text).

An export is checked twice:

- at the source: the free-text fields of the records it is made from (comments, notes, the
  helping question, session and recording labels, moment titles, reasons and reflections,
  captions, goals), so that a refusal can name the record and the field (:func:`record_texts`);
- at the end: every output file (HTML text, PDF text, manifest, CSV, ...), as the last guard
  (:meth:`Scrubber.file`).

On a match an export is refused with :class:`DeidentificationError`, which names the file and place
(and the records and fields) where a term was found, never the term, and nothing is written. With
redaction on (``redact=True``, ``--redact``) each hit is replaced by a placeholder instead:
``[child]`` for a child's name, ``[parent]`` for a parent's or carer's, ``[name]`` for any other
real name, ``[withheld]`` for a word-list term, ``[path]`` for a path; the export says how many.
A PDF cannot be redacted after it was printed: a PDF with a hit is refused either way.

For films and handouts (and any new export): build a :class:`Scrubber` with :meth:`Scrubber.for_project`,
pass each caption or text through :meth:`Scrubber.text`, each output through :meth:`Scrubber.file`
(or all of them through :func:`scrub_files`), then call :meth:`Scrubber.check` before writing.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from workbench.deidentify import Hit, NameSpec, PathSpec, Protected, WordSpec, markup_spans, place, replace
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.model import Case
    from workbench.project import Project

__all__ = [
    "DeidentificationError",
    "Finding",
    "Scrubber",
    "annotation_texts",
    "assert_deidentified",
    "pdf_text",
    "png_text_chunks",
    "protected_terms",
    "record_texts",
    "scan_text",
    "scrub_files",
]

log = logging.getLogger(__name__)

#: Placeholder of a participant's real name, by role (any other real name: ``[name]``).
ROLE_PLACEHOLDERS = {"child": "[child]", "parent": "[parent]", "carer": "[parent]"}
#: Suffixes read as markup (the rest as plain text, PDF and PNG by their own readers).
_HTML = (".html", ".htm", ".svg", ".xhtml")
_XML = (".xml", ".eaf", ".etf", ".pfsx")
_SHOWN = 12  # places in the output listed in an error message
_SHOWN_SOURCES = 60  # records and fields listed


@dataclass(frozen=True)
class Finding:
    """One kind of protected term found at one place: what it is (never the term), where, how often.

    Attributes
    ----------
    kind : str
        ``"name"``, ``"word"``, ``"path"`` or ``"file name"``.
    label : str
        Whose or what (``"the real name of participant 'child' of case 'Aster'"``).
    where : str
        The file and place, or the record and field.
    count : int
        How many times.
    context : str
        The text around the first hit, with every protected term in it replaced by its placeholder.
    """

    kind: str
    label: str
    where: str
    count: int = 1
    context: str = ""

    def describe(self) -> str:
        """One line for the error message."""
        ctx = f" near {self.context!r}" if self.context else ""
        times = f" (first of {self.count})" if self.count > 1 else ""
        return f"{self.kind} ({self.label}) in {self.where}{times}{ctx}"


class DeidentificationError(WorkbenchError):
    """An export would contain a protected name, word or path; nothing was written.

    Attributes
    ----------
    findings : list of Finding
        Where, in the output, the terms are.
    sources : list of Finding
        The records and fields that hold protected terms (where they come from).
    """

    def __init__(
        self, what: str, findings: Sequence[Finding], sources: Sequence[Finding] = (), *, hint: str | None = None
    ) -> None:
        self.findings = list(findings)
        self.sources = list(sources)
        lines = "\n".join(f"  - {f.describe()}" for f in self.findings[:_SHOWN])
        more = f"\n  ... and {len(self.findings) - _SHOWN} more" if len(self.findings) > _SHOWN else ""
        origin = ""
        if self.sources:
            listed = "\n".join(f"  - {f.kind} ({f.label}) in {f.where}" for f in self.sources[:_SHOWN_SOURCES])
            rest = (
                f"\n  ... and {len(self.sources) - _SHOWN_SOURCES} more" if len(self.sources) > _SHOWN_SOURCES else ""
            )
            origin = f"\nThe records and fields that hold them:\n{listed}{rest}"
        hint = hint or (
            "Remove them from the project's records (pseudonyms only, no paths), or export again with "
            "redaction (--redact, redact=True) to replace each by a placeholder."
        )
        super().__init__(
            f"Refusing to write {what}: expected a de-identified export, but it contains "
            f"{sum(f.count for f in self.findings)} protected item(s):\n{lines}{more}{origin}\n{hint}"
        )


# -- the protected terms ---------------------------------------------------------------------------


def protected_terms(
    project: Project | None = None,
    extra_names: Iterable[str] = (),
    extra_paths: Iterable[str | os.PathLike[str]] = (),
) -> Protected:
    """Every protected term of a project, compiled for matching.

    Parameters
    ----------
    project : Project, optional
        Its cases' and participants' real names, its word list, its folder, media and still paths,
        the films' original file names.
    extra_names : iterable of str
        More real names (``[name]``).
    extra_paths : iterable of path
        More paths.

    Returns
    -------
    Protected
        Also always: the home folder, the working folder, and every shape of an absolute path.
    """
    names: list[NameSpec] = []
    words: list[WordSpec] = []
    paths: list[PathSpec] = []
    if project is not None:
        import sqlalchemy as sa

        from workbench.store import schema as t

        with project.engine.connect() as conn:
            cases = conn.execute(sa.select(t.cases.c.id, t.cases.c.pseudonym, t.cases.c.real_name)).all()
            pseudonyms = {int(c.id): c.pseudonym for c in cases}
            people = conn.execute(
                sa.select(
                    t.participants.c.case_id, t.participants.c.label, t.participants.c.role, t.participants.c.real_name
                ).where(t.participants.c.real_name.is_not(None))
            ).all()
            media = conn.execute(sa.select(t.recordings.c.id, t.recordings.c.path, t.recordings.c.original_name)).all()
            stills = conn.execute(sa.select(t.stills.c.id, t.stills.c.image_path)).all()
            listed = conn.execute(sa.select(t.protected_words.c.word).order_by(t.protected_words.c.id)).scalars().all()
        for c in cases:
            if c.real_name and c.real_name.strip():
                names.append(NameSpec(c.real_name, "[name]", f"the real name of case {c.pseudonym!r}"))
        for p in people:
            if p.real_name and p.real_name.strip():
                names.append(
                    NameSpec(
                        p.real_name,
                        ROLE_PLACEHOLDERS.get(p.role, "[name]"),
                        f"the real name of participant {p.label!r} of case "
                        f"{pseudonyms.get(int(p.case_id), p.case_id)!r}",
                    )
                )
        for i, word in enumerate(listed, 1):
            words.append(WordSpec(word, f"term {i} of the protected word list"))
        for r in media:
            what = f"recording {r.id}"
            paths.append(PathSpec(r.path, f"the file name of {what}", file_name=True))
            if "/" in r.path or "\\" in r.path:
                paths.append(PathSpec(r.path, f"the stored path of {what}"))
            if r.original_name:
                paths.append(PathSpec(r.original_name, f"the original file name of {what}", file_name=True))
        for s in stills:
            paths.append(PathSpec(s.image_path, f"the file name of still {s.id}", file_name=True))
            paths.append(PathSpec(s.image_path, f"the stored path of still {s.id}"))
        if project.folder is not None:
            paths.append(PathSpec(str(Path(project.folder).resolve()), "the project folder"))
    for i, name in enumerate(extra_names, 1):
        if name and name.strip():
            names.append(NameSpec(name, "[name]", f"protected name {i} of the list given"))
    for p in extra_paths:
        paths.append(PathSpec(str(Path(p).expanduser().resolve()), "a protected path"))
    home = Path.home()
    paths.append(PathSpec(str(home), "the home folder"))
    paths.append(PathSpec(str(Path.cwd()), "the working folder"))
    return Protected.build(names, words, paths, home=home)


def _clip(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def record_texts(project: Project, cases: Iterable[Case | int | str] | None = None) -> Iterator[tuple[str, str]]:
    """The free-text fields of a project's records, as ``(record and field, text)``.

    Case (helping question), participants (label), sessions and recordings (label), annotations
    (note and text extras), moments (title, reason, reflection), stills (caption), comments
    (text), goals (text).

    Parameters
    ----------
    project : Project
        The project.
    cases : iterable, optional
        Only these cases (records, ids or pseudonyms); default: all.
    """
    chosen = [project.case(c) for c in cases] if cases is not None else project.cases()
    for case in chosen:
        of = f"case {case.pseudonym!r}"
        yield f"{of}, field 'helping question'", case.helping_question
        for p in project.participants(case):
            yield f"participant {p.id} ({of}), field 'label'", p.label
        for s in project.sessions(case):
            yield f"session {s.id} ({of}), field 'label'", s.label
        for g in project.goals(case):
            yield f"goal {g.id} ({of}), field 'text'", g.text
        for rec in project.recordings(case=case):
            yield f"recording {rec.id} ({of}), field 'label'", rec.label
            yield from annotation_texts(project.annotations(rec), f"recording {rec.id}, {of}")
            for m in project.moments(rec):
                for name in ("title", "reason", "reflection"):
                    yield f"moment {m.id} (recording {rec.id}, {of}), field {name!r}", getattr(m, name)
            for st in project.stills(rec):
                yield f"still {st.id} (recording {rec.id}, {of}), field 'caption'", st.caption
            for cm in project.comments(rec):
                yield f"comment {cm.id} (recording {rec.id}, {of}), field 'text'", cm.text


def annotation_texts(table: Any, of: str = "") -> Iterator[tuple[str, str]]:
    """The text fields of an :class:`~workbench.annotations.AnnotationTable`'s rows (note, actor, code,
    coder, text extras), as ``("annotation ID (OF), field 'note'", text)``."""
    frame = table.to_dataframe()
    columns = [
        c
        for c in frame.columns
        if c not in ("id", "recording_id", "onset_ms", "offset_ms") and frame[c].dtype.kind not in "biufcmM"
    ]  # text columns (object or string dtype)
    within = f" ({of})" if of else ""
    for row in frame[["id", *columns]].itertuples(index=False, name=None):
        for column, value in zip(columns, row[1:], strict=True):
            if isinstance(value, str) and value:
                yield f"annotation {row[0]}{within}, field {column!r}", value


# -- one export's step -----------------------------------------------------------------------------


@dataclass
class Scrubber:
    """One export's de-identification: each text and file is checked (or redacted), findings are kept,
    :meth:`check` refuses the export if any remain.

    Attributes
    ----------
    protected : Protected
        The terms.
    redact : bool
        Replace hits by placeholders instead of refusing.
    what : str
        The export, as the error message names it (``"report supervision-Aster-s4"``).
    findings : list of Finding
        Hits that were not (or could not be) replaced: they make :meth:`check` refuse.
    sources : list of Finding
        Records and fields holding protected terms (see :meth:`source`), for the message.
    replaced : Counter
        Per place (file name), how many hits were replaced.
    """

    protected: Protected
    redact: bool = False
    what: str = "the export"
    findings: list[Finding] = field(default_factory=list)
    sources: list[Finding] = field(default_factory=list)
    replaced: Counter[str] = field(default_factory=Counter)

    @classmethod
    def for_project(
        cls,
        project: Project | None,
        *,
        redact: bool = False,
        what: str = "the export",
        extra_names: Iterable[str] = (),
        extra_paths: Iterable[str | os.PathLike[str]] = (),
    ) -> Scrubber:
        """A scrubber with the project's protected terms (:func:`protected_terms`)."""
        return cls(protected_terms(project, extra_names, extra_paths), redact=bool(redact), what=what)

    @property
    def total(self) -> int:
        """How many hits were replaced in all."""
        return sum(self.replaced.values())

    def _findings(self, text: str, hits: Sequence[Hit], where: str, *, places: bool) -> list[Finding]:
        grouped: dict[tuple[str, str], list[Hit]] = {}
        for h in hits:  # one finding per kind of term, at the first place it stands
            grouped.setdefault((h.term.kind, h.term.label), []).append(h)
        out = []
        for (kind, label), group in grouped.items():
            first = group[0]
            at = f"{where}, {place(text, first.start)}" if places else where
            lo, hi = max(0, first.start - 30), min(len(text), first.end + 30)
            near = [h for h in hits if h.end > lo and h.start < hi]
            context = replace(text[lo:hi], [Hit(max(h.start, lo) - lo, min(h.end, hi) - lo, h.term) for h in near])
            out.append(Finding(kind, label, at, len(group), _clip(context)))
        return out

    def source(self, items: Iterable[tuple[str, str]]) -> int:
        """Scan records' fields (``(record and field, text)``): what holds protected terms is named in an
        error message. Returns how many fields hold some. Never refuses by itself: an export is refused for
        what reaches its output."""
        n = 0
        for where, text in items:
            if not text:
                continue
            hits = self.protected.find(text)
            if hits:
                n += 1
                self.sources.extend(self._findings(text, hits, where, places=False))
        return n

    def text(self, text: str, where: str, *, markup: str | None = None) -> str:
        """Check one text of the output (``markup``: ``"html"`` or ``"xml"``, else plain).

        Returns the text with every hit replaced when redacting, else unchanged (the hits are
        kept as findings).
        """
        spans = markup_spans(text, markup) if markup else None
        hits = self.protected.find(text, spans)
        if not hits:
            return text
        if self.redact:
            self.replaced[where] += len(hits)
            return replace(text, hits)
        self.findings.extend(self._findings(text, hits, where, places=True))
        return text

    def file(self, name: str, data: bytes) -> bytes:
        """Check one output file by its kind (HTML/SVG and XML by their text, PDF by its extracted
        text and metadata, PNG by its text chunks, anything else as UTF-8 text).

        Returns the bytes to write: redacted where redaction is on and possible. A PDF cannot be
        redacted: its hits are always findings.
        """
        suffix = PurePosixPath(name).suffix.lower()
        if suffix == ".pdf":
            text = pdf_text(data, name)
            hits = self.protected.find(text)
            if hits:
                self.findings.extend(self._findings(text, hits, f"{name} (its text)", places=False))
            return data
        if suffix == ".png":
            return self._png(name, data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            hits = self.protected.find(text)
            if hits:  # not text we can rewrite safely
                self.findings.extend(self._findings(text, hits, name, places=True))
            return data
        markup = "html" if suffix in _HTML else "xml" if suffix in _XML else None
        out = self.text(text, name, markup=markup)
        return data if out is text else out.encode("utf-8")

    def _png(self, name: str, data: bytes) -> bytes:
        chunks = png_text_chunks(data)
        remove: list[bytes] = []
        for keyword, text, raw in chunks:
            hits = self.protected.find(f"{keyword} {text}")
            if not hits:
                continue
            if self.redact:  # the chunk goes: a PNG needs none of its text
                self.replaced[name] += len(hits)
                remove.append(raw)
            else:
                self.findings.extend(
                    self._findings(f"{keyword} {text}", hits, f"{name} (text chunk {keyword!r})", places=False)
                )
        for raw in remove:
            data = data.replace(raw, b"", 1)
        return data

    def check(self) -> None:
        """Refuse (raise :class:`DeidentificationError`) if any hit was not replaced."""
        if self.findings:
            names = {f.where.split(",")[0] for f in self.findings}
            pdf = any(".pdf" in n for n in names)
            hint = None
            if self.redact and pdf:
                hint = (
                    "A PDF cannot be redacted after it was printed: build the report again with redaction "
                    "(--redact) instead of packing this PDF, or remove the terms from the records."
                )
            raise DeidentificationError(self.what, self.findings, self.sources, hint=hint)


def pdf_text(data: bytes, name: str = "the PDF") -> str:
    """The text of a PDF (every page) and its metadata, with :mod:`pypdf`.

    Raises
    ------
    WorkbenchError
        If the PDF cannot be read (then it cannot be checked, and it is refused).
    """
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover - a dependency
        raise WorkbenchError("Checking a PDF needs pypdf: pip install pypdf") from exc
    try:
        reader = PdfReader(io.BytesIO(data))
        parts = [str(v) for v in (reader.metadata or {}).values()]
        outline = reader.outline
        stack: list[Any] = list(outline) if outline else []
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif getattr(item, "title", None):
                parts.append(str(item.title))
        for page in reader.pages:
            parts.append(page.extract_text() or "")
            for annot in page.get("/Annots") or []:
                obj = annot.get_object()
                for key in ("/Contents", "/T"):
                    if key in obj:
                        parts.append(str(obj[key]))
                uri = obj.get("/A", {}).get("/URI") if hasattr(obj.get("/A", {}), "get") else None
                if uri:
                    parts.append(str(uri))
    except (PdfReadError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise WorkbenchError(
            f"Expected a readable PDF in {name} (to check it for protected names), but it cannot be read: {exc}"
        ) from exc
    return "\n".join(parts)


def png_text_chunks(data: bytes) -> list[tuple[str, str, bytes]]:
    """The text chunks (``tEXt``, ``zTXt``, ``iTXt``) of a PNG: ``(keyword, text, the whole chunk)``."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return []
    out = []
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        raw = data[pos : pos + 12 + length]
        pos += 12 + length
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            if kind == b"IEND":
                break
            continue
        keyword, _, rest = body.partition(b"\0")
        try:
            if kind == b"tEXt":
                text = rest.decode("latin-1")
            elif kind == b"zTXt":
                text = zlib.decompress(rest[1:]).decode("latin-1")
            else:
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\0")
                _translated, _, rest = rest.partition(b"\0")
                text = (zlib.decompress(rest) if compressed else rest).decode("utf-8", "replace")
        except (zlib.error, IndexError):
            text = rest.decode("latin-1")
        out.append((keyword.decode("latin-1"), text, raw))
    return out


def scrub_files(
    project: Project | None,
    files: Mapping[str, bytes],
    *,
    redact: bool = False,
    what: str = "the export",
    sources: Iterable[tuple[str, str]] = (),
) -> tuple[dict[str, bytes], int]:
    """Pass every file of an export through the de-identification step (for films' and handouts'
    captions files, subtitles, pages ...).

    Parameters
    ----------
    project : Project, optional
        Whose protected terms.
    files : mapping of str to bytes
        File name (its suffix says how to read it) to content.
    redact : bool
        Replace hits by placeholders instead of refusing.
    what : str
        The export, for the error message.
    sources : iterable of (str, str)
        The records' fields the export was made from (:func:`record_texts`), named in a refusal.

    Returns
    -------
    files : dict of str to bytes
        What to write (redacted where redaction is on).
    replaced : int
        How many hits were replaced.

    Raises
    ------
    DeidentificationError
        If a protected term is left (nothing is written by this function in any case).
    """
    scrubber = Scrubber.for_project(project, redact=redact, what=what)
    scrubber.source(sources)
    out = {name: scrubber.file(name, data) for name, data in files.items()}
    scrubber.check()
    return out, scrubber.total


# -- the older entry points --------------------------------------------------------------------------


def scan_text(text: str, terms: Protected, where: str, *, markup: str | None = None) -> list[Finding]:
    """The protected terms in ``text`` as findings (nothing replaced)."""
    scrubber = Scrubber(terms)
    scrubber.text(text, where, markup=markup)
    return scrubber.findings


def assert_deidentified(
    texts: Iterable[tuple[str, str]],
    project: Project | None = None,
    *,
    extra_names: Iterable[str] = (),
    what: str = "the report",
) -> None:
    """Raise :class:`DeidentificationError` if any ``(where, text)`` holds a protected term or a path."""
    scrubber = Scrubber.for_project(project, what=what, extra_names=extra_names)
    for where, text in texts:
        markup = "html" if re.search(r"<(?:html|body|div|p|svg)\b", text[:5000], re.I) else None
        scrubber.text(text, where, markup=markup)
    scrubber.check()

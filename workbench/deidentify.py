"""De-identification of text: find protected names, words and file paths, and replace them.

This module is pure text (no store, no files): :mod:`workbench.report.privacy` gathers the
protected terms from a project and applies them to every export.

What matches
------------
Text is compared after folding, one *unit* of the original at a time so that every hit is
reported at its place in the ORIGINAL text:

- Unicode NFKC normalisation, case folding and accents dropped (``"ＴＨＩＳＴＬＥ"``, ``"Zoë"``);
- zero-width characters (U+200B..U+200D, U+2060, U+FEFF) and soft hyphens (U+00AD) removed;
- percent-encoding decoded (``%2Ftmp%2F...``), ``\\uXXXX`` escapes (JSON) decoded, and in
  markup the character references (``&#x27;``, ``&amp;``) decoded;
- backslashes read as slashes, so that ``C:\\Users\\...`` and ``C:/Users/...`` are one path.

A person's name is protected part by part: each part of two letters or more matches on its own
as a whole word, where a word ends at anything but a letter or digit (so ``"Given-Surname"``,
``"given_surname"``, ``"Surname, Given"``, ``"Mrs Surname"`` and ``"G. Surname"`` all match).
A part of one letter is not protected alone. A part that is also a common word (``"May"``,
``"Will"``) still matches, as a whole word only. On redaction, neighbouring parts of one name,
a title before it and an initial with a full stop are replaced together.

Paths: the given paths (a project folder, the home folder, ...) in POSIX, Windows and
home-relative (``~/...``) form, file names, and anything shaped like an absolute path
(``/home/...``, ``C:/...``, ``\\\\server\\share``, ``file:`` URLs, ``~/...``, ``~alice/...``).

Examples
--------
>>> p = Protected.build(names=[NameSpec("Marigold Thistlewood", "[name]", "the real name of case 'Aster'")])
>>> [h.term.label for h in p.find("Mrs THISTLE\\u200bWOOD came")]
["the real name of case 'Aster'"]
>>> p.redact("Thistlewood, Marigold and C:\\\\Users\\\\x\\\\film.mp4")
('[name] and [path]', 2)
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

__all__ = [
    "MIN_PART",
    "Hit",
    "NameSpec",
    "PathSpec",
    "Protected",
    "Term",
    "WordSpec",
    "fold",
    "markup_spans",
    "name_parts",
    "normalise",
    "place",
    "replace",
]

#: A name part shorter than this is not protected on its own (an initial).
MIN_PART = 2
#: Removed before matching: zero-width space, non-joiner, joiner, word joiner, BOM; soft hyphen.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
#: Titles that are replaced together with the name they stand before.
TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "mme", "mlle", "herr", "frau")

_WORD_START = r"(?<![^\W_])"  # not after a letter or digit (an underscore or hyphen is a boundary)
_WORD_END = r"(?![^\W_])"
_SPECIAL = re.compile(r"[&%\\]|[^\x09\x0a\x0d\x20-\x7e]")
_ENTITY = re.compile(r"&(?:amp;)?(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")  # or escaped twice
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_UESCAPE = re.compile(r"\\u[0-9A-Fa-f]{4}")

#: Top folders of absolute POSIX paths that give a machine's layout away (folded to lower case).
_POSIX_ROOTS = (
    "home",
    "users",
    "tmp",
    "var",
    "root",
    "mnt",
    "media",
    "srv",
    "opt",
    "work",
    "private",
    "volumes",
    "data",
    "scratch",
    "run",
    "etc",
    "usr",
)
_PATH_CHARS = r"[^\s\"'<>()\[\]{},;|*?]"
_PATH_END = r"(?<![.,:;!?])"  # a full stop or comma after a path ends the sentence, not the path
#: Shapes of paths, matched on folded text (backslashes are slashes there).
GENERIC_PATHS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "an absolute POSIX path",
        re.compile(r"(?<![\w.:/~-])/(?:" + "|".join(_POSIX_ROOTS) + r")/+" + _PATH_CHARS + "+" + _PATH_END),
    ),
    ("a Windows path", re.compile(r"(?<![^\W_])[a-z]:/+[^\s/\"'<>|*?]" + _PATH_CHARS + "*" + _PATH_END)),
    ("a network share path", re.compile(r"(?<![\w:/])/{2,}[a-z0-9][\w.$-]*/+[\w.$-]+" + _PATH_CHARS + "*" + _PATH_END)),
    ("a file URL", re.compile(r"file:/+" + _PATH_CHARS + "+" + _PATH_END)),
    ("a home-relative path", re.compile(r"(?<![\w/~])~[a-z0-9._-]{0,32}/+" + _PATH_CHARS + "+" + _PATH_END)),
)


# -- folding --------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """``text`` as it is compared: NFKC, case-folded, accents dropped, invisible characters removed,
    backslashes as slashes.

    Examples
    --------
    >>> fold("Ｚoë\\u00adlle C:\\\\X")
    'zoelle c:/x'
    """
    s = unicodedata.normalize("NFKC", text).casefold()
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c) and c not in INVISIBLE)
    return unicodedata.normalize("NFC", s).replace("\\", "/")


def normalise(text: str, *, entities: bool = True) -> tuple[str, list[int], list[int]]:
    """The folded text and, for each of its characters, the span of the original it came from.

    Parameters
    ----------
    text : str
        The original text.
    entities : bool
        Decode HTML/XML character references (``&amp;``, ``&#x27;``, also escaped twice: ``&amp;shy;``):
        markup holds them, and plain text rarely has an ``&`` that looks like one.

    Returns
    -------
    folded : str
    starts, ends : list of int
        ``text[starts[i]:ends[i]]`` is the unit of the original that gave ``folded[i]``.
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        m = _SPECIAL.search(text, i)
        stop = n if m is None else m.start()
        if stop > i:  # plain ASCII: one character for one character
            out.append(text[i:stop].lower())
            starts.extend(range(i, stop))
            ends.extend(range(i + 1, stop + 1))
            i = stop
            if m is None:
                break
        c = text[i]
        j = i + 1
        decoded = c
        if c == "&" and entities and (e := _ENTITY.match(text, i)):
            j, decoded = e.end(), html.unescape(html.unescape(e.group(0)))
        elif c == "%" and (p := _PERCENT.match(text, i)):
            j = p.end()
            decoded = bytes.fromhex(p.group(0).replace("%", "")).decode("utf-8", "replace")
        elif c == "\\" and (u := _UESCAPE.match(text, i)):
            j, decoded = u.end(), chr(int(u.group(0)[2:], 16))
        else:
            while j < n and unicodedata.combining(text[j]):  # a letter with its combining accents
                j += 1
            decoded = text[i:j]
        folded = fold(decoded)
        out.append(folded)
        starts.extend([i] * len(folded))
        ends.extend([j] * len(folded))
        i = j
    return "".join(out), starts, ends


def place(text: str, offset: int) -> str:
    """``"line L, column C"`` of ``offset`` in ``text`` (1-based)."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


# -- markup ---------------------------------------------------------------------------------------

_TAG = re.compile(
    r"<!--|-->|<!\[CDATA\[|\]\]>|<![^>]*>|<\?.*?\?>"
    r"|</?([A-Za-z][\w:.-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.S,
)
_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(\"([^\"]*)\"|'([^']*)')")
_DATA_URI = re.compile(r"data:[\w/+.-]*(?:;[\w=.-]+)*;base64,[A-Za-z0-9+/=\s]*", re.I)
_JSON_STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"(\s*:)?", re.S)
#: HTML attributes whose values people read (or that can carry a path); other attributes are markup.
_HTML_TEXT_ATTRS = frozenset(
    {
        "alt",
        "title",
        "aria-label",
        "aria-description",
        "content",
        "href",
        "src",
        "label",
        "value",
        "placeholder",
        "data-caption",
        "download",
        "cite",
        "poster",
        "summary",
    }
)


def _without_data_uris(start: int, value: str) -> Iterator[tuple[int, int]]:
    pos = 0
    for m in _DATA_URI.finditer(value):
        if m.start() > pos:
            yield start + pos, start + m.start()
        pos = m.end()
    if pos < len(value):
        yield start + pos, start + len(value)


def markup_spans(text: str, kind: str = "html") -> list[tuple[int, int]]:
    """The parts of an HTML/SVG or XML document that carry text: where protected terms can hide.

    Text between tags (not inside ``<style>`` nor inside a ``<script>`` of code; a ``<script>`` of
    JSON is read string by string, object keys left out), and attribute values (in HTML only those
    people read or that name a file: ``alt``, ``title``, ``href``, ``src``, ``content``, ...; in
    XML every attribute). Embedded ``data:...;base64,`` content is left out.

    Parameters
    ----------
    text : str
        The document.
    kind : {"html", "xml"}
        HTML (and SVG inside it) or XML (ELAN .eaf and the like).

    Returns
    -------
    list of (start, end)
        Spans of ``text``, in order.
    """
    if kind not in ("html", "xml"):
        raise ValueError(
            f"Invalid value for the 'kind' parameter. Allowed values are 'html' and 'xml', but got {kind!r} instead."
        )
    spans: list[tuple[int, int]] = []
    pos = 0
    skip_until: str | None = None  # inside <style> or a code <script>
    json_script = False
    for m in _TAG.finditer(text):
        name = (m.group(1) or "").lower()
        closing = m.group(0).startswith("</")
        if skip_until is not None:
            if closing and name == skip_until:
                skip_until, pos = None, m.end()
            continue
        if m.start() > pos:
            if json_script:
                spans.extend(
                    (s.start(1), s.end(1))
                    for s in _JSON_STRING.finditer(text, pos, m.start())
                    if s.group(2) is None and s.end(1) > s.start(1)
                )
            else:
                spans.extend(_without_data_uris(pos, text[pos : m.start()]))
        pos = m.end()
        if not name:
            continue
        if closing:
            json_script = False
            continue
        for a in _ATTR.finditer(m.group(2) or ""):
            if kind == "html" and a.group(1).lower() not in _HTML_TEXT_ATTRS:
                continue
            grp = 3 if a.group(3) is not None else 4
            base = m.start(2) + a.start(grp)
            spans.extend(_without_data_uris(base, a.group(grp)))
        if kind == "html" and name in ("style", "script") and not m.group(0).endswith("/>"):
            attrs = (m.group(2) or "").lower()
            if name == "script" and "json" in attrs:
                json_script = True
            else:
                skip_until = name
    if skip_until is None and pos < len(text):
        spans.extend(_without_data_uris(pos, text[pos:]))
    return [(a, b) for a, b in spans if b > a]


# -- terms ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A protected term as it is matched: its kind, the safe label to report, the placeholder.

    ``label`` says whose or what the term is (``"a name of case 'Aster'"``, ``"the project
    folder"``), never the term itself.
    """

    kind: str
    label: str
    placeholder: str


@dataclass(frozen=True)
class NameSpec:
    """A person's real name: matched part by part (see the module docstring)."""

    name: str
    placeholder: str = "[name]"
    label: str = "a real name"


@dataclass(frozen=True)
class WordSpec:
    """A term of the project's word list (a school, a street): matched as a whole phrase."""

    word: str
    label: str = "a word-list term"
    placeholder: str = "[withheld]"


@dataclass(frozen=True)
class PathSpec:
    """A path (a folder or a file) that must not leave, or with ``file_name`` only its last part."""

    path: str
    label: str = "a path"
    file_name: bool = False
    placeholder: str = "[path]"


@dataclass(frozen=True)
class Hit:
    """One protected term found: ``text[start:end]`` of the original text, and what it is."""

    start: int
    end: int
    term: Term


def name_parts(name: str) -> list[str]:
    """The folded parts of a name that are protected alone (two letters or more).

    Examples
    --------
    >>> name_parts("Anne-Marie O'Brien-Smith J.")
    ['anne', 'marie', 'brien', 'smith']
    """
    return [p for p in re.split(r"[^\w]+|_", fold(name)) if len(p) >= MIN_PART]


def _path_pattern(path: str, home: str | None) -> list[str]:
    text = fold(path).rstrip("/")
    parts = [p for p in text.split("/") if p]
    if len(parts) < 1 or len(text) <= 3:  # never "/" or "c:/"
        return []
    lead = "/+" if text.startswith("/") else ""
    rest = r"(?:/" + _PATH_CHARS + "*" + _PATH_END + ")?"  # what lies below it goes too
    found = [lead + "/+".join(re.escape(p) for p in parts) + rest]
    if home:
        h = fold(home).rstrip("/")
        if len(h) > 3 and (text == h or text.startswith(h + "/")):
            below = rest
            rest = [p for p in text[len(h) :].split("/") if p]
            if rest:
                found.append(r"(?<![\w/])~/+" + "/+".join(re.escape(p) for p in rest) + below)
    return found


_PLACEHOLDER_RANK = {"[child]": 0, "[parent]": 1, "[name]": 2, "[withheld]": 3, "[path]": 4}


@dataclass(frozen=True)
class Protected:
    """A compiled set of protected terms: :meth:`find` them in text, :meth:`redact` them.

    Build it with :meth:`build`. Generic path shapes (:data:`GENERIC_PATHS`) are always searched.
    """

    name_parts: dict[str, Term] = field(default_factory=dict)
    phrases: tuple[tuple[re.Pattern[str], Term], ...] = ()
    name_pattern: re.Pattern[str] | None = None

    @classmethod
    def build(
        cls,
        names: Iterable[NameSpec] = (),
        words: Iterable[WordSpec] = (),
        paths: Iterable[PathSpec] = (),
        *,
        home: str | os.PathLike[str] | None = None,
    ) -> Protected:
        """Compile names (part by part), word-list terms (phrases) and paths.

        Parameters
        ----------
        names, words, paths : iterables of NameSpec, WordSpec, PathSpec
            What to protect.
        home : path, optional
            The home folder, so that paths under it also match in ``~/...`` form.
        """
        # per part: each person (full name, folded) who has it, with their placeholders and labels
        people: dict[str, dict[str, list[NameSpec]]] = {}
        for spec in names:
            full = " ".join(name_parts(spec.name))
            for part in name_parts(spec.name):
                people.setdefault(part, {}).setdefault(full, []).append(spec)
            if len(full.split()) > 1:  # "Given\u200bSurname": the parts joined with nothing between
                for joined in {full.replace(" ", ""), "".join(reversed(full.split()))}:
                    people.setdefault(joined, {}).setdefault(full, []).append(spec)
        parts: dict[str, Term] = {}
        for part, persons in people.items():
            # one person stored twice (a case's real name is its parent's) takes the more specific placeholder;
            # a part shared by different people (a family name) is a plain [name]
            chosen = {
                min((sp.placeholder for sp in specs), key=lambda x: _PLACEHOLDER_RANK.get(x, 9))
                for specs in persons.values()
            }
            labels = list(dict.fromkeys(sp.label for specs in persons.values() for sp in specs))
            parts[part] = Term("name", "; ".join(labels), chosen.pop() if len(chosen) == 1 else "[name]")
        phrases: list[tuple[re.Pattern[str], Term]] = []
        for w in words:
            bits = [re.escape(b) for b in re.split(r"[^\w]+|_", fold(w.word)) if b]
            if bits and sum(map(len, bits)) >= MIN_PART:
                phrases.append(
                    (
                        re.compile(_WORD_START + r"[\W_]{1,3}".join(bits) + _WORD_END),
                        Term("word", w.label, w.placeholder),
                    )
                )
        home_text = os.fspath(home) if home is not None else None
        seen: set[str] = set()
        for p in paths:
            if p.file_name:
                base = fold(PureWindowsPath(p.path).name if "\\" in p.path else PurePosixPath(p.path).name)
                if len(base) < 5 or base in seen:
                    continue
                seen.add(base)
                pattern = _WORD_START + re.escape(base) + _WORD_END
                phrases.append((re.compile(pattern), Term("file name", p.label, p.placeholder)))
                continue
            for pattern in _path_pattern(p.path, home_text):
                if pattern not in seen:
                    seen.add(pattern)
                    phrases.append((re.compile(pattern), Term("path", p.label, p.placeholder)))
        name_re = None
        if parts:
            alternation = "|".join(re.escape(p) for p in sorted(parts, key=lambda x: (-len(x), x)))
            name_re = re.compile(_WORD_START + "(" + alternation + ")s?" + _WORD_END)  # "the Surnames" too
        return cls(parts, tuple(phrases), name_re)

    def __repr__(self) -> str:  # never the terms themselves
        return f"<Protected | {len(self.name_parts)} name parts, {len(self.phrases)} words and paths>"

    def _find_folded(self, folded: str) -> list[tuple[int, int, Term]]:
        found: list[tuple[int, int, Term]] = []
        if self.name_pattern is not None:
            found.extend((m.start(), m.end(), self.name_parts[m.group(1)]) for m in self.name_pattern.finditer(folded))
        for pattern, term in self.phrases:
            found.extend((m.start(), m.end(), term) for m in pattern.finditer(folded))
        for label, pattern in GENERIC_PATHS:
            found.extend((m.start(), m.end(), Term("path", label, "[path]")) for m in pattern.finditer(folded))
        return found

    def find(self, text: str, spans: Sequence[tuple[int, int]] | None = None, *, entities: bool = True) -> list[Hit]:
        """Every protected term in ``text`` (or in its ``spans`` only), at its place in ``text``.

        Overlapping hits are merged (the more specific kind wins: a name inside a path is
        one path); neighbouring parts of one name, a title before a name and an initial with a
        full stop are taken into the hit.

        Parameters
        ----------
        text : str
            The original text.
        spans : sequence of (start, end), optional
            Only these parts (e.g. :func:`markup_spans`); default: all of it.
        entities : bool
            Decode character references (``&amp;``, ``&#x27;``).

        Returns
        -------
        list of Hit
            In order, not overlapping.
        """
        raw: list[Hit] = []
        for a, b in spans if spans is not None else [(0, len(text))]:
            folded, starts, ends = normalise(text[a:b], entities=entities)
            for s, e, term in self._find_folded(folded):
                raw.append(Hit(a + starts[s], a + ends[e - 1], term))
        return _merge(text, raw)

    def redact(
        self, text: str, spans: Sequence[tuple[int, int]] | None = None, *, entities: bool = True
    ) -> tuple[str, int]:
        """``text`` with every protected term replaced by its placeholder, and how many were replaced."""
        hits = self.find(text, spans, entities=entities)
        return replace(text, hits), len(hits)


def replace(text: str, hits: Sequence[Hit]) -> str:
    """``text`` with each hit replaced by its term's placeholder (hits in order, not overlapping)."""
    out: list[str] = []
    pos = 0
    for h in hits:
        out.append(text[pos : h.start])
        out.append(h.term.placeholder)
        pos = h.end
    out.append(text[pos:])
    return "".join(out)


_KIND_RANK = {"path": 0, "file name": 1, "word": 2, "name": 3}
_JOIN = re.compile(r"[\s,._\-'’]{0,3}")
_SPACE = r"(?:\s|&nbsp;|&#160;|&#xa0;|\u00a0)"
_BEFORE = re.compile(
    r"(?:(?<![^\W_])(?i:" + "|".join(TITLES) + r")\.?" + _SPACE + r"+|(?<![^\W_])[A-Z]\." + _SPACE + r"*)$"
)


def _strip_invisible(s: str) -> str:
    return "".join(c for c in s if c not in INVISIBLE)


def _merge(text: str, hits: list[Hit]) -> list[Hit]:
    if not hits:
        return []
    hits.sort(key=lambda h: (h.start, -h.end, _KIND_RANK.get(h.term.kind, 9)))
    merged: list[Hit] = []
    for h in hits:
        if merged and h.start < merged[-1].end:  # overlapping: one hit, the wider kind wins
            last = merged[-1]
            better = min((last.term, h.term), key=lambda t: _KIND_RANK.get(t.kind, 9))
            merged[-1] = Hit(last.start, max(last.end, h.end), better)
            continue
        if (
            merged
            and h.term.kind == "name"
            and merged[-1].term.kind == "name"
            and _JOIN.fullmatch(_strip_invisible(text[merged[-1].end : h.start]))
        ):
            last = merged[-1]  # "Given Surname", "Surname, Given", "given_surname": one name
            better = min((last.term, h.term), key=lambda t: _PLACEHOLDER_RANK.get(t.placeholder, 9))
            merged[-1] = Hit(last.start, h.end, better)
            continue
        if h.term.kind == "name":  # "Mrs Surname", "G. Surname": the title or initial goes too
            lo = merged[-1].end if merged else 0
            before = _BEFORE.search(text, max(lo, h.start - 12), h.start)
            if before is not None:
                h = Hit(before.start(), h.end, h.term)
        merged.append(h)
    return merged

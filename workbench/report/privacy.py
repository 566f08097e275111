"""De-identification check: an export scans its own output before it is written.

It looks for the project's protected real names (every case's ``real_name``, as a whole phrase,
case-insensitively, however the whitespace runs) and for file paths: the project folder, the
user's home folder, the working folder, the stored media and still file names, and anything that
looks like an absolute path on POSIX (``/home/...``, ``/tmp/...``), Windows (``C:\\...``), a
``file:`` URL or ``~/``. Finding any is refused with :class:`DeidentificationError`; the message
says what and where, without repeating a protected name.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.store import Project

__all__ = ["DeidentificationError", "Finding", "assert_deidentified", "protected_terms", "scan_text"]

#: Top folders of absolute POSIX paths that give a machine's layout away.
_POSIX_ROOTS = ("home", "Users", "tmp", "var", "root", "mnt", "media", "srv", "opt", "work", "private", "Volumes",
                "data", "scratch", "run", "etc", "usr")
_POSIX_PATH = re.compile(r"(?<![\w.:/-])/(?:" + "|".join(_POSIX_ROOTS) + r")/[^\s\"'<>()\[\]{},;]+")
_WINDOWS_PATH = re.compile(r"(?<![\w])[A-Za-z]:\\(?:[^\\\s\"'<>|]+\\)*[^\\\s\"'<>|]*")
_UNC_PATH = re.compile(r"\\\\[\w.-]+\\[\w$.-]+")
_FILE_URL = re.compile(r"file:/{1,3}[^\s\"'<>]+", re.I)
_HOME_PATH = re.compile(r"(?<![\w/])~/[^\s\"'<>]+")


class DeidentificationError(WorkbenchError):
    """An export would contain a protected real name or a file path; nothing was written."""

    def __init__(self, what: str, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        lines = "\n".join(f"  - {f.describe()}" for f in self.findings[:12])
        more = f"\n  ... and {len(self.findings) - 12} more" if len(self.findings) > 12 else ""
        super().__init__(
            f"Refusing to write {what}: expected a de-identified export, but it contains "
            f"{len(self.findings)} protected item(s):\n{lines}{more}\n"
            "Remove them from the report notebook or the project data (pseudonyms only, no paths) and build again."
        )


@dataclass(frozen=True)
class Finding:
    """One thing found: its kind (``"real name"`` or ``"path"``), a safe label, where and how often."""

    kind: str
    label: str
    where: str
    count: int = 1
    context: str = ""

    def describe(self) -> str:
        """One line for the error message."""
        ctx = f" near {self.context!r}" if self.context else ""
        times = f" ({self.count} times)" if self.count > 1 else ""
        return f"{self.kind} {self.label} in {self.where}{times}{ctx}"


@dataclass(frozen=True)
class Term:
    """A protected string: its regular expression and the label to report instead of it."""

    kind: str
    label: str
    pattern: re.Pattern[str]


def _phrase(text: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in text.split()]
    return re.compile(r"(?<!\w)" + r"[\s\u00a0]+".join(words) + r"(?!\w)", re.I)


def protected_terms(project: Project | None = None, extra_names: Iterable[str] = (),
                    extra_paths: Iterable[str | os.PathLike[str]] = ()) -> list[Term]:
    """What must not appear: real names (with the case's pseudonym as label) and known paths."""
    terms: list[Term] = []
    if project is not None:
        from workbench.store import schema as t

        with project.engine.connect() as conn:
            rows = conn.execute(t.cases.select().with_only_columns(t.cases.c.pseudonym, t.cases.c.real_name)).all()
            media = conn.execute(t.recordings.select().with_only_columns(t.recordings.c.path)).scalars().all()
            stills = conn.execute(t.stills.select().with_only_columns(t.stills.c.image_path)).scalars().all()
        for pseudonym, real in rows:
            if real and real.strip():
                terms.append(Term("real name", f"of case {pseudonym!r}", _phrase(real.strip())))
        for stored in [*media, *stills]:
            name = Path(stored).name
            if name:
                terms.append(Term("file name", repr(name), re.compile(re.escape(name))))
            if "/" in stored or "\\" in stored:
                terms.append(Term("path", repr(stored), re.compile(re.escape(stored))))
        if project.folder is not None:
            extra_paths = [*extra_paths, project.folder]
    for i, name in enumerate(extra_names):
        if name and name.strip():
            terms.append(Term("real name", f"#{i + 1} of the protected list", _phrase(name.strip())))
    local = [*extra_paths, Path.home(), Path.cwd()]
    for p in local:
        text = str(Path(p).expanduser().resolve()) if str(p) else ""
        if len(text) > 3:  # never "/" or "C:\"
            terms.append(Term("path", repr(text), re.compile(re.escape(text))))
    return terms


def _context(text: str, start: int, end: int, hide: bool) -> str:
    if hide:
        return ""
    lo, hi = max(0, start - 30), min(len(text), end + 30)
    return re.sub(r"\s+", " ", text[lo:hi])


def scan_text(text: str, terms: Sequence[Term], where: str) -> list[Finding]:
    """Every protected term and every path-like string in ``text`` (HTML entities decoded first)."""
    plain = html.unescape(text)
    found: list[Finding] = []
    for term in terms:
        hits = list(term.pattern.finditer(plain))
        if hits:
            found.append(Finding(term.kind, term.label, where, len(hits),
                                 _context(plain, hits[0].start(), hits[0].end(), hide=term.kind == "real name")))
    for kind, pattern in (("path", _POSIX_PATH), ("path", _WINDOWS_PATH), ("path", _UNC_PATH),
                          ("file URL", _FILE_URL), ("path", _HOME_PATH)):
        hits = list(pattern.finditer(plain))
        if hits:
            first = hits[0].group(0)
            found.append(Finding(kind, repr(first[:80]), where, len(hits), ""))
    return found


def assert_deidentified(texts: Iterable[tuple[str, str]], project: Project | None = None, *,
                        extra_names: Iterable[str] = (), what: str = "the report") -> None:
    """Raise :class:`DeidentificationError` if any ``(where, text)`` holds a protected name or a path."""
    terms = protected_terms(project, extra_names)
    findings = [f for where, text in texts for f in scan_text(text, terms, where)]
    if findings:
        raise DeidentificationError(what, findings)

"""Annotation tables as CSV / TSV files.

The columns are those of :meth:`AnnotationTable.to_dataframe`: ``id, recording_id, actor,
code, onset_ms, offset_ms, coder, note`` and any extra columns. Reading requires ``actor``,
``code`` and a time: ``onset_ms`` (integer ms) or ``onset_s`` (seconds, rounded half up to
ms); ``offset_ms`` / ``offset_s`` are optional (missing or empty: a point event). Empty cells
of ``id``, ``recording_id`` and extra columns are missing values; every other cell is text.
Files are UTF-8 (a byte-order mark, as Excel writes it, is accepted).

Every problem in the rows is reported at once, each naming the file, the line (1-based; the
header is line 1) and the column.

Spreadsheet formulas
--------------------
A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before them) as a formula: a note ``=HYPERLINK("https://...", "see clip")`` becomes a link
that sends whatever it names to someone else's server, one click away ("CSV injection", OWASP).
:func:`write_table` therefore writes such text cells (and column names) with a single quote in
front, as OWASP recommends, so that Excel, LibreOffice and Google Sheets show them as text:
``'=HYPERLINK(...)``. Numbers are never touched: numeric columns are written as numbers, and a
text cell that is just a number (``-3``, ``+1.5e3``) stays as it is. ``raw=True`` writes every
cell unchanged, for analysis tools that read the file as data (pandas, R), never a spreadsheet.

:func:`read_table` undoes the quote (``unquote=True``, the default), so a table written and read
back is the same table; a cell that began with a quote before such a character gets a second one
when written, so that nothing is lost (``'=x`` is written ``''=x`` and read back as ``'=x``).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.annotations import COLUMNS, AnnotationTable
from workbench.errors import AnnotationError, FormatError
from workbench.io._common import as_path, read_bytes, seconds_to_ms
from workbench.scheme import CodingScheme
from workbench.util import atomic_write_bytes

__all__ = ["FORMULA_STARTS", "neutralise_formulas", "read_table", "unquote_formula", "write_table"]

#: What makes a spreadsheet take a cell for a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_WHAT = "an annotation table (CSV/TSV)"


def _separator(path: Path, sep: str | None) -> str:
    if sep is not None:
        if not isinstance(sep, str) or len(sep) != 1:
            raise ValueError(f"Expected 'sep' to be one character, but got {sep!r}.")
        return sep
    suffix = path.suffix.lower()
    if suffix not in _SEPARATORS:
        raise ValueError(f"Expected a file ending in .csv, .tsv or .tab (or an explicit 'sep'), but got {path.name!r}.")
    return _SEPARATORS[suffix]


def read_table(
    path: str | Path,
    *,
    scheme: CodingScheme | None = None,
    sep: str | None = None,
    unquote: bool = True,
    max_bytes: int | None = None,
    max_items: int | None = None,
) -> AnnotationTable:
    """Read annotations from a CSV or TSV file.

    Parameters
    ----------
    path : str or Path
        The file; ``.csv`` is comma separated, ``.tsv`` / ``.tab`` tab separated.
    scheme : CodingScheme, optional
        Every code must be a code of this scheme; the table is bound to it.
    sep : str, optional
        Column separator, overriding the one implied by the extension.
    unquote : bool
        Remove the single quote :func:`write_table` puts before text that a spreadsheet would
        run as a formula (see the module docstring), giving back the text that was written.
        False keeps every cell as it is in the file (a raw export whose own text starts with
        ``'=`` reads back unchanged only so).
    max_bytes : int, optional
        Most bytes the file may hold (default 256 MiB, or the environment variable
        ``WORKBENCH_MAX_INPUT_BYTES``); a larger file is refused before it is parsed.
    max_items : int, optional
        Most lines the file may hold (default 500,000, or ``WORKBENCH_MAX_INPUT_ITEMS``),
        which bounds the memory the parse takes.

    Returns
    -------
    AnnotationTable

    Raises
    ------
    FormatError
        Missing or unreadable file, gzip-compressed, larger than ``max_bytes`` or ``max_items``,
        not text, or missing required columns.
    AnnotationError
        Invalid cells, each named by file, line and column.

    Examples
    --------
    >>> table = read_table("coding.csv", scheme=default_scheme())  # doctest: +SKIP
    """
    path = as_path(path)
    src = str(path)
    delimiter = _separator(path, sep)
    raw = read_bytes(path, _WHAT, max_bytes=max_bytes, max_items=max_items, items="lines")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"Expected {_WHAT} in {src!r} as UTF-8 text, but got undecodable bytes at byte {exc.start}."
        ) from exc
    del raw  # one copy of the text at a time (peak memory)
    if "\x00" in text:
        raise FormatError(f"Expected {_WHAT} in {src!r}, but got binary data (NUL bytes).")

    # lines as io.StringIO(text, newline="") gives them, without its copy of the text (4 bytes a character)
    lines = (m.group() for m in _LINE.finditer(text))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise FormatError(f"{src}, line 1: Expected a header row, but: {exc}.") from exc
    header = [unquote_formula(h.strip()) if unquote else h.strip() for h in header]
    _check_header(header, src, delimiter)

    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    line_end = reader.line_num
    try:
        for record in reader:
            line = line_end + 1
            line_end = reader.line_num
            if not record or all(not c.strip() for c in record):
                continue
            if len(record) != len(header):
                problems.append(f"{src}, line {line}: Expected {len(header)} columns, but got {len(record)}.")
                continue
            if unquote:
                record = [unquote_formula(cell) for cell in record]
            rows.append(_row(dict(zip(header, record, strict=True)), src, line, scheme, problems))
    except csv.Error as exc:
        raise FormatError(f"{src}, line {reader.line_num}: Expected well-formed {_WHAT}, but: {exc}.") from exc
    del text, lines, reader  # the rows hold the cells: free the file's text before the table copies them
    if problems:
        raise AnnotationError(problems, source=src)
    return AnnotationTable(rows, scheme=scheme, source=src)


def _check_header(header: list[str], src: str, delimiter: str) -> None:
    problems = []
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        problems.append(f"unique column names (got {dupes} more than once)")
    for col in ("actor", "code"):
        if col not in header:
            problems.append(f"a column {col!r}")
    if "onset_ms" not in header and "onset_s" not in header:
        problems.append("a column 'onset_ms' or 'onset_s'")
    for a, b in (("onset_ms", "onset_s"), ("offset_ms", "offset_s")):
        if a in header and b in header:
            problems.append(f"either {a!r} or {b!r}, not both")
    if problems:
        sep_name = "tab" if delimiter == "\t" else repr(delimiter)
        raise FormatError(
            f"{src}, line 1 (header, separator {sep_name}): Expected {'; '.join(problems)}, but got columns {header}."
        )


def _row(
    cells: dict[str, str],
    src: str,
    line: int,
    scheme: CodingScheme | None,
    problems: list[str],
) -> dict[str, Any]:
    def bad(col: str, expected: str, got: Any) -> None:
        problems.append(f"{src}, line {line}, column {col!r}: Expected {expected}, but got {got!r}.")

    row: dict[str, Any] = {}
    for col, value in cells.items():
        if col in ("onset_ms", "offset_ms", "onset_s", "offset_s"):
            continue
        if col in ("id", "recording_id"):
            v = value.strip()
            if not v:
                row[col] = None
            elif v.lstrip("-").isascii() and v.lstrip("-").isdigit():
                row[col] = int(v)
            else:
                bad(col, "an integer", value)
        elif col in COLUMNS:
            row[col] = value
        else:
            row[col] = value if value != "" else None
    for col in ("actor", "code"):
        if not cells[col].strip():
            bad(col, "a value", cells[col])
    if scheme is not None and cells["code"].strip() and cells["code"].strip() not in scheme:
        bad("code", f"a code of scheme {scheme.id!r}", cells["code"].strip())

    times: dict[str, int | None] = {}
    for name in ("onset", "offset"):
        for unit in ("ms", "s"):
            col = f"{name}_{unit}"
            if col not in cells:
                continue
            v = cells[col].strip()
            if not v:
                if name == "onset":
                    bad(col, "a time", cells[col])
                times[name] = None
            elif unit == "ms":
                if v.lstrip("-").isascii() and v.lstrip("-").isdigit():
                    times[name] = int(v)
                else:
                    bad(col, "integer milliseconds", cells[col])
            else:
                try:
                    times[name] = seconds_to_ms(v)
                except ValueError:
                    bad(col, "a time in seconds", cells[col])
    onset, offset = times.get("onset"), times.get("offset")
    onset_col = "onset_ms" if "onset_ms" in cells else "onset_s"
    offset_col = "offset_ms" if "offset_ms" in cells else "offset_s"
    if onset is not None and onset < 0:
        bad(onset_col, "a time >= 0", cells[onset_col])
    if onset is not None and offset is not None and offset < onset:
        bad(offset_col, f"a time >= the onset ({cells[onset_col].strip()})", cells[offset_col])
    row["onset_ms"] = onset
    row["offset_ms"] = offset
    return row


def write_table(table: AnnotationTable, path: str | Path, *, raw: bool = False) -> Path:
    """Write a table as CSV (``.csv``) or TSV (``.tsv``, ``.tab``), UTF-8, header first.

    The columns are those of :meth:`AnnotationTable.to_dataframe` (times in integer ms;
    point events with ``offset_ms == onset_ms``); missing ids are empty cells. Lines end in
    CRLF, as RFC 4180 and Excel have them. The file is written atomically and replaced if it
    exists.

    Parameters
    ----------
    table : AnnotationTable
        The annotations.
    path : str or Path
        The file; ``.csv`` is comma separated, ``.tsv`` / ``.tab`` tab separated.
    raw : bool
        Write text cells exactly as they are. By default a text cell (or column name) that a
        spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab
        or a carriage return, and is not just a number) is written with a single quote in
        front (:func:`neutralise_formulas`). Use ``raw=True`` only for files that analysis
        code reads as data, never for files people open in a spreadsheet.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> write_table(table, "coding.csv")  # a note "=HYPERLINK(...)" is written "'=HYPERLINK(...)"  # doctest: +SKIP
    >>> write_table(table, "coding-raw.csv", raw=True)  # for pandas or R  # doctest: +SKIP
    """
    if not isinstance(table, AnnotationTable):
        raise TypeError(f"Expected an AnnotationTable, but got {type(table).__name__}.")
    path = as_path(path)
    delimiter = _separator(path, None)
    df = table.to_dataframe()
    if not raw:
        df = neutralise_formulas(df)
    # CRLF line ends (RFC 4180): with "\n" alone, a cell holding a bare carriage return went unquoted
    # and split its row in two for every reader, ours included
    text = df.to_csv(sep=delimiter, index=False, lineterminator="\r\n")
    return atomic_write_bytes(path, text.encode("utf-8"))


def _runs_as_formula(text: str) -> bool:
    # a leading quote is looked through, so that a cell that already starts with one gets another
    # and unquote_formula gives back exactly what was written
    return text.lstrip("'").startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names no spreadsheet runs as a formula.

    Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single
    quote in front (OWASP's advice on CSV injection), unless it is just a number (``-3``,
    ``+1.5``); text that starts with quotes before such a character gets one more, so that
    :func:`unquote_formula` undoes it exactly. Numeric columns and other values are kept.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table about to be written as CSV/TSV for people.

    Returns
    -------
    pandas.DataFrame
        The neutralised copy.

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"note": ["=1+2", "-3", "ok"], "onset_ms": [-5, 0, 1]}))
        note  onset_ms
    0  '=1+2        -5
    1     -3         0
    2     ok         1
    """
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            out[name] = column.map(lambda v: "'" + v if isinstance(v, str) and _runs_as_formula(v) else v)
    out.columns = [("'" + c if isinstance(c, str) and _runs_as_formula(c) else c) for c in out.columns]
    return out


def unquote_formula(text: str) -> str:
    """The text :func:`neutralise_formulas` was given for a cell it wrote as ``text``.

    Examples
    --------
    >>> unquote_formula("'=1+2"), unquote_formula("''=x"), unquote_formula("'quoted"), unquote_formula("-3")
    ('=1+2', "'=x", "'quoted", '-3')
    """
    return text[1:] if text.startswith("'") and _runs_as_formula(text[1:]) else text

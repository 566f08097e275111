"""Build a report: parameterise a notebook template, execute it, export HTML and PDF, check, write.

The pipeline (one function, :func:`build`):

1. take the template ``notebooks/report-<kind>.ipynb`` and inject the parameters after its
   ``parameters`` cell (papermill's convention, :func:`papermill.parameterize.parameterize_notebook`);
2. execute it with nbclient in a fresh ``python3`` kernel (a failing cell stops the build with
   its error as a one-line message);
3. export with :class:`~workbench.report.exporter.ReportExporter` (our ``vig-report`` template):
   HTML with live charts and inlined Vega, and for PDF a print variant with static SVG that
   headless Chromium prints (:mod:`workbench.report.pdf`);
4. de-identify (:mod:`workbench.report.privacy`): the records the report is made from are scanned for
   protected names, words and paths (so that a refusal names the record and field), then every output
   (HTML, the page sent to the printer, the PDF's text, the sidecar); anything found is refused, or
   with ``redact=True`` replaced by a placeholder (``[child]``, ``[name]``, ``[path]``, ...);
5. write ``<kind>-<case>-<session>.html`` / ``.pdf`` and a ``.json`` sidecar (what the report is,
   checksums, generation time) into the case's ``PROJECT/reports/case-<id>/``.

Two builds from the same data differ only in the generation time (cover, sidecar, PDF dates).
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from workbench import __version__
from workbench.errors import NotFoundError, WorkbenchError
from workbench.report.base import KIND_LABELS
from workbench.report.show import COVER_MIME
from workbench.util import jsonable, sha256_bytes, slug

if TYPE_CHECKING:
    from workbench.project import Project
    from workbench.report.pdf import PdfPrinter

__all__ = ["FORMATS", "KINDS", "OWN_PARAMETERS", "ReportResult", "build", "check_parameters", "normalise_kind",
           "template_parameters", "template_path"]

log = logging.getLogger(__name__)

#: Report kinds and their notebook templates.
KINDS: dict[str, str] = {
    "micro-analysis": "report-micro-analysis.ipynb",
    "supervision": "report-supervision.ipynb",
    "verp": "report-verp.ipynb",
    "research": "report-research.ipynb",
}
_ALIASES = {
    "microanalysis": "micro-analysis", "micro": "micro-analysis", "micro_analysis": "micro-analysis",
    "reflective": "verp", "reflective-practice": "verp", "reflective_practice": "verp",
    "research-comparison": "research", "comparison": "research", "research_comparison": "research",
}
#: Output formats.
FORMATS = ("html", "pdf")


def normalise_kind(kind: str) -> str:
    """The canonical report kind for ``kind`` (accepts a few aliases such as ``"reflective"``)."""
    k = str(kind).strip().lower()
    k = _ALIASES.get(k, k)
    if k not in KINDS:
        allowed = ", ".join(repr(x) for x in KINDS)
        raise ValueError(f"Invalid value for the 'kind' parameter. Allowed values are {allowed}, but got {kind!r} "
                         "instead.")
    return k


#: Parameters that :func:`build` sets from its own arguments (not through ``params``).
OWN_PARAMETERS: dict[str, str] = {"project": "the project argument", "case": "case (--case)",
                                  "session": "session (--session)", "blur_faces": "blur_faces (--blur-faces)",
                                  "author": "author (--author)", "generated_at": "generated_at (--generated-at)"}


def template_parameters(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The parameters a report template declares: name -> default, from its cell tagged ``parameters``.

    Only plain assignments of literals count (``window_ms = 3000``, ``lower_is_better = []``).
    """
    import ast

    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            found: dict[str, Any] = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        found[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        continue
            return found
    return {}


def _type_name(value: Any) -> str:
    return {list: "a list", dict: "a mapping", bool: "true or false", int: "a number", float: "a number",
            str: "text"}.get(type(value), type(value).__name__)


def check_parameters(kind: str, params: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """Refuse a parameter the report template does not have, or one of another shape than its default.

    A list or mapping default wants a list or mapping (on the command line: JSON, ``--param
    'lower_is_better=["PSI-SF"]'``), a true/false default a boolean, a number a number; a text default
    takes text or a number.

    Raises
    ------
    ValueError
        Naming the parameter and what was expected (for an unknown name: the allowed names).
    """
    allowed = sorted(k for k in defaults if k not in OWN_PARAMETERS)
    for name, value in params.items():
        if name in OWN_PARAMETERS:
            raise ValueError(f"Expected {name!r} through its own argument, {OWN_PARAMETERS[name]}, not as a parameter.")
        if name not in defaults:
            near = difflib.get_close_matches(name, allowed, n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"Invalid parameter {name!r} for the {kind} report.{hint} Allowed parameters are "
                             f"{', '.join(allowed)}.")
        default = defaults[name]
        if isinstance(default, bool | list | dict):
            ok = isinstance(value, type(default)) or (isinstance(default, list) and isinstance(value, tuple))
        elif isinstance(default, int | float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            ok = isinstance(value, str | int | float) and not isinstance(value, bool)
        if not ok:
            hint = f" (on the command line, JSON: --param '{name}=[\"...\"]')" if isinstance(default, list) else ""
            got = f"the string {value!r}" if isinstance(value, str) else f"{_type_name(value)} ({value!r})"
            raise ValueError(f"Invalid value for the '{name}' parameter of the {kind} report: expected "
                             f"{_type_name(default)}{hint}, but got {got}.")


def _formats(to: str | Sequence[str]) -> tuple[str, ...]:
    items = [x.strip().lower() for x in (to.split(",") if isinstance(to, str) else to) if str(x).strip()]
    bad = [x for x in items if x not in FORMATS]
    if bad or not items:
        raise ValueError(f"Invalid value for the 'to' parameter. Allowed values are 'html' and 'pdf' (comma "
                         f"separated), but got {to!r} instead.")
    return tuple(dict.fromkeys(items))


def template_path(kind: str) -> Path:
    """The notebook template of a report kind (the checkout's ``notebooks/`` or the installed copy)."""
    here = Path(__file__).resolve().parents[1]
    name = KINDS[normalise_kind(kind)]
    for folder in (here.parent / "notebooks", here / "_notebooks"):
        if (folder / name).is_file():
            return folder / name
    raise NotFoundError(f"Expected the report template {name} in {here.parent / 'notebooks'}, but it is not there.")


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build` wrote.

    Attributes
    ----------
    kind : str
        The report kind.
    files : dict
        Format (``"html"``, ``"pdf"``) to the written file.
    sidecar : Path
        The ``.json`` description beside the files (kind, case, checksums, generation time).
    info : dict
        The cover: project, case, kind, date, author, scheme, generated_at, faces_blurred, and
        ``missing``: what the report leaves out or marks as not recorded for want of a value.
    seconds : dict
        Time spent: ``execute``, ``html``, ``pdf`` (export and print), ``total``.
    redacted : int
        How many protected terms were replaced by placeholders (with ``redact=True``; counted in
        the HTML, else in the PDF's page).
    """

    kind: str
    files: dict[str, Path]
    sidecar: Path
    info: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    redacted: int = 0

    @property
    def html(self) -> Path | None:
        """The HTML file, if built."""
        return self.files.get("html")

    @property
    def pdf(self) -> Path | None:
        """The PDF file, if built."""
        return self.files.get("pdf")


def _project_location(project: Project | str | os.PathLike[str]) -> tuple[str, Path | None, Project | None]:
    """(what the report kernel opens, the project folder, a Project we opened and must close)."""
    from workbench.project import Project, open_project

    if isinstance(project, Project):
        url = project.url
        if url.rstrip("/") in ("sqlite:", "sqlite:/"):
            raise ValueError("Expected a project on disk or a database URL, but got an in-memory project "
                             "(a report is built in a separate kernel that cannot see it).")
        if url.startswith("sqlite") and project.folder is not None:
            return str(project.folder), project.folder, None
        if "***" in url:
            raise ValueError("Expected a project the report kernel can open, but its URL hides a password; "
                             "pass the URL itself (with the password from the environment) instead.")
        return url, project.folder, None
    text = os.fspath(project)
    if "://" in text:
        return text, None, None
    opened = open_project(text)
    return str(Path(text).expanduser().resolve()), opened.folder, opened


def _parameter_json(value: Any) -> Any:
    """A report parameter as JSON (:func:`workbench.util.jsonable`), except that a record (a case, a session:
    anything with an ``id``) is its id."""
    if isinstance(value, Mapping):
        return {str(k): _parameter_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_parameter_json(v) for v in value]
    if hasattr(value, "id") and not isinstance(value, str | int | float):
        return int(value.id)
    return jsonable(value)


def _execute(nb: nbformat.NotebookNode, kind: str, workdir: Path, timeout: int) -> nbformat.NotebookNode:
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from workbench import errors

    env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="agg", WORKBENCH_REPORT_BUILD="1")
    # IPC (a Unix socket in the work folder) where the platform has it: no TCP port is opened at all
    quiet = logging.getLogger("workbench.report.kernel")  # jupyter_client's clean-up chatter stays out of sight
    if quiet.level == logging.NOTSET:
        quiet.setLevel(logging.ERROR)
    km = KernelManager(log=quiet, kernel_name="python3", transport="ipc" if os.name == "posix" else "tcp",
                       ip=str(workdir / "kernel") if os.name == "posix" else "127.0.0.1")
    client = NotebookClient(nb, km=km, log=quiet, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}}, record_timing=False)
    try:
        client.execute(env=env, cwd=str(workdir))
    except CellExecutionError as exc:
        cls = getattr(errors, str(exc.ename), None)
        message = f"{exc.evalue}" if exc.evalue else str(exc.ename)
        if isinstance(cls, type) and issubclass(cls, WorkbenchError):
            try:
                raise cls(message) from None
            except TypeError:  # an error class with another constructor
                pass
        if exc.ename in ("ValueError", "TypeError", "KeyError", "LookupError"):
            raise ValueError(f"The {kind} report could not be built: {message}") from None
        raise WorkbenchError(f"The {kind} report notebook failed ({exc.ename}): {message}") from None
    except (CellTimeoutError, DeadKernelError) as exc:
        raise WorkbenchError(f"The {kind} report notebook did not finish: {str(exc).splitlines()[0]}") from exc
    finally:
        if km.has_kernel:  # we own this kernel manager, so nbclient leaves the kernel to us
            km.shutdown_kernel(now=True)
    return nb


def _cover(nb: nbformat.NotebookNode) -> dict[str, Any]:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if COVER_MIME in data:
                return dict(data[COVER_MIME])
    return {}


def _generated(value: str | dt.datetime | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def build(
    project: Project | str | os.PathLike[str],
    kind: str,
    *,
    case: str | int | None = None,
    session: str | int | None = None,
    to: str | Sequence[str] = ("html",),
    out_dir: str | os.PathLike[str] | None = None,
    params: Mapping[str, Any] | None = None,
    blur_faces: bool = False,
    author: str | None = None,
    generated_at: str | dt.datetime | None = None,
    name: str | None = None,
    protected_names: Sequence[str] = (),
    template: str | os.PathLike[str] | None = None,
    timeout: int = 600,
    printer: PdfPrinter | None = None,
    purpose: str | None = None,
    redact: bool = False,
) -> ReportResult:
    """Build one report from its notebook template: execute, export HTML and/or PDF, check, write.

    Parameters
    ----------
    project : Project, str or path
        The project (folder or database URL, or an open project on disk).
    kind : {"micro-analysis", "supervision", "verp", "research"}
        The report kind.
    case : str or int, optional
        The case pseudonym (or id). For ``"research"``: a comma-separated list (default: all cases).
    session : str or int, optional
        The session (id, label or date) for micro-analysis, supervision and VERP reports.
    to : str or sequence of str
        ``"html"``, ``"pdf"`` or both (``"html,pdf"``).
    out_dir : path, optional
        Where to write (default: the case's ``PROJECT/reports/case-<id>/``, which
        :meth:`~workbench.project.Project.purge_case` removes with the case; research
        reports across cases: ``PROJECT/reports/``).
    params : mapping, optional
        More notebook parameters (e.g. ``{"duration_min": 60, "trainee": "anna"}``).
    blur_faces : bool
        Blur faces in stills.
    author : str, optional
        Named on the cover.
    generated_at : str or datetime, optional
        The generation time to state (default: now, UTC).
    name : str, optional
        File name stem (default ``<kind>-<case>-s<session>``).
    protected_names : sequence of str
        More names that must not appear (besides the project's protected real names).
    template : path, optional
        Another notebook to use as the template (same parameters).
    timeout : int
        Seconds a cell may run.
    printer : PdfPrinter, optional
        An open printer to reuse for several PDFs.
    purpose : str, optional
        The consent purpose the report is for (default: its kind's, see
        :data:`~workbench.report.consent.REPORT_PURPOSES`; a report built for an accreditation
        pack: ``"accreditation"``).
    redact : bool
        Replace each protected name, word-list term or path in the outputs by a placeholder
        (``[child]``, ``[parent]``, ``[name]``, ``[withheld]``, ``[path]``) instead of refusing;
        :attr:`ReportResult.redacted` says how many.

    Returns
    -------
    ReportResult

    Raises
    ------
    ConsentError
        If the case's consent does not allow the report (research: if no case's does; a case without
        it is left out, named in ``info["left_out"]`` and in a note in the report). Checked before
        anything is written.
    DeidentificationError
        If an output contains a protected name, word or path (and ``redact`` is off): it names the
        output's place and the records and fields holding the terms, never a term; nothing is written.
    NotFoundError
        For an unknown case or session (the message lists what exists).
    WorkbenchError
        If the notebook fails or Chromium cannot print.

    Examples
    --------
    >>> from workbench.report import build
    >>> result = build("demo-project", "supervision", case="Aster", session=4, to="html,pdf")  # doctest: +SKIP
    >>> result.files["pdf"].name  # doctest: +SKIP
    'supervision-Aster-s4.pdf'
    """
    from workbench.report.exporter import ReportExporter
    from workbench.report.privacy import Scrubber, record_texts

    t_start = time.perf_counter()
    kind = normalise_kind(kind)
    formats = _formats(to)
    when = _generated(generated_at)
    location, folder, opened = _project_location(project)
    from workbench.project import Project, open_project

    store = project if isinstance(project, Project) else (opened or open_project(location))
    try:
        if out_dir is None and folder is None:
            raise ValueError("Expected 'out_dir' for a project without a folder (a database URL).")
        session = _check_target(store, kind, case, session)
        _check_consent(store, kind, case, purpose)  # before any folder or file is made
        if out_dir is not None:
            out = Path(out_dir)
        elif kind == "research":  # several cases: the project's reports folder
            out = Path(folder) / "reports"
        else:  # the case's own folder, which a purge of the case empties
            out = store.case_folder(case, "reports")
        nb = nbformat.read(str(Path(template) if template else template_path(kind)), as_version=4)
        extra = {str(k): _parameter_json(v) for k, v in (params or {}).items()}
        check_parameters(kind, extra, template_parameters(nb))
        parameters: dict[str, Any] = {
            "project": location,
            "case": "" if case is None else str(case),
            "session": "" if session is None else str(session),
            "blur_faces": bool(blur_faces),
            "author": author or "",
            "generated_at": when.isoformat(),
        }
        parameters.update(extra)
        scrubber = Scrubber.for_project(store, redact=redact, extra_names=protected_names)
        from workbench.report.base import resolve_case

        named = [c.strip() for c in str(case or "").split(",") if c.strip()] if kind == "research" else [case]
        scope = [resolve_case(store, c) for c in named]  # the records the report is made from
        scrubber.source(record_texts(store, scope or None))
        scrubber.source((f"parameter {k!r}", v) for k, v in parameters.items()
                        if isinstance(v, str) and k not in ("project", "generated_at"))
        from papermill.parameterize import parameterize_notebook

        for cell in nb.cells:  # papermill expects every cell to have tags
            cell.metadata.setdefault("tags", [])
        nb.metadata["papermill"] = {}
        nb = parameterize_notebook(copy.deepcopy(nb), parameters, kernel_name="python3", language="python")
        nb.metadata.pop("papermill", None)

        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="workbench-report-") as work:
            _execute(nb, kind, Path(work), timeout)
        seconds = {"execute": time.perf_counter() - t0}
        info = _cover(nb)
        for cell in nb.cells:  # what the exporter must never see: the injected paths
            if "injected-parameters" in cell.metadata.get("tags", []) or "parameters" in cell.metadata.get("tags", []):
                cell.source = ""
        nb.metadata = nbformat.from_dict({k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")})

        stem = name or _default_name(kind, info, case, session)
        scrubber.what = f"report {stem}"
        outputs: dict[str, bytes] = {}
        if "html" in formats:
            t0 = time.perf_counter()
            page, _ = ReportExporter(mode="html", report_version=__version__).from_notebook_node(copy.deepcopy(nb))
            page = scrubber.text(page, f"{stem}.html", markup="html")
            outputs["html"] = page.encode("utf-8")
            seconds["html"] = time.perf_counter() - t0
        if "pdf" in formats:
            t0 = time.perf_counter()
            printable, _ = ReportExporter(mode="print", report_version=__version__).from_notebook_node(
                copy.deepcopy(nb))
            printable = scrubber.text(printable, f"{stem}.pdf (its page)", markup="html")
            scrubber.check()  # nothing with a protected term goes to the printer
            label = f"{info.get('kind_label', kind)} · {info.get('case', '')}".strip(" ·")
            if printer is not None:
                pdf = printer.print(printable, label=label, generated_at=when)
            else:
                from workbench.report.pdf import html_to_pdf

                pdf = html_to_pdf(printable, label=label, generated_at=when)
            outputs["pdf"] = scrubber.file(f"{stem}.pdf", pdf)  # the last guard: the PDF's own text
            seconds["pdf"] = time.perf_counter() - t0
        redacted = scrubber.replaced.get(f"{stem}.html", scrubber.replaced.get(f"{stem}.pdf (its page)", 0))
        meta = {
            "report": kind,
            "kind_label": KIND_LABELS[kind],
            "case": info.get("case", ""),
            "session": _parameter_json(session) if session not in (None, "") else None,
            "date": info.get("date", ""),
            "author": info.get("author", ""),
            "scheme": info.get("scheme", ""),
            "faces_blurred": bool(info.get("faces_blurred", blur_faces)),
            "missing": list(info.get("missing", [])),
            "left_out": list(info.get("left_out", [])),
            "parameters": {k: v for k, v in parameters.items() if k not in ("project", "generated_at")},
            "workbench_version": __version__,
            "generated_at": when.isoformat(),
            "redacted": redacted,
            "files": {fmt: {"name": f"{stem}.{fmt}", "sha256": sha256_bytes(data), "bytes": len(data)}
                      for fmt, data in outputs.items()},
        }
        described = scrubber.text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", f"{stem}.json")
        scrubber.check()  # the last guard: nothing is written if anything protected is left

        out.mkdir(parents=True, exist_ok=True)
        files: dict[str, Path] = {}
        for fmt, data in outputs.items():
            path = out / f"{stem}.{fmt}"
            path.write_bytes(data)
            files[fmt] = path
        sidecar = out / f"{stem}.json"
        sidecar.write_text(described, encoding="utf-8")
        seconds["total"] = time.perf_counter() - t_start
        if redacted:
            log.info("Replaced %d protected term(s) by placeholders in %s.", redacted, stem)
        log.info("Wrote %s in %.1f s.", ", ".join(p.name for p in files.values()), seconds["total"])
        return ReportResult(kind=kind, files=files, sidecar=sidecar, info=info, seconds=seconds, redacted=redacted)
    finally:
        if opened is not None:
            opened.close()


def _check_target(store: Project, kind: str, case: Any, session: Any) -> Any:
    """Fail fast (before a kernel starts) on an unknown case or session; the session to report on.

    A supervision report without a session gets the case's only supervision session (its id).
    """
    from workbench.report.base import default_session, resolve_case, resolve_session

    if kind == "research":
        for c in [x.strip() for x in str(case or "").split(",") if x.strip()]:
            resolve_case(store, c)
        return session
    if case in (None, ""):
        listing = ", ".join(c.pseudonym for c in store.cases()) or "none"
        raise ValueError(f"Expected a case for the {kind} report (--case), but got none. Cases: {listing}.")
    found = resolve_case(store, case)
    if session not in (None, ""):
        resolve_session(store, found, session)
    elif kind == "supervision":
        return default_session(store, found).id
    return session


def _check_consent(store: Project, kind: str, case: Any, purpose: str | None) -> None:
    """Refuse a report the case's consent does not allow; research: refuse only if no case is left."""
    from workbench.report.base import resolve_case
    from workbench.report.consent import REPORT_PURPOSES, check_report_consent, consenting_cases

    if kind != "research":  # the case by id ("2") or pseudonym, as _check_target found it
        check_report_consent(store, kind, resolve_case(store, case), purpose=purpose)
        return
    names = [x.strip() for x in str(case or "").split(",") if x.strip()]
    cases = [resolve_case(store, c) for c in names] if names else store.cases()
    consenting_cases(store, cases, purpose or REPORT_PURPOSES[kind], use="the research report")


def _default_name(kind: str, info: Mapping[str, Any], case: Any, session: Any) -> str:
    if kind == "research":
        cases = str(info.get("case") or case or "all")
        who = "all-cases" if case in (None, "") else slug(cases.replace(",", "+").replace(" ", ""), default="report")
        return f"research-{who}"
    parts = [kind, slug(str(info.get("case") or case or "case"), default="report")]
    if session not in (None, ""):
        parts.append(f"s{slug(str(session), default='report')}")
    return "-".join(parts)

"""Accreditation packs: a trainee's reports and stills in one zip, with a manifest of checksums and
progress against a configurable list of requirements.

``manifest.json`` (at the top of the zip) holds every other file with its sha256 and size, the
workbench and coding-scheme versions, the generation time, the trainee, whether faces were
blurred, and the requirement list with the trainee's progress against each requirement.
Requirements are data (YAML or JSON, see :func:`load_requirements`), never constants: associations
set and change them. Stills and reports are face-blurred by default in a pack.

Every file that goes into a pack goes through the de-identification step
(:mod:`workbench.report.privacy`): the reports (built here or given, perhaps edited by hand), the
stills (their text chunks) and the manifest (stills' captions). A protected name, word or path
refuses the pack; with ``redact=True`` it is replaced by a placeholder where it can be (not in a
PDF given to pack: build it again with redaction).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import math
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench import __version__
from workbench.errors import ConsentError, FormatError, NotFoundError
from workbench.model import Case, SessionKind
from workbench.report.consent import PACK_PURPOSE
from workbench.report.stills import still_image
from workbench.util import sha256_bytes, slug

if TYPE_CHECKING:
    from workbench.project import Project
    from workbench.report.build import ReportResult

__all__ = [
    "METRICS",
    "PackResult",
    "Requirement",
    "build_pack",
    "default_requirements",
    "load_requirements",
    "requirements_from_data",
    "trainee_cases",
    "trainee_progress",
    "verify_pack",
]

log = logging.getLogger(__name__)

#: What a requirement can count, and its unit.
METRICS: dict[str, str] = {
    "cases": "cases",
    "filming_sessions": "sessions",
    "shared_review_sessions": "sessions",
    "supervision_sessions": "sessions",
    "supervision_hours": "hours",
    "recorded_hours": "hours",
    "coded_recordings": "recordings",
    "moments": "moments",
    "reports": "reports",
}
_DEFAULT_REQUIREMENTS = Path(__file__).resolve().parent / "requirements" / "example.yaml"
MANIFEST = "manifest.json"
PACK_FORMAT = "vig-workbench-accreditation-pack"


@dataclass(frozen=True)
class Requirement:
    """One requirement: count ``metric`` for the trainee and compare with ``target``.

    Attributes
    ----------
    id, label : str
        A short key and the words shown.
    metric : str
        One of :data:`METRICS`.
    target : float
        How many are required.
    report_kind : str, optional
        For ``metric="reports"``: only reports of this kind count.
    hours_per_session : float
        For ``metric="supervision_hours"``: the length credited per supervision session.
    """

    id: str
    label: str
    metric: str
    target: float
    report_kind: str | None = None
    hours_per_session: float = 1.0


def requirements_from_data(data: Any, source: str = "<data>") -> list[Requirement]:
    """Requirements from parsed YAML/JSON: a list, or a mapping with a ``requirements`` list.

    Raises
    ------
    FormatError
        Listing every invalid item and field.
    """
    items = data.get("requirements") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise FormatError(f"Expected {source} to hold a list of requirements (or a 'requirements' list), but got "
                          f"{type(items).__name__}.")
    problems: list[str] = []
    out: list[Requirement] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"requirement {i + 1}"
        if not isinstance(item, Mapping):
            problems.append(f"Expected {where} to be a mapping, but got {type(item).__name__}.")
            continue
        rid = str(item.get("id", "")).strip()
        metric = str(item.get("metric", "")).strip()
        if not rid:
            problems.append(f"Expected {where} to have an 'id', but it has none.")
        elif rid in seen:
            problems.append(f"Expected unique ids, but {where} repeats {rid!r}.")
        seen.add(rid)
        if metric not in METRICS:
            problems.append(f"Expected {where} ({rid or '?'}) 'metric' to be one of {', '.join(METRICS)}, but got "
                            f"{metric!r}.")
        try:
            target = float(item.get("target"))  # type: ignore[arg-type]
            if not math.isfinite(target) or target < 0:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"Expected {where} ({rid or '?'}) 'target' to be a number >= 0, but got "
                            f"{item.get('target')!r}.")
            continue
        hours = item.get("hours_per_session", 1.0)
        try:
            hours = float(hours)
        except (TypeError, ValueError):
            problems.append(f"Expected {where} ({rid}) 'hours_per_session' to be a number, but got {hours!r}.")
            continue
        unknown = set(item) - {"id", "label", "metric", "target", "report_kind", "hours_per_session"}
        if unknown:
            problems.append(f"Expected only id, label, metric, target, report_kind, hours_per_session in {where} "
                            f"({rid}), but got {', '.join(sorted(map(str, unknown)))}.")
        kind = item.get("report_kind")
        if kind is not None:
            from workbench.report.build import normalise_kind

            try:
                kind = normalise_kind(str(kind))
            except ValueError as exc:
                problems.append(f"{where} ({rid}): {exc}")
        out.append(Requirement(rid, str(item.get("label") or rid), metric, target, kind, hours))
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise FormatError(f"Invalid requirement list {source}: {len(problems)} problem(s):\n{lines}")
    return out


def load_requirements(path: str | os.PathLike[str]) -> list[Requirement]:
    """Read a requirement list from a YAML or JSON file (see ``requirements/example.yaml``)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotFoundError(f"Expected a requirement list at {p}, but it cannot be read: {exc.strerror}.") from exc
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise FormatError(f"Expected {p.name} to be valid {'JSON' if p.suffix == '.json' else 'YAML'}, but: "
                          f"{str(exc).splitlines()[0]}") from exc
    return requirements_from_data(data, p.name)


def default_requirements() -> list[Requirement]:
    """The example requirement list shipped with the workbench (replace it with your association's)."""
    return load_requirements(_DEFAULT_REQUIREMENTS)


def trainee_cases(project: Project, trainee: str) -> list[Case]:
    """The trainee's cases: those they guide, else those whose recordings they coded."""
    cases = [c for c in project.cases() if c.guider == trainee]
    if cases:
        return cases
    return [c for c in project.cases()
            if any(trainee in project.annotations(r).coders for r in project.recordings(case=c))]


def trainee_progress(
    project: Project,
    trainee: str,
    requirements: Sequence[Requirement] | None = None,
    *,
    cases: Sequence[Case] | None = None,
    reports: Iterable[Mapping[str, Any]] = (),
) -> pd.DataFrame:
    """Progress against each requirement: ``id, label, metric, target, achieved, unit, met, percent``.

    ``reports`` are report descriptions (sidecars) with a ``report`` kind, for ``metric="reports"``.
    """
    reqs = list(requirements) if requirements is not None else default_requirements()
    cases = list(cases) if cases is not None else trainee_cases(project, trainee)
    sessions = [s for c in cases for s in project.sessions(c)]
    recordings = [r for c in cases for r in project.recordings(case=c)]
    reports = list(reports)
    coded = [r for r in recordings if trainee in project.annotations(r).coders]
    counts: dict[str, float] = {
        "cases": len(cases),
        "filming_sessions": sum(1 for s in sessions if s.kind == SessionKind.FILMING),
        "shared_review_sessions": sum(1 for s in sessions if s.kind == SessionKind.SHARED_REVIEW),
        "supervision_sessions": sum(1 for s in sessions if s.kind == SessionKind.SUPERVISION),
        "recorded_hours": sum(r.duration_ms for r in coded) / 3_600_000,
        "coded_recordings": len(coded),
        "moments": sum(len(project.moments(r)) for r in recordings),
    }
    rows = []
    for req in reqs:
        if req.metric == "reports":
            achieved = float(sum(1 for r in reports if req.report_kind in (None, r.get("report"))))
        elif req.metric == "supervision_hours":
            achieved = counts["supervision_sessions"] * req.hours_per_session
        else:
            achieved = float(counts[req.metric])
        rows.append({
            "id": req.id, "label": req.label, "metric": req.metric, "target": req.target,
            "achieved": round(achieved, 3), "unit": METRICS[req.metric], "met": achieved >= req.target,
            "percent": 100.0 if req.target == 0 else round(min(100.0, 100.0 * achieved / req.target), 1),
        })
    return pd.DataFrame(rows, columns=["id", "label", "metric", "target", "achieved", "unit", "met", "percent"])


@dataclass(frozen=True)
class PackResult:
    """What :func:`build_pack` wrote: the zip, its manifest, the reports built for it, and how many
    protected terms were replaced by placeholders (with ``redact=True``)."""

    path: Path
    manifest: dict[str, Any]
    reports: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    redacted: int = 0


def _sidecar_of(report: ReportResult | str | os.PathLike[str]) -> tuple[dict[str, Any], list[Path]]:
    from workbench.report.build import ReportResult

    if isinstance(report, ReportResult):
        side = report.sidecar
        files = list(report.files.values())
    else:
        p = Path(report)
        side = p.with_suffix(".json")
        files = [p] if p.suffix != ".json" else []
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise NotFoundError(f"Expected the report description {side.name} beside the report (written by "
                            f"`workbench report`), but it cannot be read.") from exc
    if not files:
        files = [side.with_name(f["name"]) for f in meta.get("files", {}).values()]
    return meta, files


def build_pack(
    project: Project | str | os.PathLike[str],
    trainee: str,
    out: str | os.PathLike[str],
    *,
    kinds: Sequence[str] = ("supervision", "micro-analysis"),
    to: str | Sequence[str] = ("html", "pdf"),
    cases: Sequence[str] | None = None,
    reports: Sequence[ReportResult | str | os.PathLike[str]] | None = None,
    supervisor: str = "supervisor",
    blur_faces: bool = True,
    requirements: Sequence[Requirement] | str | os.PathLike[str] | None = None,
    generated_at: str | dt.datetime | None = None,
    redact: bool = False,
) -> PackResult:
    """Bundle a trainee's reports, stills and a manifest into a zip.

    Parameters
    ----------
    project : Project, str or path
        The project.
    trainee : str
        The trainee (their coder name and the cases' ``guider``).
    out : path
        The zip to write.
    kinds : sequence of str
        Report kinds to build for each of the trainee's cases: ``"supervision"`` (one per
        supervision session), ``"micro-analysis"`` (one per filming session the trainee coded),
        ``"verp"`` (one per case).
    to : str or sequence
        Formats of the built reports.
    cases : sequence of str, optional
        Only these of the trainee's cases (pseudonyms).
    reports : sequence, optional
        Already built reports (``ReportResult`` or report files with their ``.json`` sidecar) to
        pack instead of building.
    supervisor : str
        The supervisor's coder name, for supervision reports.
    blur_faces : bool
        Blur faces in the stills and in built reports (default: yes, in a pack).
    requirements : list of Requirement, or a YAML/JSON file, optional
        Default: :func:`default_requirements`.
    generated_at : str or datetime, optional
        The generation time (default: now).
    redact : bool
        Replace protected names, word-list terms and paths by placeholders (in the reports built
        here, in given HTML reports, in captions) instead of refusing.

    Returns
    -------
    PackResult

    Raises
    ------
    ConsentError
        If the consent of a case in the pack (the trainee's chosen cases, and the cases of the given
        reports) does not allow ``"accreditation"``; every such case is named. Nothing is written.
    DeidentificationError
        If any file of the pack holds a protected name, word or path (with ``redact``: one that
        cannot be replaced, as in a given PDF); the message names the file and place, and the
        records and fields holding the terms. Nothing is written.
    """
    import time

    from workbench.project import Project, open_project
    from workbench.report.build import _generated, _project_location, build
    from workbench.report.privacy import Scrubber, record_texts

    t0 = time.perf_counter()
    when = _generated(generated_at)
    reqs = (load_requirements(requirements) if isinstance(requirements, str | os.PathLike)
            else list(requirements) if requirements is not None else default_requirements())
    location, _, opened = _project_location(project)
    store = project if isinstance(project, Project) else (opened or open_project(location))
    try:
        all_cases = trainee_cases(store, trainee)
        if not all_cases:
            raise NotFoundError(f"Expected cases guided or coded by {trainee!r}, but found none. Case guiders: "
                                f"{', '.join(sorted({c.guider for c in store.cases() if c.guider})) or 'none'}.")
        if cases:
            wanted = set(cases)
            chosen = [c for c in all_cases if c.pseudonym in wanted]
            missing = wanted - {c.pseudonym for c in chosen}
            if missing:
                raise NotFoundError(f"Expected cases of {trainee!r} ({', '.join(c.pseudonym for c in all_cases)}), "
                                    f"but got {', '.join(sorted(missing))}.")
        else:
            chosen = all_cases
        _check_pack_consent(store, chosen, reports)  # before anything is built or written
        files: dict[str, bytes] = {}
        entries: list[dict[str, Any]] = []
        report_meta: list[dict[str, Any]] = []
        scrubber = Scrubber.for_project(store, redact=redact, what=f"pack {Path(out).name}")
        scrubber.source(record_texts(store, chosen))
        with tempfile.TemporaryDirectory(prefix="workbench-pack-") as work:
            built: list[Any] = list(reports) if reports is not None else _build_reports(
                store, location, trainee, supervisor, chosen, kinds, to, blur_faces, when, Path(work), build, redact)
            for rep in built:
                meta, paths = _sidecar_of(rep)
                if blur_faces and not meta.get("faces_blurred"):
                    warnings.warn(f"Report {paths[0].name if paths else '?'} was built without face blurring but "
                                  "goes into a pack that blurs faces; rebuild it with blur_faces=True.", stacklevel=2)
                report_meta.append(meta)
                for p in paths:
                    name = f"reports/{p.name}"
                    data = scrubber.file(name, p.read_bytes())
                    files[name] = data
                    entries.append({"path": name, "sha256": sha256_bytes(data), "bytes": len(data), "type": "report",
                                    "report": meta.get("report"), "format": p.suffix.lstrip("."),
                                    "case": meta.get("case", ""), "session": meta.get("session"),
                                    "faces_blurred": bool(meta.get("faces_blurred"))})
            for name, data, info in _stills(store, chosen, blur_faces):
                data = scrubber.file(name, data)
                files[name] = data
                entries.append({"path": name, "sha256": sha256_bytes(data), "bytes": len(data), "type": "still",
                                **info})
        progress = trainee_progress(store, trainee, reqs, cases=all_cases, reports=report_meta)
        scheme = store.scheme
        manifest = {
            "format": PACK_FORMAT,
            "format_version": 1,
            "workbench_version": __version__,
            "scheme": {"id": scheme.id, "version": str(scheme.version), "name": scheme.name},
            "generated_at": when.isoformat(),
            "trainee": trainee,
            "cases": [c.pseudonym for c in chosen],
            "faces_blurred": bool(blur_faces),
            "files": sorted(entries, key=lambda e: e["path"]),
            "requirements": [dict(asdict(r), **{k: row[k] for k in ("achieved", "unit", "met", "percent")})
                             for r, (_, row) in zip(reqs, progress.iterrows(), strict=True)],
            "requirements_met": int(progress["met"].sum()),
            "requirements_total": len(progress),
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        text = scrubber.text(text, MANIFEST)
        scrubber.check()  # every file was scanned: nothing is written if anything protected is left
        if scrubber.total:
            manifest = json.loads(text)
            log.info("Replaced %d protected term(s) by placeholders in the pack.", scrubber.total)
        out_path = Path(out)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        stamp = when.astimezone(dt.UTC).timetuple()[:6]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in [(MANIFEST, text.encode("utf-8")), *sorted(files.items())]:
                info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        out_path.write_bytes(buf.getvalue())
        redacted = scrubber.total + sum(int(m.get("redacted") or 0) for m in report_meta if reports is None)
        return PackResult(out_path, manifest, report_meta, time.perf_counter() - t0, redacted)
    finally:
        if opened is not None:
            opened.close()


def _check_pack_consent(store: Project, cases: Sequence[Case],
                        reports: Sequence[ReportResult | str | os.PathLike[str]] | None) -> None:
    """Refuse a pack unless the consent of every case in it (its stills, its reports) allows accreditation."""
    from workbench.report.base import resolve_case
    from workbench.report.consent import check_cases

    included = {c.pseudonym: c for c in cases}
    for rep in reports or ():
        for name in str(_sidecar_of(rep)[0].get("case") or "").split(","):
            if name.strip() and name.strip() not in included:
                found = resolve_case(store, name.strip())
                included[found.pseudonym] = found
    try:
        check_cases(store, list(included.values()), PACK_PURPOSE, use="the accreditation pack")
    except ConsentError as exc:
        refused = {x.strip() for x in exc.case.split(",")}
        kept = [c for c in included if c not in refused]
        if not kept:
            raise
        raise ConsentError(f"{exc} Or pack only the other cases: --case {','.join(kept)} (in Python: "
                           f"cases={kept!r}).", case=exc.case, purpose=exc.purpose, reason=exc.reason) from None


def _build_reports(store: Project, location: str, trainee: str, supervisor: str, cases: Sequence[Case],
                   kinds: Sequence[str], to: str | Sequence[str], blur_faces: bool, when: dt.datetime,
                   work: Path, build: Any, redact: bool = False) -> list[Any]:
    from workbench.report.build import _formats, normalise_kind
    from workbench.report.pdf import PdfPrinter

    kinds = [normalise_kind(k) for k in kinds]
    formats = _formats(to)
    jobs: list[dict[str, Any]] = []
    for case in cases:
        for kind in kinds:
            if kind == "supervision":
                for s in store.sessions(case):
                    if s.kind == SessionKind.SUPERVISION:
                        jobs.append({"kind": kind, "case": case.pseudonym, "session": s.id,
                                     "params": {"trainee": trainee, "supervisor": supervisor}})
            elif kind == "micro-analysis":
                for s in store.sessions(case):
                    recs = store.recordings(s)
                    if s.kind == SessionKind.FILMING and any(trainee in store.annotations(r).coders for r in recs):
                        jobs.append({"kind": kind, "case": case.pseudonym, "session": s.id,
                                     "params": {"coder": trainee}})
            elif kind == "verp":
                jobs.append({"kind": kind, "case": case.pseudonym, "session": None, "params": {"coder": trainee}})
            else:
                raise ValueError(f"Expected report kinds per case ('supervision', 'micro-analysis', 'verp') in a "
                                 f"pack, but got {kind!r}.")
    results = []
    printer_cm = PdfPrinter() if "pdf" in formats else None
    printer = printer_cm.__enter__() if printer_cm is not None else None
    try:
        for job in jobs:
            try:
                results.append(build(location, job["kind"], case=job["case"], session=job["session"], to=formats,
                                     out_dir=work, params=job["params"], blur_faces=blur_faces, generated_at=when,
                                     printer=printer, purpose=PACK_PURPOSE, redact=redact))
            except NotFoundError as exc:
                warnings.warn(f"Skipped the {job['kind']} report of {job['case']} (session {job['session']}): {exc}",
                              stacklevel=3)
    finally:
        if printer_cm is not None:
            printer_cm.__exit__(None, None, None)
    return results


def _stills(store: Project, cases: Sequence[Case], blur: bool) -> list[tuple[str, bytes, dict[str, Any]]]:
    out = []
    for case in cases:
        for rec in store.recordings(case=case):
            for still in store.stills(rec):
                image = still_image(store, still, blur_faces=blur, where=f"(case {case.pseudonym})", damaged="")
                name = f"stills/{slug(case.pseudonym)}-rec{rec.id}-{still.time_ms:09d}ms.png"
                info = {"case": case.pseudonym, "recording": rec.label or f"recording {rec.id}",
                        "time_ms": still.time_ms, "caption": still.caption, "faces_blurred": blur,
                        "faces_found": image.faces}
                out.append((name, image.png, info))
    return out


def verify_pack(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a pack: every file listed with the right sha256 and size, nothing unlisted.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    FormatError
        Naming each file that is missing, changed or not listed.
    """
    p = Path(path)
    try:
        zf = zipfile.ZipFile(p)
    except (OSError, zipfile.BadZipFile) as exc:
        raise FormatError(f"Expected an accreditation pack (zip) at {p.name}, but it cannot be opened: {exc}") from exc
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names:
            raise FormatError(f"Expected {MANIFEST} in {p.name}, but it is not there.")
        manifest = json.loads(zf.read(MANIFEST))
        problems = []
        listed = set()
        for entry in manifest.get("files", []):
            name = entry["path"]
            listed.add(name)
            if name not in names:
                problems.append(f"{name}: listed but missing")
                continue
            data = zf.read(name)
            if sha256_bytes(data) != entry["sha256"]:
                problems.append(f"{name}: sha256 differs from the manifest")
            if len(data) != entry.get("bytes", len(data)):
                problems.append(f"{name}: size differs from the manifest")
        for extra in sorted(names - listed - {MANIFEST}):
            problems.append(f"{extra}: in the zip but not in the manifest")
    if problems:
        lines = "\n".join(f"  - {x}" for x in problems)
        raise FormatError(f"Expected every file of {p.name} to match its manifest, but {len(problems)} do not:\n"
                          f"{lines}")
    return manifest

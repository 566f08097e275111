"""The command line: ``workbench SUBCOMMAND ...`` (also ``python -m workbench``).

Each subcommand has its own ``--help``. Errors about files, projects or rows
are printed as one clear message (exit status 2), never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench import __version__
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.model import Case
    from workbench.project import Project

__all__ = ["main", "notebooks_dir"]

log = logging.getLogger("workbench")


def notebooks_dir() -> Path:
    """The folder of the notebooks users open (the checkout's ``notebooks/`` or the installed copy)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "notebooks", here / "_notebooks"):
        if (candidate / "review.ipynb").exists():
            return candidate
    raise WorkbenchError(
        f"Expected the workbench notebooks beside the package ({here.parent / 'notebooks'}), but found none."
    )


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


# -- subcommands -------------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from workbench.project import open_project
    from workbench.scheme import load_scheme

    scheme = load_scheme(args.scheme) if args.scheme else None
    with open_project(args.project, create=True, scheme=scheme) as project:
        _out(f"Created project {args.project} (scheme {project.scheme.id} v{project.scheme.version}).")
    for line in _next_steps(args.project):
        _out(line)
    return 0


def _next_steps(project: str) -> list[str]:
    """What to do after ``workbench init``: add a case and a film (from Python, for now), then open it."""
    where = json.dumps(project)
    return [
        "",
        "Next: add a case and register a film, from Python (the practitioners' app comes later):",
        "",
        "    import workbench",
        f"    project = workbench.open_project({where})",
        '    case = project.add_case("Aster", real_name="...")      # the real name never leaves the project',
        '    session = project.add_session(case, "filming", "2026-03-02", cycle=1)',
        '    project.add_recording(session, "film.mp4")              # probed, then copied into the project',
        "",
        f"Then: workbench info {project}   (what is in it)",
        f"      workbench lab {project}    (code and review the film in JupyterLab)",
        f"      workbench consent set {shlex.quote(project)} Aster --purpose supervision --viewer guider "
        "--until YYYY-MM-DD   (what the family agreed to: reports and packs need it; see docs/consent.md)",
    ]


def _summary(project_path: str) -> list[str]:
    from workbench.project import open_project

    lines = []
    with open_project(project_path) as project:
        cases = project.cases()
        lines.append(f"project  {project_path}")
        lines.append(f"scheme   {project.scheme.id} v{project.scheme.version} ({len(project.scheme)} codes)")
        for case in cases:
            sessions = project.sessions(case)
            recs = project.recordings(case=case)
            lines.append(f"case     {case.pseudonym}: {len(sessions)} sessions, {len(recs)} recordings")
            for session in sessions:
                lines.append(f"  session {session.id}  {session.kind.value:13}  {session.date.isoformat()}  "
                             f"cycle {session.cycle}  {session.label!r}")
                for rec in (r for r in recs if r.session_id == session.id):
                    table = project.annotations(rec)
                    coders = ", ".join(f"{c} {len(table.filter(coder=c))}" for c in table.coders)
                    lines.append(
                        f"    recording {rec.id} {rec.label!r}: {rec.duration_ms / 1000:.1f} s, "
                        f"{rec.frame_count} frames, {rec.codec}; annotations: {coders or 'none'}; "
                        f"moments {len(project.moments(rec))}, stills {len(project.stills(rec))}, "
                        f"comments {len(project.comments(rec))}"
                    )
        lines.append(f"measures {len(project.measures())}, goals {len(project.goals())}")
    return lines


def _cmd_info(args: argparse.Namespace) -> int:
    for line in _summary(args.project):
        _out(line)
    return 0


def _server_flags() -> list[str]:
    """Jupyter refuses to start as root unless told; containers and CI machines often run as root."""
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def _open_lab(project: Path, no_browser: bool) -> int:
    nb = notebooks_dir()
    env = dict(os.environ, WORKBENCH_PROJECT=str(project.resolve()))
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={nb.parent}",
        "--ServerApp.jpserver_extensions=workbench.ui.server=True",  # the media route for the player
        str(nb / "review.ipynb"),
        *_server_flags(),
    ]
    if no_browser:
        cmd.append("--no-browser")
    _out(f"Opening JupyterLab on {nb / 'review.ipynb'} (WORKBENCH_PROJECT={project})")
    return subprocess.call(cmd, env=env)


def _cmd_demo(args: argparse.Namespace) -> int:
    from workbench.demo import build_demo

    folder = Path(args.dir)
    if (folder / "workbench.db").exists() and args.force:
        shutil.rmtree(folder)
    if (folder / "workbench.db").exists():
        _out(f"The demo project is already built in {folder} (use --force to rebuild).")
    else:
        t0 = time.perf_counter()
        build_demo(folder).close()
        _out(f"Built the demo project in {folder} in {time.perf_counter() - t0:.1f} s.")
    for line in _summary(str(folder)):
        _out(line)
    _export_demo_report(folder, force=args.force)
    if args.no_browser:
        _out(f"Open it with: WORKBENCH_PROJECT={folder} jupyter lab {notebooks_dir() / 'review.ipynb'}")
        return 0
    return _open_lab(folder, no_browser=False)


def _export_demo_report(folder: Path, *, force: bool = False) -> None:
    """Export the demo's supervision report (Aster's first supervision) to the case's reports folder.

    HTML always; PDF too where a Chromium is installed (otherwise the message says how to get one).
    A report already there is kept unless ``force``.
    """
    from workbench.demo import DEMO_REPORT
    from workbench.project import open_project
    from workbench.report import build
    from workbench.report.pdf import find_chromium

    formats = ["html", "pdf"]
    try:
        find_chromium()
    except WorkbenchError as exc:
        formats = ["html"]
        _out(f"The demo report is exported as HTML only: {exc}")
    with open_project(folder) as project:
        reports = project.case_folder(DEMO_REPORT["case"], "reports")
    done = {f: reports / f"{DEMO_REPORT['name']}.{f}" for f in formats}
    if not force and all(path.is_file() for path in done.values()):
        _out(f"The demo report is already exported: {', '.join(str(p) for p in done.values())}.")
        return
    # the demo's helping questions name the children: the export shows them replaced
    result = build(folder, "supervision", to=formats, redact=True, **DEMO_REPORT)
    for fmt, path in result.files.items():
        _out(f"Exported the demo's supervision report: {path} ({path.stat().st_size / 1e3:.0f} kB, {fmt}).")
    _out(f"De-identified: {result.redacted} protected name(s) replaced by placeholders such as [child].")


def _cmd_voila(args: argparse.Namespace) -> int:
    nb = notebooks_dir()
    env = dict(os.environ, WORKBENCH_PROJECT=str(Path(args.project).resolve()))
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.root_dir={nb}",
        # Voila as a server extension, so that the media route is there too (standalone Voila loads none)
        "--ServerApp.jpserver_extensions=voila=True",
        "--ServerApp.jpserver_extensions=workbench.ui.server=True",
        "--ServerApp.default_url=/voila/render/review.ipynb",
        f"--ServerApp.port={args.port}",
        *_server_flags(),
    ]
    if args.no_browser:
        cmd.append("--no-browser")
    _out(f"Serving {nb / 'review.ipynb'} as an app with Voila (WORKBENCH_PROJECT={args.project})")
    return subprocess.call(cmd, env=env)


def _cmd_lab(args: argparse.Namespace) -> int:
    return _open_lab(Path(args.project), no_browser=args.no_browser)


def _cmd_probe(args: argparse.Namespace) -> int:
    from workbench.media import check_recording, probe

    info = probe(args.video)
    _out(f"file        {Path(args.video).name}")
    _out(f"codec       {info.codec}  {info.width}x{info.height}  rotation {info.rotation}")
    _out(f"duration    {info.duration_ms} ms, {info.frame_count} frames, {info.fps:.3f} fps nominal")
    _out(f"audio       {info.audio_codec if info.has_audio else 'none'}")
    _out(f"sha256      {info.sha256}")
    try:
        check_recording(info)
    except WorkbenchError as exc:
        _out(f"recording   cannot be registered: {exc}")
    return 0


def _cmd_scheme(args: argparse.Namespace) -> int:
    from workbench.scheme import default_scheme, load_scheme

    scheme = load_scheme(args.file) if args.file else default_scheme()
    _out(f"{scheme.name} ({scheme.id} v{scheme.version})")
    for cat in scheme.categories:
        _out(f"\n{cat.order + 1}. {cat.label}")
        for code in scheme.codes:
            if code.category == cat.key:
                _out(f"   [{code.shortcut or ' '}] {code.key:28} {code.kind or '-':11} {code.label}")
    return 0


def _read_any(path: Path, scheme: object) -> object:
    from workbench import io

    suffix = path.suffix.lower()
    if suffix == ".eaf":
        return io.read_eaf(path, scheme=scheme)  # type: ignore[arg-type]
    if suffix in (".csv", ".tsv"):
        return io.read_table(path, scheme=scheme)  # type: ignore[arg-type]
    raise WorkbenchError(f"Expected a .eaf, .csv or .tsv file, but got {path.name!r}.")


def _cmd_import(args: argparse.Namespace) -> int:
    from workbench.project import open_project

    path = Path(args.file)
    mode = "replace" if args.replace else "append" if args.append else "new"
    with open_project(args.project) as project:
        table = _read_any(path, project.scheme)
        report = project.import_annotations(
            args.recording, table, coder=args.coder or None, mode=mode, source=str(path)
        )
    coders = ", ".join(report.coders) or "-"
    if mode == "replace":
        _out(
            f"Replaced {report.replaced} annotations of recording {report.recording_id} by {coders} "
            f"with {len(report.ids)} from {path.name}."
        )
    else:
        _out(
            f"Imported {len(report.ids)} annotations from {path.name} into recording {report.recording_id} ({coders})."
        )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import tempfile

    from workbench import io
    from workbench.project import open_project
    from workbench.report.privacy import Scrubber, annotation_texts

    out = Path(args.out)
    suffix = out.suffix.lower()
    if args.raw and suffix not in (".csv", ".tsv"):
        raise WorkbenchError(f"Expected an output ending in .csv or .tsv with --raw, but got {out.name!r}.")
    if suffix not in (".eaf", ".csv", ".tsv", ".sds", ".sdis"):
        raise WorkbenchError(f"Expected an output ending in .eaf, .csv, .tsv or .sds, but got {out.name!r}.")
    with open_project(args.project) as project:
        table = project.annotations(int(args.recording), coder=args.coder)
        scrubber = Scrubber.for_project(project, redact=args.redact, what=f"the export {out.name}")
    scrubber.source(annotation_texts(table, f"recording {args.recording}"))
    with tempfile.TemporaryDirectory(prefix="workbench-export-") as work:
        draft = Path(work) / out.name  # written aside, checked, and only then put in place
        if suffix == ".eaf":
            io.write_eaf(table, draft)
        elif suffix in (".csv", ".tsv"):
            io.write_table(table, draft, raw=args.raw)
        else:
            io.write_sdis({f"recording{args.recording}": table}, draft)
        data = scrubber.file(out.name, draft.read_bytes())
    scrubber.check()
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.part")
    part.write_bytes(data)
    os.replace(part, out)
    _out(f"Wrote {len(table)} annotations to {out}.")
    _say_redacted(scrubber.total)
    return 0


def _say_redacted(count: int) -> None:
    if count:
        _out(f"Replaced {count} protected name(s), word(s) or path(s) by placeholders ([child], [parent], [name], "
             "[withheld], [path]).")


def _cmd_batch(args: argparse.Namespace) -> int:
    import json

    from workbench.batch import DEFAULT_TASKS, run_batch

    tasks = [t.strip() for item in (args.tasks or DEFAULT_TASKS) for t in item.split(",") if t.strip()]
    params: dict[str, dict[str, object]] = {}
    for item in args.param or []:
        name, equals, text = item.partition("=")
        task, dot, key = name.partition(".")
        if not (equals and dot and task and key):
            raise WorkbenchError(
                f"Expected --param TASK.NAME=VALUE (e.g. thumbnails.count=10), but got {item!r}."
            )
        try:
            value: object = json.loads(text)
        except ValueError:
            value = text  # a bare word is a string
        params.setdefault(task, {})[key] = value
    try:
        report = run_batch(
            args.project,
            tasks,
            params=params or None,
            scheduler=args.scheduler,
            progress=not args.no_progress,
            force=args.force,
        )
    except (ValueError, TypeError) as exc:  # an unknown task, parameter or scheduler
        raise WorkbenchError(str(exc)) from exc
    _out(report.summary())
    return 0 if report.ok else 1


def _open_for(args: argparse.Namespace) -> object:
    from workbench.project import open_project

    folder = getattr(args, "folder", None)
    if folder and "://" in args.project:
        return open_project(args.project, folder=folder)
    return open_project(args.project)


def _cmd_backup(args: argparse.Namespace) -> int:
    with _open_for(args) as project:  # type: ignore[attr-defined]
        info = project.backup(args.out)
    _out(
        f"Backed up {args.project} to {info.path} ({info.kind}, schema {info.schema_revision}, "
        f"{info.files} files, {info.bytes / 1e6:.1f} MB)."
    )
    for rel in info.missing:
        _out(f"missing (deleted while backing up?): {rel}")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from workbench.store import restore_backup

    where = restore_backup(args.backup, args.target, folder=args.folder, force=args.force)
    _out(f"Restored {args.backup} into {where}.")
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    from workbench.errors import NotFoundError

    reports = []
    with _open_for(args) as project:  # type: ignore[attr-defined]
        pending = project.pending_purges()
        if pending:
            _out(f"Finishing {len(pending)} interrupted purge(s) first (case id {', '.join(map(str, pending))}).")
            reports += project.finish_purges(wait_s=args.wait)
        if args.case is not None:
            try:
                case = project.case(args.case)  # the store's one rule: a pseudonym, else digits as an id
            except NotFoundError:
                if not reports:
                    raise
                _out(
                    f"No case {args.case!r} is left in the project (a finished purge holds no name to tell whether "
                    "it was this case)."
                )
            else:
                if not args.yes and sys.stdin.isatty():
                    answer = input(
                        f"Remove case {case.pseudonym!r} (id {case.id}) and everything of it for good? [y/N] "
                    )
                    if answer.strip().lower() not in ("y", "yes"):
                        _out("Nothing was removed.")
                        return 1
                reports.append(project.purge_case(case, purge_backups=args.purge_backups, wait_s=args.wait))
        elif not pending:
            _out("No purge is pending. Remove a case with: workbench purge PROJECT --case CASE")
    for report in reports:
        for line in report.lines():
            _out(line)
    return 0 if all(r.clean for r in reports) else 1


def _cmd_retention(args: argparse.Namespace) -> int:
    with _open_for(args) as project:  # type: ignore[attr-defined]
        items = project.retention(args.today)
    if not items:
        _out("No case has passed its retention date; every case has a consent record.")
        return 0
    for item in items:
        _out(f"case {item.pseudonym!r} (id {item.case_id}): {item.reason}; {item.recordings} recording(s)")
        for b in item.backups:
            _out(f"  held in backup {b}")
    _out("Remove a case with: workbench purge PROJECT --case CASE")
    return 0


def _consent_lines(project: Project, case: Case, where: str) -> list[str]:
    """One case's consent: what it allows, who may see, until when, and which exports it allows today."""
    from workbench.errors import ConsentError
    from workbench.model import CONSENT_PURPOSES
    from workbench.store import consent_hint

    found = project.consent(case)
    head = f"case {case.pseudonym} (id {case.id})"
    if found is None:
        return [f"{head}: no consent record, so every export of it is refused.",
                f"  record it with: {consent_hint(case.pseudonym, 'supervision', None, project=where)}"]
    unknown = [p for p in found.purposes if p not in CONSENT_PURPOSES]
    known = [p for p in found.purposes if p in CONSENT_PURPOSES]
    lines = [f"{head}: {', '.join(known) or 'no known purpose'}"
             + (f" (and {', '.join(map(repr, unknown))}, not a known purpose: allows nothing)" if unknown else "")]
    lines.append(f"  who may see: {', '.join(found.viewers)}")
    until = f"until {found.until.isoformat()}" if found.until else "until withdrawn"
    recorded = found.recorded_at.date().isoformat() if found.recorded_at else "?"
    lines.append(f"  {until}; given by {found.given_by or '(not said)'}; recorded {recorded} by "
                 f"{found.recorded_by or '?'} (version {found.version})")
    if found.note:
        lines.append(f"  note: {found.note}")
    today = []
    for purpose in CONSENT_PURPOSES:
        try:
            project.check_consent(case, purpose)
            today.append(f"{purpose} yes")
        except ConsentError as exc:
            today.append(f"{purpose} no ({exc.reason})" if exc.reason.startswith("its consent ended") else
                         f"{purpose} no")
    lines.append(f"  allowed today: {'; '.join(today)}")
    return lines


def _cmd_consent_set(args: argparse.Namespace) -> int:
    import datetime as dt

    with _open_for(args) as project:  # type: ignore[attr-defined]
        case = project.case(args.case)
        current = project.consent(case)
        try:
            found = project.set_consent(
                case,
                purposes=args.purpose,
                viewers=args.viewer,
                until=None if args.open_ended else args.until,
                given_by=args.given_by or "",
                note=args.note or "",
                expected_version=current.version if current is not None else None,
            )
        except (ValueError, TypeError) as exc:  # an unknown purpose, a malformed date
            raise WorkbenchError(str(exc)) from exc
        what = "Replaced" if current is not None else "Recorded"
        _out(f"{what} the consent of case {case.pseudonym}.")
        for line in _consent_lines(project, case, shlex.quote(args.project)):
            _out(line)
    if found.until is not None and found.until < dt.date.today():
        _out(f"This consent ended on {found.until.isoformat()}: no export of the case is allowed, and "
             "'workbench retention' lists it for purging.")
    return 0


def _cmd_consent_show(args: argparse.Namespace) -> int:
    with _open_for(args) as project:  # type: ignore[attr-defined]
        cases = [project.case(args.case)] if args.case else project.cases()
        if not cases:
            _out("The project has no cases.")
        for case in cases:
            for line in _consent_lines(project, case, shlex.quote(args.project)):
                _out(line)
    return 0


def _cmd_consent_withdraw(args: argparse.Namespace) -> int:
    with _open_for(args) as project:  # type: ignore[attr-defined]
        case = project.case(args.case)
        if not args.yes and sys.stdin.isatty():
            answer = input(f"Withdraw the consent of case {case.pseudonym!r}: no export of it will be allowed? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                _out("Nothing was changed.")
                return 1
        old = project.withdraw_consent(case)
    _out(f"Withdrew the consent of case {case.pseudonym} (it allowed {', '.join(old.purposes)}): from now on every "
         "export of it is refused.")
    _out("Its films and everything derived from them are still in the project. A withdrawal of consent calls for "
         f"removing them: workbench purge {shlex.quote(args.project)} --case {shlex.quote(case.pseudonym)}")
    return 0


def _cmd_protect(args: argparse.Namespace) -> int:
    with _open_for(args) as project:  # type: ignore[attr-defined]
        if args.action == "list":
            words = project.protected_words()
            for word in words:
                _out(word)
            _out(f"{len(words)} term(s) on the protected word list (never exported).")
            return 0
        if not args.term:
            raise WorkbenchError(f"Expected a TERM to {args.action} (workbench protect {args.action} PROJECT "
                                 "TERM), but got none.")
        term = " ".join(args.term)
        if args.action == "add":
            before = len(project.protected_words())
            project.add_protected_word(term)
            added = len(project.protected_words()) > before
            _out("Added the term to the protected word list." if added else "The list holds the term already.")
        else:
            project.remove_protected_word(term)
            _out("Removed the term from the protected word list.")
    return 0


def _report_params(items: Sequence[str] | None) -> dict[str, object]:
    params: dict[str, object] = {}
    for item in items or []:
        key, equals, text = item.partition("=")
        if not (equals and key.strip()):
            raise WorkbenchError(f"Expected --param NAME=VALUE (e.g. duration_min=60), but got {item!r}.")
        try:
            params[key.strip()] = json.loads(text)
        except ValueError:
            params[key.strip()] = text  # a bare word is a string
    return params


def _cmd_report(args: argparse.Namespace) -> int:
    from workbench.report import build

    try:
        result = build(
            args.project,
            args.kind,
            case=args.case,
            session=args.session,
            to=args.to,
            out_dir=args.out,
            params=_report_params(args.param),
            blur_faces=args.blur_faces,
            author=args.author,
            generated_at=args.generated_at,
            redact=args.redact,
        )
    except (ValueError, TypeError) as exc:  # an unknown kind, format or parameter
        raise WorkbenchError(str(exc)) from exc
    for fmt, path in result.files.items():
        _out(f"Wrote {path} ({path.stat().st_size / 1e3:.0f} kB, {fmt}).")
    _say_redacted(result.redacted)
    for what in result.info.get("missing", []):
        _out(f"Missing from the report: {what}.")
    for left in result.info.get("left_out", []):
        _out(f"Left out of the report: case {left['case']}, {left['reason']} (see: workbench consent show "
             f"{shlex.quote(args.project)} {shlex.quote(left['case'])}).")
    _out(f"Built the {result.kind} report in {result.seconds.get('total', 0):.1f} s.")
    return 0


def _cmd_pack(args: argparse.Namespace) -> int:
    from workbench.report import build_pack

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    cases = [c.strip() for c in args.case.split(",") if c.strip()] if args.case else None
    try:
        result = build_pack(
            args.project,
            args.trainee,
            args.out,
            kinds=kinds,
            to=args.to,
            cases=cases,
            reports=args.report or None,
            supervisor=args.supervisor,
            blur_faces=not args.no_blur,
            requirements=args.requirements,
            redact=args.redact,
        )
    except (ValueError, TypeError) as exc:
        raise WorkbenchError(str(exc)) from exc
    _say_redacted(result.redacted)
    m = result.manifest
    _out(f"Wrote {result.path} ({len(m['files'])} files, {result.path.stat().st_size / 1e6:.1f} MB) in "
         f"{result.seconds:.1f} s.")
    for req in m["requirements"]:
        mark = "met" if req["met"] else "not yet"
        _out(f"  {req['label']}: {req['achieved']:g} of {req['target']:g} {req['unit']} ({mark})")
    return 0


# -- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="VIG Workbench: review, code, supervise, analyse and report Video Interaction Guidance work.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "demo",
        help="build the demo project and open it in JupyterLab",
        description="Build a demo project (generated films, three made-up cases, coding by a "
        "trainee and a supervisor, moments, stills, goals, measures) and open JupyterLab on "
        "notebooks/review.ipynb with it.",
    )
    p.add_argument("dir", nargs="?", default="demo-project", help="folder of the demo project (default: %(default)s)")
    p.add_argument("--no-browser", action="store_true", help="build, print what was built and exit (headless machines)")
    p.add_argument("--force", action="store_true", help="rebuild even if the folder already holds the demo")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "init",
        help="create a new, empty project",
        description="Create a project folder with its database (SQLite) and media/ and stills/ folders, and say "
        "how to add a case and a film to it.",
    )
    p.add_argument("project", help="folder (or database URL) of the new project")
    p.add_argument("--scheme", help="a coding scheme file (YAML or JSON); default: the VIG principles")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser(
        "info",
        help="summarise a project",
        description="List the cases of a project, each session (id, kind, date, cycle, label: what 'workbench "
        "report --session' takes) with its recordings (id, label, length, who coded how much).",
    )
    p.add_argument("project", help="project folder or database URL")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser(
        "lab",
        help="open JupyterLab on a project's review notebook",
        description="Open JupyterLab on notebooks/review.ipynb with WORKBENCH_PROJECT set.",
    )
    p.add_argument("project", help="project folder")
    p.add_argument("--no-browser", action="store_true", help="start the server without opening a browser")
    p.set_defaults(func=_cmd_lab)

    p = sub.add_parser(
        "voila",
        help="serve a project's review notebook as an app (Voila)",
        description="Serve notebooks/review.ipynb for PROJECT as a Voila app: code hidden, widgets live. Runs "
        "Voila as a Jupyter server extension beside the workbench's media route.",
    )
    p.add_argument("project", help="project folder")
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default: %(default)s)")
    p.add_argument("--no-browser", action="store_true", help="start the server without opening a browser")
    p.set_defaults(func=_cmd_voila)

    p = sub.add_parser(
        "probe",
        help="show what a video file holds",
        description="Probe a video: codec, size, rotation, duration, frame count from the container's packets, sha256.",
    )
    p.add_argument("video")
    p.set_defaults(func=_cmd_probe)

    p = sub.add_parser(
        "scheme",
        help="show a coding scheme with its shortcut keys",
        description="Print the default coding scheme (or a scheme file, validated).",
    )
    p.add_argument("--file", help="a scheme file (YAML or JSON) to validate and show")
    p.set_defaults(func=_cmd_scheme)

    p = sub.add_parser(
        "import",
        help="import annotations (ELAN .eaf, CSV, TSV) into a recording",
        description="Import annotations into a recording, all or nothing. ELAN: each tier's rows go to the "
        "actor named after its root tier (vcm@CHI -> CHI). A second import of rows the recording already has "
        "for the same coder is refused and changes nothing; --replace or --append say what to do instead.",
    )
    p.add_argument("project")
    p.add_argument("file")
    p.add_argument("--recording", required=True, type=int, help="recording id (see 'workbench info')")
    p.add_argument("--coder", help="coder name to give every imported row (default: the file's, else yours)")
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--replace",
        action="store_true",
        help="replace the recording's annotations by the same coder(s) with the file's, in one transaction",
    )
    again.add_argument("--append", action="store_true", help="add the rows even if the recording has them already")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser(
        "export",
        help="export a recording's annotations (ELAN .eaf, CSV, TSV, SDIS)",
        description="Export a recording's annotations; the format follows the file extension "
        "(.eaf, .csv, .tsv, .sds for GSEQ). In CSV/TSV, text that a spreadsheet would run as a formula "
        "(starting with =, +, -, @) is written with a single quote in front, unless --raw.",
    )
    p.add_argument("project")
    p.add_argument("--recording", required=True, help="recording id")
    p.add_argument("--coder", help="only this coder's annotations")
    p.add_argument("--out", required=True, help="output file")
    p.add_argument(
        "--raw",
        action="store_true",
        help="CSV/TSV: write text exactly as stored, formulas included (for pandas or R, never a spreadsheet)",
    )
    p.add_argument("--redact", action="store_true",
                   help="replace protected names, words and paths in notes and labels by placeholders instead of "
                   "refusing")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "batch",
        help="probe, thumbnails, motion energy and analyses over every recording, on Dask",
        description="Run batch tasks over every recording of a project on Dask (a local cluster of 2 worker "
        "processes by default) and store the results in PROJECT/results/. Reruns skip what is stored (keyed "
        "by each video's sha256 and the parameters). Tasks: probe, thumbnails, motion_energy, contingency, "
        "sequential. Exit status 1 when some jobs failed (each is listed).",
    )
    p.add_argument("project", help="project folder")
    p.add_argument(
        "--tasks",
        nargs="+",
        metavar="TASK",
        help="tasks to run (default: probe thumbnails motion_energy contingency)",
    )
    p.add_argument(
        "--scheduler",
        help="a Dask scheduler address (tcp://host:8786), or 'sync' to run here; default: a local cluster",
    )
    p.add_argument(
        "--param",
        action="append",
        metavar="TASK.NAME=VALUE",
        help="a task parameter, e.g. thumbnails.count=10 (JSON values)",
    )
    p.add_argument("--force", action="store_true", help="recompute results that are already stored")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser(
        "backup",
        help="copy a project consistently while it is in use",
        description="Copy PROJECT into the new folder OUT: the database (SQLite online backup, or pg_dump on a "
        "snapshot for PostgreSQL), the media and stills it refers to, and a manifest of checksums.",
    )
    p.add_argument("project", help="project folder or database URL")
    p.add_argument("out", help="a new folder for the backup")
    p.add_argument("--folder", help="PostgreSQL: the project's folder of media and stills")
    p.set_defaults(func=_cmd_backup)

    p = sub.add_parser(
        "restore",
        help="bring a backup back",
        description="Restore BACKUP (made by 'workbench backup') into TARGET: a project folder for SQLite "
        "backups, a database URL for PostgreSQL ones. Checksums are checked before anything is touched.",
    )
    p.add_argument("backup", help="the backup folder")
    p.add_argument("target", help="project folder (SQLite) or database URL (PostgreSQL)")
    p.add_argument("--folder", help="PostgreSQL: the folder for the backup's media and stills")
    p.add_argument("--force", action="store_true", help="replace a project already at TARGET")
    p.set_defaults(func=_cmd_restore)

    p = sub.add_parser(
        "purge",
        help="remove a case completely and verify it",
        description="Remove case C's rows, recordings, stills, thumbnails, clips, caches, batch results and "
        "reports (reports across cases that include it too); make the database forget the deleted bytes; then "
        "scan the database and the project folder for anything left and list the backups that still hold the "
        "case. An interrupted purge is finished first (also without --case). Exit status 1 if traces were found, "
        "2 on an error (e.g. another program kept reading the database for --wait seconds: close it, run again).",
    )
    p.add_argument("project", help="project folder or database URL")
    p.add_argument("--case", help="the case's pseudonym or id (without it: finish interrupted purges)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--purge-backups", action="store_true", help="also purge the case inside SQLite backups")
    p.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for other programs to stop reading the database (default: %(default)s)",
    )
    p.add_argument("--folder", help="PostgreSQL: the project's folder of media and stills")
    p.set_defaults(func=_cmd_purge)

    p = sub.add_parser(
        "retention",
        help="list cases past their retention date",
        description="List the cases whose consent's retention date has passed, and those without a consent record.",
    )
    p.add_argument("project", help="project folder or database URL")
    p.add_argument("--today", help="judge as of this date (YYYY-MM-DD)")
    p.add_argument("--folder", help="PostgreSQL: the project's folder of media and stills")
    p.set_defaults(func=_cmd_retention)
    _consent_parser(sub)

    p = sub.add_parser(
        "report",
        help="build a report (micro-analysis, supervision, VERP, research) as HTML and/or PDF",
        description="Execute a report notebook template from notebooks/ with these parameters and export it "
        "(cover, contents, no code) as offline HTML and/or PDF into PROJECT/reports/case-<id>/ (research: "
        "PROJECT/reports/). The export refuses to "
        "write if it finds a protected real name, a term of the protected word list or a file path "
        "(--redact: replaces them by placeholders).",
    )
    p.add_argument("project", help="project folder or database URL")
    p.add_argument("--kind", required=True, help="micro-analysis, supervision, verp or research")
    p.add_argument("--case", help="case pseudonym (research: comma-separated, default all)")
    p.add_argument("--session", help="session id, label or date (see 'workbench info'); a supervision report "
                   "without it uses the case's only supervision session")
    p.add_argument("--to", default="html", help="html, pdf or html,pdf (default: %(default)s)")
    p.add_argument("--out", help="output folder (default: PROJECT/reports)")
    p.add_argument("--author", help="author named on the cover")
    p.add_argument("--blur-faces", action="store_true", help="blur faces in stills")
    p.add_argument("--generated-at", metavar="ISO_TIME",
                   help="the generation time to state (default: now); the same data and time give the same files")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="another notebook parameter, e.g. duration_min=60 or trainee=anna (repeatable)")
    p.add_argument("--redact", action="store_true",
                   help="replace protected names, words and paths by placeholders ([child], [name], [path], ...) "
                   "instead of refusing")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "pack",
        help="bundle a trainee's reports and stills into an accreditation pack (zip with manifest)",
        description="Build the trainee's supervision and micro-analysis reports (faces blurred), add their "
        "stills and a manifest.json (sha256 of every file, versions, generation time, progress against "
        "the requirement list) into one zip.",
    )
    p.add_argument("project", help="project folder or database URL")
    p.add_argument("--trainee", required=True, help="the trainee (coder name and the cases' guider)")
    p.add_argument("--out", required=True, help="the zip to write")
    p.add_argument("--kinds", default="supervision,micro-analysis",
                   help="report kinds per case (default: %(default)s)")
    p.add_argument("--to", default="html,pdf", help="formats of the reports (default: %(default)s)")
    p.add_argument("--case", help="only these cases (comma-separated pseudonyms)")
    p.add_argument("--supervisor", default="supervisor", help="the supervisor's coder name (default: %(default)s)")
    p.add_argument("--requirements", help="requirement list (YAML or JSON); default: the shipped example")
    p.add_argument("--report", action="append", metavar="FILE",
                   help="pack this already built report instead of building (repeatable)")
    p.add_argument("--no-blur", action="store_true", help="do not blur faces (not recommended)")
    p.add_argument("--redact", action="store_true",
                   help="replace protected names, words and paths by placeholders instead of refusing (not in a "
                   "PDF given with --report)")
    p.set_defaults(func=_cmd_pack)

    p = sub.add_parser(
        "protect",
        help="the project's 'never export' word list (a school's name, a street)",
        description="Add, list or remove terms of the project's protected word list. Every export (reports, "
        "packs, exports of annotations) is refused if it holds one of them (or a protected real name or a "
        "path), or with --redact shows [withheld] instead. Real names are protected fields of cases and "
        "participants (Project.add_case / add_participant(real_name=...)).",
    )
    p.add_argument("action", choices=("add", "list", "remove"))
    p.add_argument("project", help="project folder or database URL")
    p.add_argument("term", nargs="*", help="the term (add, remove)")
    p.add_argument("--folder", help="PostgreSQL: the project's folder of media and stills")
    p.set_defaults(func=_cmd_protect)
    return parser


def _consent_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from workbench.model import CONSENT_PURPOSES

    purposes = "; ".join(f"'{k}': {v}" for k, v in CONSENT_PURPOSES.items())
    p = sub.add_parser(
        "consent",
        help="record, show or withdraw a case's consent (what each export needs)",
        description="A case's consent says who may see its films, for which purposes, until when. Every export "
        "checks it before it writes anything: reports need 'supervision' (research: 'research', else the case is "
        "left out), accreditation packs 'accreditation', films and handouts 'shared review' or 'training'.",
    )
    consent = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    q = consent.add_parser(
        "set",
        help="record (or replace) a case's consent",
        description="Record the consent the family gave for case CASE, replacing any record it had (give every "
        f"purpose and viewer it covers). Purposes: {purposes}.",
    )
    q.add_argument("project", help="project folder or database URL")
    q.add_argument("case", help="the case's pseudonym or id")
    q.add_argument("--purpose", action="append", required=True, metavar="PURPOSE",
                   help="a use the family consented to (repeatable): " + ", ".join(CONSENT_PURPOSES))
    q.add_argument("--viewer", action="append", required=True, metavar="ROLE",
                   help="who may see the films, a role such as guider, supervisor, assessor (repeatable)")
    until = q.add_mutually_exclusive_group(required=True)
    until.add_argument("--until", metavar="YYYY-MM-DD", help="the retention date: consent ends after this day")
    until.add_argument("--open-ended", action="store_true", help="until the family withdraws it")
    q.add_argument("--given-by", metavar="ROLE", help="who gave consent: a role (parent, carer), never a name")
    q.add_argument("--note", help="a note (e.g. when and how consent was given)")
    q.add_argument("--folder", help="PostgreSQL: the project's folder of media and stills")
    q.set_defaults(func=_cmd_consent_set)

    q = consent.add_parser(
        "show",
        help="show the consent of one case or of every case",
        description="Show each case's consent record (purposes, who may see, until when, who gave it) and which "
        "exports it allows today.",
    )
    q.add_argument("project", help="project folder or database URL")
    q.add_argument("case", nargs="?", help="the case's pseudonym or id (default: every case)")
    q.add_argument("--folder", help="PostgreSQL: the project's folder of media and stills")
    q.set_defaults(func=_cmd_consent_show)

    q = consent.add_parser(
        "withdraw",
        help="withdraw a case's consent (then purge the case)",
        description="Remove case CASE's consent record: from then on every export of it is refused. The films "
        "and everything derived from them stay until the case is purged ('workbench purge'), which a withdrawal "
        "calls for. To withdraw only some purposes, record the consent again without them ('consent set').",
    )
    q.add_argument("project", help="project folder or database URL")
    q.add_argument("case", help="the case's pseudonym or id")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.add_argument("--folder", help="PostgreSQL: the project's folder of media and stills")
    q.set_defaults(func=_cmd_consent_withdraw)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except WorkbenchError as exc:
        sys.stderr.write(f"workbench {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130

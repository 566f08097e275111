"""The command line: ``workbench SUBCOMMAND ...`` (also ``python -m workbench``).

Each subcommand has its own ``--help``. Errors about files, projects or rows
are printed as one clear message (exit status 2), never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from workbench import __version__
from workbench.errors import WorkbenchError

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
    from workbench.scheme import load_scheme
    from workbench.store import open_project

    scheme = load_scheme(args.scheme) if args.scheme else None
    with open_project(args.project, create=True, scheme=scheme) as project:
        _out(f"Created project {args.project} (scheme {project.scheme.id} v{project.scheme.version}).")
    return 0


def _summary(project_path: str) -> list[str]:
    from workbench.store import open_project

    lines = []
    with open_project(project_path) as project:
        cases = project.cases()
        lines.append(f"project  {project_path}")
        lines.append(f"scheme   {project.scheme.id} v{project.scheme.version} ({len(project.scheme)} codes)")
        for case in cases:
            sessions = project.sessions(case)
            recs = project.recordings(case=case)
            lines.append(f"case     {case.pseudonym}: {len(sessions)} sessions, {len(recs)} recordings")
            for rec in recs:
                table = project.annotations(rec)
                coders = ", ".join(f"{c} {len(table.filter(coder=c))}" for c in table.coders)
                lines.append(
                    f"  recording {rec.id} {rec.label!r}: {rec.duration_ms / 1000:.1f} s, "
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
    if args.no_browser:
        _out(f"Open it with: WORKBENCH_PROJECT={folder} jupyter lab {notebooks_dir() / 'review.ipynb'}")
        return 0
    return _open_lab(folder, no_browser=False)


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
    ]
    if args.no_browser:
        cmd.append("--no-browser")
    _out(f"Serving {nb / 'review.ipynb'} as an app with Voila (WORKBENCH_PROJECT={args.project})")
    return subprocess.call(cmd, env=env)


def _cmd_lab(args: argparse.Namespace) -> int:
    return _open_lab(Path(args.project), no_browser=args.no_browser)


def _cmd_probe(args: argparse.Namespace) -> int:
    from workbench.media import probe

    info = probe(args.video)
    _out(f"file        {Path(args.video).name}")
    _out(f"codec       {info.codec}  {info.width}x{info.height}  rotation {info.rotation}")
    _out(f"duration    {info.duration_ms} ms, {info.frame_count} frames, {info.fps:.3f} fps nominal")
    _out(f"audio       {info.audio_codec if info.has_audio else 'none'}")
    _out(f"sha256      {info.sha256}")
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
        return io.read_eaf(path)
    if suffix in (".csv", ".tsv", ".txt"):
        return io.read_table(path, scheme=scheme)
    raise WorkbenchError(f"Expected a .eaf, .csv or .tsv file, but got {path.name!r}.")


def _cmd_import(args: argparse.Namespace) -> int:
    from workbench.store import open_project

    with open_project(args.project) as project:
        table = _read_any(Path(args.file), project.scheme)
        if args.coder:
            table = type(table)(table.to_dataframe().assign(coder=args.coder))  # type: ignore[attr-defined]
        ids = project.add_annotations(int(args.recording), table)  # type: ignore[arg-type]
    _out(f"Imported {len(ids)} annotations from {Path(args.file).name} into recording {args.recording}.")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from workbench import io
    from workbench.store import open_project

    out = Path(args.out)
    with open_project(args.project) as project:
        table = project.annotations(int(args.recording), coder=args.coder)
    suffix = out.suffix.lower()
    if suffix == ".eaf":
        io.write_eaf(table, out)
    elif suffix in (".csv", ".tsv"):
        io.write_table(table, out)
    elif suffix in (".sds", ".sdis"):
        io.write_sdis({f"recording{args.recording}": table}, out)
    else:
        raise WorkbenchError(f"Expected an output ending in .eaf, .csv, .tsv or .sds, but got {out.name!r}.")
    _out(f"Wrote {len(table)} annotations to {out}.")
    return 0


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
        description="Create a project folder with its database (SQLite) and media/ and stills/ folders.",
    )
    p.add_argument("project", help="folder (or database URL) of the new project")
    p.add_argument("--scheme", help="a coding scheme file (YAML or JSON); default: the VIG principles")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser(
        "info",
        help="summarise a project",
        description="List cases, sessions, recordings and what is coded in a project.",
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
        description="Import annotations into a recording, all or nothing.",
    )
    p.add_argument("project")
    p.add_argument("file")
    p.add_argument("--recording", required=True, help="recording id (see 'workbench info')")
    p.add_argument("--coder", help="coder name to give every imported row")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser(
        "export",
        help="export a recording's annotations (ELAN .eaf, CSV, TSV, SDIS)",
        description="Export a recording's annotations; the format follows the file extension "
        "(.eaf, .csv, .tsv, .sds for GSEQ).",
    )
    p.add_argument("project")
    p.add_argument("--recording", required=True, help="recording id")
    p.add_argument("--coder", help="only this coder's annotations")
    p.add_argument("--out", required=True, help="output file")
    p.set_defaults(func=_cmd_export)

    return parser


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

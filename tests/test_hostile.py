"""Hostile and absurd input: compressed bombs, absurd values, spreadsheet formulas (issue 12).

Bombs are generated here, never committed: a gzip "bomb" is one gzip member of 64 MiB of zeros
(64 KiB compressed) repeated, which gzip readers decompress as one stream (48 members: a 3 MB file
that unpacks to 3 GiB); a zip bomb is one member of 576 MiB of zeros. Peak memory is measured in a
fresh process (``ru_maxrss`` of its child, see :func:`_peak`), so other tests do not count.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
import zipfile
from functools import cache
from pathlib import Path

import pytest

from workbench.errors import FormatError

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


def zip_bomb(path: Path, member: str = "project.otx", unpacked: int = 576 * MiB) -> Path:
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


def test_a_gzip_bomb_named_boris_is_refused_at_the_limit(tmp_path: Path) -> None:
    """BORIS writes .boris.gz, so gzip is read, but only up to 512 MiB unpacked, chunk by chunk."""
    bomb = gzip_bomb(tmp_path / "project.boris")
    done, peak = _read_in_child("read_boris", bomb)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert str(bomb) in done.stderr and "decompresses to more than 512 MiB" in done.stderr
    assert "WORKBENCH_MAX_INPUT_BYTES" in done.stderr
    assert peak < PEAK_LIMIT_MIB, f"peak {peak:.0f} MiB"


def test_a_zip_bomb_named_otb_is_refused(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "export.otb")
    done, peak = _read_in_child("read_otx", bomb)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert str(bomb) in done.stderr and "'project.otx', which unzips to 603,979,776 bytes" in done.stderr
    assert peak < PEAK_LIMIT_MIB, f"peak {peak:.0f} MiB"


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
    with pytest.raises(ValueError, match="WORKBENCH_MAX_INPUT_BYTES to be a number of bytes"):
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

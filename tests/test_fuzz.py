"""Fuzzing every reader with Hypothesis: only the workbench's own errors may escape, naming the file.

Readers: ELAN ``.eaf``, BORIS ``.boris``, Observer XT ``.otx``, CSV/TSV, coding-scheme files
(YAML/JSON), MEA text files (:func:`workbench.analysis.synchrony.read_mea`) and videos
(:func:`workbench.media.probe`, :func:`~workbench.media.read_frame`, and
:meth:`Project.add_recording`). Inputs are real files from other tools (``tests/data``) and
files the workbench writes, mutated byte by byte (truncated, bytes flipped, inserted, deleted,
spans repeated, numbers replaced by absurd ones) and structurally (XML elements and attributes,
JSON values), plus tables and videos generated from scratch (absurd frame rates, negative and
huge timestamps, text named ``.mp4``, zero bytes, wrong extensions).

Every call must either succeed or raise a :class:`~workbench.errors.WorkbenchError` whose message
names the file and says what was expected; no reader may write anything, and a failed
``add_recording`` leaves no row and no file. The number of inputs tried per reader is printed at
the end of the module (``[fuzz counts] {...}``).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import shutil
import sys
import tempfile
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from workbench import AnnotationTable
from workbench.errors import WorkbenchError
from workbench.scheme import default_scheme, load_scheme

COUNTS: Counter[str] = Counter()
OUTCOMES: dict[str, Counter[str]] = defaultdict(Counter)
FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same inputs on every run (and in CI)
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

WEIRD_NUMBERS = [
    "-1", "³", "9" * 400, "NaN", "①", "-999999999999", "1e308", "⁴⁵", "99999999999999999999999999", "inf",
    "9223372036854775808", "-0", "0", "-1e308", "1e-9", "nan", "-Infinity", "0x1F", "1_000", "1.5", "1,5", "", " ",
    "²", "١٢٣", "½", "1e", "--5", "+7", "\u00a0", "∞", "null", "true", "𝟙𝟚",
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _print_counts() -> Iterator[None]:
    yield
    if COUNTS:
        sys.__stdout__.write(f"\n[fuzz counts] {json.dumps(dict(sorted(COUNTS.items())))}\n")
        sys.__stdout__.write(f"[fuzz outcomes] {json.dumps({k: dict(v) for k, v in sorted(OUTCOMES.items())})}\n")


# -- mutations ------------------------------------------------------------------------------------


def byte_mutations(draw: st.DataObject | Any, seed: bytes) -> bytes:
    """``seed`` with 1-4 random edits: truncation, flips, insertions, deletions, repeats, weird numbers.

    ``draw`` is Hypothesis's ``data`` (helpers draw from it directly, so that reports do not
    repeat the whole seed file).
    """
    draw = draw.draw
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "repeat", "number", "number"]))
        n = len(data)
        at = draw(st.integers(0, max(n - 1, 0)))
        if op == "truncate":
            del data[at:]
        elif op == "flip" and n:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "repeat":
            span = bytes(data[at : at + draw(st.integers(1, 256))])
            data[at:at] = span * draw(st.integers(1, 3))
        else:
            spans = [m.span() for m in re.finditer(rb"-?\d+(?:\.\d+)?", bytes(data))]
            if spans:
                a, b = spans[draw(st.integers(0, len(spans) - 1))]
                data[a:b] = draw(st.sampled_from(WEIRD_NUMBERS)).encode("utf-8")
    return bytes(data)


def xml_mutations(draw: st.DataObject | Any, seed: bytes) -> bytes:
    """``seed`` (XML) with 1-3 structural edits: elements removed or repeated, attributes removed or
    given absurd values, references pointed at missing or cyclic targets."""
    draw = draw.draw
    root = etree.fromstring(seed, etree.XMLParser(huge_tree=True))
    elements = list(root.iter())
    for _ in range(draw(st.integers(1, 3))):
        el = elements[draw(st.integers(0, len(elements) - 1))]
        op = draw(st.sampled_from(["drop", "dup", "attr", "unset", "text", "ref", "number", "number"]))
        parent = el.getparent()
        if op == "number":  # an attribute holding a number gets an absurd one
            numeric = [(e, k) for e in elements for k, v in e.attrib.items() if re.fullmatch(r"-?\d+", v)]
            if numeric:
                e, k = numeric[draw(st.integers(0, len(numeric) - 1))]
                e.attrib[k] = draw(st.sampled_from(WEIRD_NUMBERS))
        elif op == "drop" and parent is not None:
            parent.remove(el)
        elif op == "dup" and parent is not None:
            parent.insert(parent.index(el), etree.fromstring(etree.tostring(el)))
        elif op in ("attr", "unset", "ref") and el.attrib:
            key = draw(st.sampled_from(sorted(el.attrib)))
            if op == "unset":
                del el.attrib[key]
            elif op == "ref":  # point a reference at another element's id (self, parent, unknown)
                ids = [v for e in elements for k, v in e.attrib.items() if k.endswith("_ID")] + ["nowhere"]
                el.attrib[key] = draw(st.sampled_from(ids))
            else:
                el.attrib[key] = draw(st.sampled_from(WEIRD_NUMBERS) | xml_text)
        elif op == "text":
            el.text = draw(st.sampled_from(WEIRD_NUMBERS) | xml_text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


xml_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Co"]), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | st.sampled_from(WEIRD_NUMBERS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)


def _containers(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _containers(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _containers(v, out)
    return out


def json_mutations(draw: st.DataObject | Any, seed: Any) -> Any:
    """A deep copy of ``seed`` with 1-4 values replaced by random JSON values, or deleted."""
    draw = draw.draw
    data = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 4))):
        slots = _containers(data, [])
        if not slots:
            break
        op = draw(st.sampled_from(["delete", "replace", "replace", "rename", "rename index"]))
        if op == "rename index":  # keys like "0", "1" of BORIS's indexed objects get absurd numbers
            slots = [(p, k) for p, k in slots if isinstance(k, str) and k.isdigit()] or slots
            parent, key = slots[draw(st.integers(0, len(slots) - 1))]
            if isinstance(parent, dict):
                parent[draw(st.sampled_from(WEIRD_NUMBERS))] = parent.pop(key)
            continue
        parent, key = slots[draw(st.integers(0, len(slots) - 1))]
        if op == "delete" and isinstance(parent, dict):
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):  # BORIS indexes objects by "0", "1", ...
            parent[draw(st.sampled_from(WEIRD_NUMBERS) | st.text(max_size=6))] = parent.pop(key)
        else:
            parent[key] = draw(json_values)
    return data


# -- the check ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="wb-fuzz-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_reader(name: str, read: Callable[[Path], Any], path: Path) -> Any:
    """Call ``read(path)``: it returns, or raises a WorkbenchError naming the file and what was expected.

    Nothing may be written beside the file. Warnings are allowed (they are how readers flag
    fixable problems).
    """
    COUNTS[name] += 1
    before = sorted(path.parent.iterdir())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = read(path)
        OUTCOMES[name]["read"] += 1
        return result
    except WorkbenchError as exc:
        OUTCOMES[name]["refused"] += 1
        text = str(exc)
        assert path.name in text, f"{name}: the message does not name the file: {text[:300]}"
        assert "xpected" in text, f"{name}: the message does not say what was expected: {text[:300]}"
        return None
    finally:
        assert sorted(path.parent.iterdir()) == before, f"{name} wrote files beside its input"


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# -- seeds ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eaf_seeds(tmp_path_factory: pytest.TempPathFactory, real_data: Path) -> list[bytes]:
    """An EAF written by the workbench (states, points, two coders) and ChildProject's real EAF."""
    from workbench.io import write_eaf

    table = AnnotationTable(
        [
            {"actor": "child", "code": "waiting", "onset_ms": 0, "offset_ms": 400, "coder": "a"},
            {"actor": "child", "code": "initiative-verbal", "onset_ms": 500, "coder": "a"},
            {"actor": "parent", "code": "receiving-words", "onset_ms": 600, "offset_ms": 900, "coder": "b"},
            {"actor": "parent", "code": "receiving-words", "onset_ms": 700, "offset_ms": 1200, "coder": "b"},
        ],
        scheme=default_scheme(),
    )
    small = write_eaf(table, tmp_path_factory.mktemp("eaf") / "small.eaf").read_bytes()
    return [small, (real_data / "ELAN" / "childproject_example.eaf").read_bytes()]


def test_fuzz_eaf(eaf_seeds: list[bytes]) -> None:
    from workbench.io import read_eaf

    @settings(FUZZ, max_examples=200)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        seed = eaf_seeds[data.draw(st.sampled_from([0, 0, 0, 1]))]
        structural = data.draw(st.booleans())
        raw = xml_mutations(data, seed) if structural else byte_mutations(data, seed)
        if data.draw(st.integers(0, 9)) == 0:
            raw = gzip.compress(raw)
        with _scratch() as folder:
            check_reader("eaf", read_eaf, _write(folder, "coding.eaf", raw))

    run()


def test_fuzz_boris(real_data: Path) -> None:
    from workbench.io import read_boris

    seeds = [json.loads((real_data / "BORIS" / n).read_text(encoding="utf-8")) for n in ("test.boris", "test2.boris")]
    raw_seed = (real_data / "BORIS" / "test_with_leading_trailing_spaces_in_modifiers.boris").read_bytes()

    @settings(FUZZ, max_examples=150)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        if data.draw(st.integers(0, 3)) == 0:
            raw = byte_mutations(data, raw_seed)
        else:
            mutated = json_mutations(data, seeds[data.draw(st.integers(0, 1))])
            raw = json.dumps(mutated).encode("utf-8")
        unpaired = data.draw(st.sampled_from(["error", "skip"]))
        with _scratch() as folder:
            check_reader("boris", lambda p: read_boris(p, unpaired=unpaired), _write(folder, "project.boris", raw))

    run()


def test_fuzz_otx(real_data: Path) -> None:
    from workbench.io import read_otx

    seed = (real_data / "ObserverXT" / "otx_parser_test.otx").read_bytes()

    @settings(FUZZ, max_examples=60)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        raw = xml_mutations(data, seed) if data.draw(st.booleans()) else byte_mutations(data, seed)
        with _scratch() as folder:
            check_reader("otx", read_otx, _write(folder, "export.otx", raw))

    run()


_COLUMNS = ["actor", "code", "onset_ms", "offset_ms", "onset_s", "offset_s", "coder", "note", "id", "recording_id"]
cells = (
    st.sampled_from(WEIRD_NUMBERS)
    | st.sampled_from(["child", "waiting", "100", "1.25", "x,y", '"q"', "a\nb"])
    | st.text(max_size=8)
)


def test_fuzz_csv_tsv(real_data: Path) -> None:
    from workbench.io import read_table

    seeds = [(real_data / "BORIS" / n).read_bytes() for n in ("test_export_events_tabular.csv",)]
    seeds.append(b"actor,code,onset_ms,offset_ms,note\nchild,waiting,100,200,a\nparent,receiving-words,300,,b\n")

    @settings(FUZZ, max_examples=250)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        suffix = data.draw(st.sampled_from([".csv", ".tsv", ".tab"]))  # the extension names the format
        shape = data.draw(st.sampled_from(["free", "columns", "bytes"]))
        if shape == "columns":  # the required columns, rows of the right width, absurd cells
            header = ["actor", "code", data.draw(st.sampled_from(["onset_ms", "onset_s"]))]
            header += data.draw(st.lists(st.sampled_from(_COLUMNS[3:]), unique=True, max_size=4))
            rows = data.draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=5))
            sep = "\t" if suffix != ".csv" else ","
            raw = "\n".join(sep.join(c.replace(sep, " ") for c in r) for r in [header, *rows]).encode("utf-8")
        elif shape == "free":
            header = data.draw(st.lists(st.sampled_from([*_COLUMNS, "extra", ""]), min_size=0, max_size=7))
            rows = data.draw(st.lists(st.lists(cells, min_size=0, max_size=8), max_size=6))
            sep = "\t" if suffix == ".tsv" else ","
            text = "\n".join(sep.join(r) for r in [header, *rows])
            raw = text.encode("utf-8") if data.draw(st.integers(0, 5)) else text.encode("utf-16")
        else:
            raw = byte_mutations(data, seeds[data.draw(st.integers(0, len(seeds) - 1))])
        scheme = default_scheme() if data.draw(st.booleans()) else None
        with _scratch() as folder:
            check_reader("csv/tsv", lambda p: read_table(p, scheme=scheme), _write(folder, f"coding{suffix}", raw))

    run()


def test_fuzz_scheme_files() -> None:
    seed = default_scheme().to_dict()
    seed_yaml = yaml.safe_dump(seed, sort_keys=False).encode("utf-8")

    @settings(FUZZ, max_examples=150)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(["yaml", "json", "bytes"]))
        if kind == "bytes":
            raw, suffix = byte_mutations(data, seed_yaml), ".yaml"
        else:
            mutated = json_mutations(data, seed)
            suffix = f".{kind}"
            raw = (json.dumps(mutated) if kind == "json" else yaml.safe_dump(mutated)).encode("utf-8")
        with _scratch() as folder:
            check_reader("scheme", load_scheme, _write(folder, f"scheme{suffix}", raw))

    run()


def test_fuzz_mea(real_data: Path) -> None:
    from workbench.analysis.synchrony import read_mea

    lines = (real_data / "rMEA" / "normal" / "200_01.txt").read_bytes().splitlines(keepends=True)
    seed = b"".join(lines[:120])

    @settings(FUZZ, max_examples=120)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        raw = byte_mutations(data, seed)
        name = data.draw(st.sampled_from(["200_01.txt", "200_01.csv", "dyad.txt", "7_x_y.txt"]))
        with _scratch() as folder:
            check_reader("mea", lambda p: read_mea(p, 25, ("patient", "therapist")), _write(folder, name, raw))

    run()


# -- videos ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def video_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small films: H.264 MP4 with audio (0.5 s), VP8 WebM (0.5 s), MPEG-4 Part 2 in Matroska (0.3 s)."""
    from workbench.media.synth import write_numbered_video

    folder = tmp_path_factory.mktemp("fuzz-videos")
    out = {}
    for name, codec, audio, seconds in (
        ("a.mp4", "h264", True, 0.5),
        ("b.webm", "vp8", False, 0.5),
        ("c.mkv", "mpeg4", False, 0.3),
    ):
        path = write_numbered_video(folder / name, seconds=seconds, fps=25, size=(64, 48), codec=codec, audio=audio)
        out[name] = Path(path).read_bytes()
    return out


def _read_video(path: Path) -> Any:
    """What the workbench reads from a video: probe it, then decode the frame at its middle and end."""
    from workbench.media import probe, read_frame

    info = probe(path)
    times = np.asarray(info.frame_times_ms)
    assert info.frame_count == times.size > 0 and times.dtype == np.int64
    assert (np.diff(times) >= 0).all() and times[0] >= 0, "frame times must start at 0 or later and never go back"
    assert info.duration_ms >= times[-1] and np.isfinite(info.fps) and info.fps > 0
    for t in (int(times[times.size // 2]), int(info.duration_ms)):
        image = read_frame(path, t, info)
        assert image.ndim == 3 and image.shape[2] == 3
    return info


def test_fuzz_damaged_videos(video_seeds: dict[str, bytes]) -> None:
    names = sorted(video_seeds)

    @settings(FUZZ, max_examples=200)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        source = data.draw(st.sampled_from(names))
        kind = data.draw(st.sampled_from(["truncate", "mutate", "mutate", "rename", "zero", "text", "garbage"]))
        seed = video_seeds[source]
        suffix = Path(source).suffix
        if kind == "truncate":
            raw = seed[: data.draw(st.integers(0, len(seed) - 1))]
        elif kind == "mutate":
            raw = byte_mutations(data, seed)
        elif kind == "rename":  # a good film with the wrong extension
            raw, suffix = seed, data.draw(st.sampled_from([".mp4", ".avi", ".mov", ".txt", ".webm", ""]))
        elif kind == "zero":
            raw = b""
        elif kind == "text":
            raw, suffix = data.draw(st.text(min_size=1, max_size=300)).encode("utf-8"), ".mp4"
        else:
            raw = data.draw(st.binary(min_size=1, max_size=2048))
        with _scratch() as folder:
            check_reader("video", _read_video, _write(folder, f"film{suffix}", raw))

    run()


def _weird_video(path: Path, fmt: str, time_base: Fraction, start: int, step: int, frames: int, rate: Fraction) -> bool:
    """Write ``frames`` MJPEG frames at pts start, start+step, ... with av directly; False if av refuses."""
    import av

    try:
        with av.open(str(path), "w", format=fmt) as container:
            stream = container.add_stream("mjpeg", rate=rate)
            stream.width, stream.height, stream.pix_fmt = 32, 16, "yuvj420p"
            stream.time_base = time_base
            for i in range(frames):
                frame = av.VideoFrame.from_ndarray(np.full((16, 32, 3), 40 * i % 255, np.uint8), format="rgb24")
                frame = frame.reformat(format="yuvj420p")
                frame.pts, frame.time_base = start + i * step, time_base
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    except (av.error.FFmpegError, ValueError, OverflowError, OSError):
        return False
    return path.stat().st_size > 0


def test_fuzz_absurd_rates_and_timestamps() -> None:
    @settings(FUZZ, max_examples=100)
    @given(
        fmt=st.sampled_from(["mp4", "matroska", "avi", "mov"]),
        den=st.sampled_from([1, 25, 1000, 90000, 10**9]),
        start=st.sampled_from([-(10**9), -1000, -1, 0, 1, 10**6, 2**40, 2**60]),
        step=st.sampled_from([1, 3, 1000, 10**6, 10**9]),
        frames=st.integers(1, 4),
        rate=st.sampled_from([Fraction(1, 1000), Fraction(1, 1), Fraction(25), Fraction(10**6), Fraction(10**9)]),
    )
    def run(fmt: str, den: int, start: int, step: int, frames: int, rate: Fraction) -> None:
        suffix = {"mp4": ".mp4", "matroska": ".mkv", "avi": ".avi", "mov": ".mov"}[fmt]
        with _scratch() as folder:
            path = folder / f"weird{suffix}"
            assume(_weird_video(path, fmt, Fraction(1, den), start, step, frames, rate))
            check_reader("video (absurd rates/timestamps)", _read_video, path)

    run()


def test_fuzz_add_recording_writes_nothing_on_failure(video_seeds: dict[str, bytes], tmp_path: Path) -> None:
    from workbench.project import open_project

    project = open_project(tmp_path / "p", create=True, coder="fuzz")
    session = project.add_session(project.add_case("Family A"), "filming", "2026-01-01")
    media = tmp_path / "p" / "media"
    seed = video_seeds["a.mp4"]

    @settings(FUZZ, max_examples=50)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(["empty", "good", "mutated", "mutated", "random"]))
        raw = {"empty": b"", "good": seed}.get(kind) if kind in ("empty", "good") else None
        if raw is None:
            raw = byte_mutations(data, seed) if kind == "mutated" else data.draw(st.binary(max_size=512))
        before = (len(project.recordings()), sorted(media.iterdir()))
        with _scratch() as folder:
            rec = check_reader(
                "add_recording", lambda p: project.add_recording(session, p), _write(folder, "f.mp4", raw)
            )
        if rec is None:
            assert (len(project.recordings()), sorted(media.iterdir())) == before, "a failed add left something"
        else:
            assert project.media_path(rec).read_bytes() == raw
            project.delete_recording(rec)

    try:
        run()
    finally:
        project.close()

"""The store: every record kind on SQLite and PostgreSQL, versions and conflicts, migrations, files.

Fixtures (``project``, ``reopen``, ``recording``, ``store_video``) are in
``tests/fixtures/store.py``; the PostgreSQL cases need ``$WORKBENCH_TEST_PG_URL``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import logging
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import workbench
from workbench import AnnotationTable
from workbench.errors import (
    AnnotationError,
    ConflictError,
    MediaError,
    NotFoundError,
    SchemaVersionError,
    StoreError,
)
from workbench.model import AgeBand, Annotation, CommentStatus, Recording, Role, SessionKind
from workbench.project import Project, open_project
from workbench.scheme import default_scheme, scheme_from_dict
from workbench.store import alembic_config
from workbench.store.recordings import pack_times, unpack_times
from workbench.store.schema import metadata

HEAD = "0003"


def count(project: Project, table: str) -> int:
    """Rows in a table, counted with plain SQL (not through the store's own readers)."""
    with project.engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar())


# -- cases, participants, sessions -------------------------------------------------------------


def test_case_crud(project: Project) -> None:
    a = project.add_case("Family A", "Jane Example", helping_question="Calmer mornings", guider="Sam")
    b = project.add_case("Family B")
    assert (a.id, a.version, a.real_name, b.real_name) == (a.id, 1, "Jane Example", None)
    assert "Jane Example" not in repr(a)
    assert a.created_at is not None and a.created_at.tzinfo is not None
    assert abs((dt.datetime.now(dt.UTC) - a.created_at).total_seconds()) < 60
    assert [c.pseudonym for c in project.cases()] == ["Family A", "Family B"]
    assert project.case("Family A") == a == project.case(a.id)

    a2 = project.update_case(a.id, expected_version=1, guider="Alex")
    assert (a2.guider, a2.version, a2.helping_question) == ("Alex", 2, "Calmer mornings")
    a3 = project.update_case(a2, pseudonym="Family C")
    assert (a3.pseudonym, a3.version) == ("Family C", 3)

    project.delete_case(b.id)
    assert [c.id for c in project.cases()] == [a.id]
    with pytest.raises(NotFoundError, match=rf"Expected an existing case id, but got {b.id}\."):
        project.case(b.id)


def test_pseudonym_must_be_unique_and_present(project: Project) -> None:
    a = project.add_case("Family A")
    b = project.add_case("Family B")
    with pytest.raises(StoreError, match="'Family A'"):
        project.add_case("Family A")
    with pytest.raises(StoreError, match="'Family A'"):
        project.update_case(b.id, pseudonym="Family A")
    with pytest.raises(ValueError, match="non-empty pseudonym"):
        project.add_case("  ")
    with pytest.raises(NotFoundError, match="Did you mean 'Family A'"):
        project.case("Famly A")
    assert count(project, "cases") == 2 and project.case(a.id).version == 1


def test_one_rule_names_a_case(project: Project) -> None:
    """A Case or an int is an id; a text is a pseudonym if one matches exactly, else digits are an id;
    digits that are one case's pseudonym and another's id are refused, naming both."""
    a = project.add_case("Family A")
    b = project.add_case(str(a.id + 1))  # its pseudonym is its own id: one case either way
    assert project.case(str(a.id)) == a == project.case(a) == project.case(a.id)
    assert project.case(str(b.id)) == b
    c = project.add_case(str(a.id))  # the pseudonym of c is the id of a
    with pytest.raises(StoreError, match=rf"'{a.id}' is the pseudonym of case {c.id} and the id of case {a.id} "
                                         r"\('Family A'\)"):  # fmt: skip
        project.case(str(a.id))
    assert project.case(a.id) == a and project.case(c.id) == c  # an int is always an id
    with pytest.raises(NotFoundError, match=r"Expected an existing case id or pseudonym, but got '4242'\."):
        project.case("4242")
    assert [g.case_id for g in [project.add_goal("Family A", "Calmer mornings")]] == [a.id]  # every method


def test_project_methods_keep_their_signature_and_docstring(project: Project) -> None:
    """Project's methods forward to the store's repositories: help() and inspect still see the real thing."""
    assert list(inspect.signature(Project.add_case).parameters) == [
        "self", "pseudonym", "real_name", "helping_question", "guider"]  # fmt: skip
    assert inspect.getdoc(Project.add_case).startswith("Add a case.")
    assert list(inspect.signature(project.add_annotation).parameters)[:2] == ["recording", "actor"]
    assert inspect.signature(Project.annotation).return_annotation == "Annotation"
    assert "Project" in repr(project) and workbench.Project is Project and workbench.open_project is open_project


def test_participants(project: Project) -> None:
    case = project.add_case("Family A")
    mum = project.add_participant(case, "mother", "parent", "18+")
    kid = project.add_participant("Family A", "child", Role.CHILD, AgeBand.TODDLER)
    assert (mum.role, mum.age_band, kid.age_band) == (Role.PARENT, AgeBand.ADULT, AgeBand.TODDLER)
    assert project.participants(case) == [mum, kid] == project.participants()
    with pytest.raises(ValueError, match="Allowed values are 'parent'"):
        project.add_participant(case, "x", "aunt")
    with pytest.raises(StoreError, match="participant label"):  # the database's unique constraint, wrapped
        project.add_participant(case, "mother", "carer")
    kid2 = project.update_participant(kid.id, expected_version=1, age_band="3-5")
    assert (kid2.age_band, kid2.version) == (AgeBand.PRESCHOOL, 2)
    project.delete_participant(mum.id)
    assert project.participants() == [kid2]


def test_sessions(project: Project) -> None:
    case = project.add_case("Family A")
    s2 = project.add_session(case, "shared review", dt.date(2026, 2, 1), cycle=1, label="SRS 1")
    s1 = project.add_session(case.id, SessionKind.FILMING, "2026-01-15")
    assert (s1.kind, s1.date, s1.cycle) == (SessionKind.FILMING, dt.date(2026, 1, 15), 1)
    assert project.sessions(case) == [s1, s2]  # by date
    with pytest.raises(ValueError, match="'filming', 'shared review', 'supervision'"):
        project.add_session(case, "party", "2026-01-01")
    with pytest.raises(ValueError, match=r"Expected date to be a date .* but got '15/01/2026'"):
        project.add_session(case, "filming", "15/01/2026")
    s1b = project.update_session(s1.id, expected_version=1, cycle=2, date="2026-01-16")
    assert (s1b.cycle, s1b.date, s1b.version) == (2, dt.date(2026, 1, 16), 2)
    assert project.session(s1.id) == s1b
    project.delete_session(s2.id)
    assert project.sessions() == [s1b]


# -- recordings and files --------------------------------------------------------------------


def _independent_frame_times(path: Path) -> list[int]:
    """Presentation times (ms) of every decoded frame, read with PyAV directly."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(round(float(f.pts * stream.time_base) * 1000) for f in container.decode(stream))


def test_add_recording_copies_and_probes(project_recording: tuple[Project, Recording], store_video: Path) -> None:
    project, rec = project_recording
    decoded = _independent_frame_times(store_video)
    assert len(decoded) == 50 and decoded[:3] == [0, 40, 80]
    assert (rec.frame_count, rec.width, rec.height, rec.codec) == (50, 320, 240, "h264")
    assert rec.fps == pytest.approx(25.0)
    assert rec.duration_ms == 2000
    assert rec.sha256 == hashlib.sha256(store_video.read_bytes()).hexdigest()
    assert np.array_equal(project.frame_times(rec), decoded)
    assert project.frame_times(rec.id).dtype == np.int64
    # copied into <folder>/media/, stored relative, named by content (no original name leaks)
    assert rec.path.startswith("media/") and "numbered" not in rec.path
    copy = project.media_path(rec)
    assert copy == project.folder / rec.path and copy.read_bytes() == store_video.read_bytes()
    assert project.recordings(case="Family A") == [rec] == project.recordings(session=rec.session_id)
    assert project.recording(rec.id) == rec
    rec2 = project.update_recording(rec.id, expected_version=1, label="dinner")
    assert (rec2.label, rec2.version) == ("dinner", 2)


def test_sessions_and_recordings_get_meaningful_labels(project: Project, store_video: Path, tmp_path: Path) -> None:
    """Without a label: "<kind> <date>" for a session (numbered when taken), "<session label>, film N" for a
    recording - never the file's name, which for family films often carries a real name."""
    case = project.add_case("Family A", "Jane Example")
    first = project.add_session(case, "filming", "2026-01-15")
    again = project.add_session(case, "filming", dt.date(2026, 1, 15), cycle=2)
    review = project.add_session(case, SessionKind.SHARED_REVIEW, "2026-01-22", label="")
    named = project.add_session(case, "supervision", "2026-01-29", label="supervision of SRS 1")
    other = project.add_session(project.add_case("Family B"), "filming", "2026-01-15")
    assert [first.label, again.label, review.label, named.label, other.label] == [
        "filming 2026-01-15", "filming 2026-01-15 (2)", "shared review 2026-01-22", "supervision of SRS 1",
        "filming 2026-01-15"]
    family_film = tmp_path / "Jane Example at home.mp4"
    family_film.write_bytes(store_video.read_bytes())
    recs = [project.add_recording(first, family_film), project.add_recording(first, store_video, copy=False),
            project.add_recording(again, store_video, label="kitchen")]
    assert [r.label for r in recs] == ["filming 2026-01-15, film 1", "filming 2026-01-15, film 2", "kitchen"]
    assert all("Jane" not in r.label and "numbered" not in r.label for r in recs)
    assert project.add_recording(again, store_video).label == "filming 2026-01-15 (2), film 2"


def test_variable_frame_rate_times_are_kept_exactly(project: Project, tmp_path: Path) -> None:
    from workbench.media.synth import write_numbered_video

    video = write_numbered_video(tmp_path / "vfr.mp4", seconds=1.0, fps=30, vfr=True, audio=False)
    decoded = _independent_frame_times(video)
    steps = set(np.diff(decoded).tolist())
    assert len(steps) > 1, f"expected a variable frame rate, but every step is {steps}"
    session = project.add_session(project.add_case("Family A"), "filming", "2026-01-15")
    rec = project.add_recording(session, video)
    assert rec.frame_count == len(decoded)
    assert project.frame_times(rec).tolist() == decoded


def test_add_recording_without_copy(project: Project, store_video: Path) -> None:
    session = project.add_session(project.add_case("Family A"), "filming", "2026-01-15")
    rec = project.add_recording(session, store_video, copy=False)
    assert rec.path == str(store_video.resolve())
    assert project.media_path(rec) == store_video.resolve()
    assert list((project.folder / "media").glob("*")) == []
    project.delete_recording(rec.id)
    assert store_video.exists()  # the user's own file is never deleted


def test_add_recording_refuses_bad_files(project: Project, tmp_path: Path) -> None:
    session = project.add_session(project.add_case("Family A"), "filming", "2026-01-15")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(MediaError):
        project.add_recording(session, junk)
    with pytest.raises(MediaError, match="does not exist"):
        project.add_recording(session, tmp_path / "missing.mp4")
    with pytest.raises(NotFoundError, match=r"Expected an existing session id, but got 4242\."):
        project.add_recording(4242, junk)
    assert count(project, "recordings") == 0
    assert list((project.folder / "media").glob("*")) == []


def test_frame_times_pack_small_and_exact(rng: np.random.Generator) -> None:
    hour = np.arange(90_000, dtype=np.int64) * 40  # one hour at a constant 25 fps
    blob = pack_times(hour)
    assert len(blob) < 2_000  # raw: 720 000 bytes
    assert np.array_equal(unpack_times(blob), hour)
    vfr = np.cumsum(rng.integers(25, 45, size=10_000)).astype(np.int64)  # phone-like variable rate
    assert np.array_equal(unpack_times(pack_times(vfr)), vfr)
    assert unpack_times(pack_times([])).size == 0


# -- annotations -----------------------------------------------------------------------------


def test_add_annotation_and_read_back(project_recording: tuple[Project, Recording]) -> None:
    project, rec = project_recording
    a = project.add_annotation(rec, "child", "initiative-nonverbal", 1200)
    b = project.add_annotation(rec.id, "parent", "returning-eye-contact", 1500, 1900, coder="anna", note="nice")
    assert isinstance(b, Annotation) and project.annotation(b.id) == b  # the record, as stored
    table = project.annotations(rec)
    assert isinstance(table, AnnotationTable) and table.scheme == project.scheme
    rows = table.records()
    assert [r["id"] for r in rows] == [a.id, b.id]
    assert rows[0]["offset_ms"] == 1200 and rows[0]["coder"] == "tester"  # point event; project's coder
    assert (rows[1]["coder"], rows[1]["note"], rows[1]["version"]) == ("anna", "nice", 1)
    assert project.annotations(coder="anna").ids == (b.id,)
    one = project.annotation(b)
    assert (one.onset_ms, one.offset_ms, one.version, one.recording_id, one.is_point) == (1500, 1900, 1, rec.id, False)
    assert (one["onset_ms"], one["offset_ms"], one["version"], one["recording_id"]) == (1500, 1900, 1, rec.id)


def test_add_annotation_is_validated(project_recording: tuple[Project, Recording]) -> None:
    project, rec = project_recording
    with pytest.raises(AnnotationError, match=r"field 'code'.*'dancing'"):
        project.add_annotation(rec, "child", "dancing", 100)
    with pytest.raises(AnnotationError, match="field 'onset_ms'"):
        project.add_annotation(rec, "child", "waiting", -5)
    with pytest.raises(AnnotationError, match="field 'offset_ms'"):
        project.add_annotation(rec, "child", "waiting", 500, 400)
    with pytest.raises(AnnotationError, match=r"within recording .*0\.\.2000 ms.*2500"):
        project.add_annotation(rec, "child", "waiting", 2500)
    with pytest.raises(NotFoundError, match=r"Expected an existing recording id, but got 999\."):
        project.add_annotation(999, "child", "waiting", 100)
    assert count(project, "annotations") == 0


def _rows(n: int, rng: np.random.Generator) -> list[dict]:
    codes = ["waiting", "initiative-verbal", "receiving-words", "looking-interested"]
    onsets = np.sort(rng.integers(0, 1990, size=n))
    return [
        {
            "actor": ["child", "parent"][i % 2],
            "code": codes[i % 4],
            "onset_ms": int(on),
            "offset_ms": int(on) + int(rng.integers(0, 10)),
            "coder": "bulk",
        }
        for i, on in enumerate(onsets)
    ]


def test_add_annotations_bulk_10k(project_recording: tuple[Project, Recording], rng: np.random.Generator) -> None:
    project, rec = project_recording
    rows = _rows(10_000, rng)
    start = time.perf_counter()
    ids = project.add_annotations(rec, AnnotationTable(rows))
    took = time.perf_counter() - start
    assert len(ids) == len(set(ids)) == 10_000
    assert count(project, "annotations") == 10_000
    assert took < 10, f"10k annotations took {took:.1f} s"
    back = project.annotations(rec)
    assert len(back) == 10_000 and set(back.ids) == set(ids)
    expected = pd.DataFrame(rows).sort_values(["onset_ms", "offset_ms", "actor", "code"]).reset_index(drop=True)
    got = back.to_dataframe().sort_values(["onset_ms", "offset_ms", "actor", "code"]).reset_index(drop=True)
    assert got["onset_ms"].tolist() == expected["onset_ms"].tolist()
    assert got["code"].tolist() == expected["code"].tolist()


def test_add_annotations_is_all_or_nothing(
    project_recording: tuple[Project, Recording], rng: np.random.Generator
) -> None:
    project, rec = project_recording
    rows = _rows(20, rng)
    rows[7]["code"] = "not-a-code"
    with pytest.raises(AnnotationError, match="row 7, field 'code'"):
        project.add_annotations(rec, rows)
    rows[7]["code"] = "waiting"
    rows[12]["onset_ms"], rows[12]["offset_ms"] = 2600, 2700  # beyond the 2000 ms recording
    with pytest.raises(AnnotationError, match=r"field 'onset_ms'.*2600"):
        project.add_annotations(rec, rows)
    rows[12]["recording_id"] = rec.id + 1
    rows[12]["onset_ms"], rows[12]["offset_ms"] = 100, 100
    with pytest.raises(AnnotationError, match="field 'recording_id'"):
        project.add_annotations(rec, rows)
    assert count(project, "annotations") == 0
    del rows[12]["recording_id"]
    assert len(project.add_annotations(rec, pd.DataFrame(rows))) == 20


def test_reading_annotations_column_wise_gives_the_checked_table(
    project_recording: tuple[Project, Recording], rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading builds the table column by column when the rows need no row-by-row check; it must be the
    very table the row-by-row path (AnnotationTable's own validation) gives, and fall back to that path
    for rows the database's constraints do not vouch for."""
    import workbench.store.annotations as store_module

    project, rec = project_recording
    project.add_annotations(rec, AnnotationTable(_rows(400, rng)))
    project.add_annotation(rec, "parent", "waiting", 5, 900, coder="", note="ünïcode ✓")
    fast = project.annotations(rec)
    with monkeypatch.context() as m:
        m.setattr(store_module, "_annotation_table_fast", lambda *_: None)
        checked = project.annotations(rec)
    pd.testing.assert_frame_equal(fast.to_dataframe(), checked.to_dataframe())
    assert fast.scheme == checked.scheme == project.scheme

    # a time stored as a float by another program: the checked path names the row and the field
    with project.engine.begin() as conn:
        conn.execute(sa.text("UPDATE annotations SET onset_ms = 2.5, offset_ms = 3.5 WHERE id = :i"),
                     {"i": int(fast.ids[0])})  # fmt: skip
    if project.engine.dialect.name == "sqlite":  # PostgreSQL's BIGINT rounds it on the way in
        with pytest.raises(AnnotationError, match=r"field 'onset_ms': Expected integer milliseconds, but got 2\.5"):
            project.annotations(rec)


def test_add_annotations_keeps_extra_columns(project_recording: tuple[Project, Recording]) -> None:
    project, rec = project_recording
    table = AnnotationTable(
        [
            {"actor": "child", "code": "waiting", "onset_ms": 10, "modifiers": "toy|ball", "count": np.int64(2)},
            {"actor": "child", "code": "waiting", "onset_ms": 20, "coder": ""},
        ]
    )
    ids = project.add_annotations(rec, table)
    back = {r["id"]: r for r in project.annotations(rec)}
    assert back[ids[0]]["modifiers"] == "toy|ball" and back[ids[0]]["count"] == 2
    assert pd.isna(back[ids[1]]["modifiers"]) and back[ids[1]]["coder"] == "tester"


# -- imports: once, replaced, or appended on purpose ----------------------------------------------


def _stored(project: Project) -> list[tuple]:
    """(coder, actor, code, onset, offset) of every stored annotation, read with plain SQL, sorted."""
    with project.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT coder, actor, code, onset_ms, offset_ms FROM annotations").all()
    return sorted(tuple(r) for r in rows)


def test_importing_the_same_coding_twice_adds_nothing(
    project_recording: tuple[Project, Recording], rng: np.random.Generator, tmp_path: Path
) -> None:
    from workbench.errors import DuplicateImportError
    from workbench.io import read_eaf, write_eaf

    project, rec = project_recording
    eaf = write_eaf(AnnotationTable(_rows(98, rng), scheme=project.scheme), tmp_path / "visit.eaf")
    first = project.import_annotations(rec, read_eaf(eaf, scheme=project.scheme), source="visit.eaf")
    assert len(first.ids) == count(project, "annotations") == 98 and first.coders == ("bulk",)
    before, log = _stored(project), len(project.audit_log())

    with pytest.raises(DuplicateImportError) as info:
        project.import_annotations(rec, read_eaf(eaf, scheme=project.scheme), source="visit.eaf")
    message = str(info.value)
    assert message.startswith("visit.eaf: ") and "98 of the 98 rows by coder 'bulk'" in message
    assert f"recording {rec.id} has 98 annotations by 'bulk'" in message
    assert "mode='replace' (command line: --replace)" in message and "mode='append' (--append)" in message
    assert info.value.already == {"bulk": 98} and info.value.recording_id == rec.id
    assert count(project, "annotations") == 98 and _stored(project) == before
    assert len(project.audit_log()) == log  # a refused import leaves no trace

    # a partial overlap is refused too, and says how much is there
    table = AnnotationTable(_rows(98, rng)[:5] + [dict(r, coder="bulk") for r in _stored_rows(before[:3])])
    with pytest.raises(DuplicateImportError, match="3 of the 8 rows by coder 'bulk'"):
        project.import_annotations(rec, table)
    # the same rows by another coder are that coder's first import
    other = project.import_annotations(rec, read_eaf(eaf, coder="supervisor"))
    assert len(other.ids) == 98 and count(project, "annotations") == 196
    # appending on purpose doubles them
    again = project.import_annotations(rec, read_eaf(eaf), mode="append")
    assert len(again.ids) == 98 and count(project, "annotations") == 294


def _stored_rows(stored: list[tuple]) -> list[dict]:
    return [dict(zip(("coder", "actor", "code", "onset_ms", "offset_ms"), r, strict=True)) for r in stored]


def test_replace_swaps_one_coders_rows_in_one_audited_transaction(
    project_recording: tuple[Project, Recording], rng: np.random.Generator
) -> None:
    project, rec = project_recording
    old = _rows(40, rng)
    project.import_annotations(rec, AnnotationTable(old), coder="trainee")
    project.import_annotations(rec, AnnotationTable(old[:10]), coder="supervisor")
    supervisor = [r for r in _stored(project) if r[0] == "supervisor"]
    new = _rows(25, rng)
    start = len(project.audit_log(case="Family A"))

    # invalid new rows: nothing is replaced (the delete is rolled back with the failed insert)
    bad = [*new[:24], dict(new[24], onset_ms=2500, offset_ms=2600)]
    before = _stored(project)
    with pytest.raises(AnnotationError, match=r"actor '(child|parent)', 00:00:02\.500-00:00:02\.600, field 'onset_ms'"):
        project.import_annotations(rec, AnnotationTable(bad), coder="trainee", mode="replace")
    assert _stored(project) == before and len(project.audit_log(case="Family A")) == start

    report = project.import_annotations(rec, AnnotationTable(new), coder="trainee", mode="replace")
    assert (report.replaced, len(report.ids), report.coders) == (40, 25, ("trainee",))
    expected = sorted([("trainee", r["actor"], r["code"], r["onset_ms"], r["offset_ms"]) for r in new] + supervisor)
    assert _stored(project) == expected
    log = project.audit_log(case="Family A").iloc[start:]
    assert log[["action", "kind"]].values.tolist() == [["delete", "annotation"], ["add", "annotation"]]
    deleted, added = log["details"].tolist()
    assert deleted["count"] == 40 and deleted["coders"] == ["trainee"] and len(deleted["ids"]) == 40
    assert added["count"] == 25 and set(deleted["ids"]).isdisjoint(range(added["first_id"], added["last_id"] + 1))
    with pytest.raises(ValueError, match=r"'mode'.*'new', 'replace' and 'append', but got 'overwrite'"):
        project.import_annotations(rec, AnnotationTable(new), mode="overwrite")


def test_import_problems_name_file_tier_and_time(project_recording: tuple[Project, Recording], tmp_path: Path) -> None:
    """The store's checks (codes, the recording's end, the case's participants) on rows from a file."""
    from tests.fixtures.elan import write_pympi_eaf
    from workbench.io import read_eaf, read_table

    project, rec = project_recording
    eaf = write_pympi_eaf(
        tmp_path / "visit.eaf",
        [
            ("Parent", "P01", None, [(100, 400, "waiting"), (1200, 1300, "waving")]),
            ("Child", "C01", None, [(1900, 2600, "initiative-nonverbal")]),
            ("vcm@Child", "C01", "Child", [(2000, "smiling")]),
        ],
    )
    with pytest.raises(AnnotationError) as info:
        project.import_annotations(rec, read_eaf(eaf), source="visit.eaf")
    assert info.value.problems == [
        "visit.eaf, tier 'Parent', 00:00:01.200-00:00:01.300, field 'code': "
        "Expected a code of scheme 'vig-principles', but got 'waving'.",
        "visit.eaf, tier 'vcm@Child', 00:00:01.900-00:00:02.600, field 'code': "
        "Expected a code of scheme 'vig-principles', but got 'smiling'.",
    ]
    assert str(info.value).startswith("Invalid annotations in visit.eaf: 2 problem(s)")

    project.add_participant("Family A", "Parent", "parent")
    table = read_eaf(eaf, tiers=["Parent", "Child"]).to_dataframe()
    table.loc[table["code"] == "waving", "code"] = "waiting"
    with pytest.raises(AnnotationError) as info:
        project.import_annotations(rec, AnnotationTable(table), source="visit.eaf")
    assert info.value.problems == [
        "visit.eaf, tier 'Child', 00:00:01.900-00:00:02.600, field 'offset_ms': "
        f"Expected a time within recording {rec.id} (0..2000 ms), but got 2600.",
        "visit.eaf, tier 'Child', 00:00:01.900-00:00:02.600, field 'actor': "
        f"Expected a participant of case {_case_of(project, rec)} (Parent), but got 'Child'.",
    ]
    # rows without a tier (CSV) are named by actor and time
    csv = tmp_path / "visit.csv"
    csv.write_text("actor,code,onset_ms\nParent,waiting,100\nstranger,waiting,600\n", encoding="utf-8")
    with pytest.raises(AnnotationError) as info:
        project.import_annotations(rec, read_table(csv, scheme=project.scheme), source="visit.csv")
    assert info.value.problems == [
        f"visit.csv, actor 'stranger', 00:00:00.600, field 'actor': Expected a participant of case "
        f"{_case_of(project, rec)} (Parent), but got 'stranger'.",
    ]
    assert count(project, "annotations") == 0


def _case_of(project: Project, rec: Recording) -> int:
    return project.session(rec.session_id).case_id


def test_versions_and_conflicts_across_connections(
    project_recording: tuple[Project, Recording], reopen: callable
) -> None:
    project, rec = project_recording
    other = reopen()  # a second Project: its own engine and connections
    aid = project.add_annotation(rec, "child", "waiting", 100, 300).id
    assert other.annotation(aid)["version"] == 1

    assert other.update_annotation(aid, expected_version=1, note="theirs").version == 2
    with pytest.raises(ConflictError) as err:
        project.update_annotation(aid, expected_version=1, note="mine")
    assert str(err.value) == (
        f"annotation {aid} was changed by someone else (version 2, you edited version 1); reload and edit again."
    )
    assert project.annotation(aid)["note"] == "theirs"  # nothing overwritten
    assert project.update_annotation(aid, expected_version=2, note="mine").version == 3
    assert other.annotations(rec).records()[0]["version"] == 3

    with pytest.raises(ConflictError, match="version 3, you edited version 2"):
        other.delete_annotation(aid, expected_version=2)
    other.delete_annotation(aid, expected_version=3)
    with pytest.raises(NotFoundError, match=f"Expected an existing annotation id, but got {aid}."):
        project.update_annotation(aid, expected_version=3, note="late")
    with pytest.raises(NotFoundError):
        project.delete_annotation(aid)

    case = project.case("Family A")
    other.update_case(case.id, expected_version=1, helping_question="Calmer bedtimes")
    with pytest.raises(ConflictError, match=f"case {case.id} was changed by someone else"):
        project.update_case(case.id, expected_version=1, guider="Sam")
    moment = project.add_moment(rec, 100, 400, "Turn taking")
    other.update_moment(moment.id, expected_version=1, title="Lovely turn taking")
    with pytest.raises(ConflictError, match="version 2, you edited version 1"):
        project.delete_moment(moment.id, expected_version=1)


def test_update_annotation_is_validated(project_recording: tuple[Project, Recording]) -> None:
    project, rec = project_recording
    point = project.add_annotation(rec, "child", "initiative-verbal", 100).id
    assert project.update_annotation(point, onset_ms=700).version == 2
    moved = project.annotation(point)
    assert (moved["onset_ms"], moved["offset_ms"]) == (700, 700)  # a point event stays a point event
    with pytest.raises(AnnotationError, match="field 'code'"):
        project.update_annotation(point, code="dancing")
    with pytest.raises(AnnotationError, match="field 'offset_ms'"):
        project.update_annotation(point, offset_ms=10)
    with pytest.raises(AnnotationError, match=r"onset_ms.*5000"):
        project.update_annotation(point, onset_ms=5000, offset_ms=5100)
    with pytest.raises(TypeError, match="colour"):
        project.update_annotation(point, colour="red")
    assert project.annotation(point)["version"] == 2


def test_concurrent_writers_all_land(project_recording: tuple[Project, Recording], reopen: callable) -> None:
    project, rec = project_recording
    other = reopen()
    errors: list[BaseException] = []

    def write(p: Project, actor: str) -> None:
        try:
            for i in range(25):
                p.add_annotation(rec.id, actor, "waiting", i * 10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=a) for a in ((project, "child"), (other, "parent"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert count(project, "annotations") == 50


# -- moments, stills, comments ---------------------------------------------------------------


def test_moments(project_recording: tuple[Project, Recording]) -> None:
    project, rec = project_recording
    m = project.add_moment(rec, 400, 1200, "Turn taking", reason="child led", reflection="I waited")
    assert (m.onset_ms, m.offset_ms, m.title, m.version) == (400, 1200, "Turn taking", 1)
    with pytest.raises(ValueError, match=r"offset_ms .* \(2000 ms\), but got 2400"):
        project.add_moment(rec, 400, 2400, "too long")
    with pytest.raises(ValueError, match="non-empty title"):
        project.add_moment(rec, 0, 10, "")
    m2 = project.update_moment(m.id, expected_version=1, offset_ms=1500)
    assert (m2.onset_ms, m2.offset_ms, m2.version) == (400, 1500, 2)
    assert project.moments(rec) == [m2] == [project.moment(m.id)]
    project.delete_moment(m.id)
    assert project.moments() == []


def test_add_still_writes_the_exact_frame(project_recording: tuple[Project, Recording]) -> None:
    from workbench.media.synth import decode_frame_number

    project, rec = project_recording
    moment = project.add_moment(rec, 800, 1400, "Eye contact")
    still = project.add_still(rec, 1000, caption="She looks up", moment=moment)
    path = project.still_path(still)
    assert path.parent == project.folder / "stills" and path.is_file()
    image = cv2.imread(str(path))
    assert image is not None
    assert decode_frame_number(image) == 25  # 25 fps: frame 25 is shown from 1000 ms to 1040 ms
    assert project.stills(rec) == [still] == project.stills(moment=moment)
    project.delete_moment(moment.id)  # the still outlives its moment
    assert project.still(still.id).moment_id is None
    project.delete_still(still.id)
    assert not path.exists() and project.stills() == []


def test_add_still_failures_leave_nothing(
    project_recording: tuple[Project, Recording], reopen: callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.media as media

    project, rec = project_recording
    stills_dir = project.folder / "stills"

    def broken(video_path: Path, time_ms: int, out_png: Path, caption: str = "", **kw: object) -> None:
        Path(out_png).write_bytes(b"half a png")
        raise MediaError("Expected a frame, but the decoder failed.")

    monkeypatch.setattr(media, "write_still", broken)
    with pytest.raises(MediaError, match="decoder failed"):
        project.add_still(rec, 1000)
    assert count(project, "stills") == 0 and list(stills_dir.glob("*")) == []

    monkeypatch.undo()
    write_still = media.write_still
    other = reopen()

    def then_recording_deleted(video_path: Path, time_ms: int, out_png: Path, **kw: object) -> object:
        result = write_still(video_path, time_ms, out_png, **kw)
        assert Path(out_png).is_file() and Path(out_png).with_suffix(".json").is_file()
        other.delete_recording(rec.id)  # someone else deletes the recording meanwhile
        return result

    monkeypatch.setattr(media, "write_still", then_recording_deleted)
    with pytest.raises(NotFoundError, match="recording"):
        project.add_still(rec, 1000)
    assert count(project, "stills") == 0 and list(stills_dir.glob("*")) == []


def test_comments(project_recording: tuple[Project, Recording]) -> None:
    project, rec = project_recording
    c = project.add_comment(rec, 1500, "supervisor", "Lovely wait here")
    assert (c.status, c.time_ms, c.version) == (CommentStatus.DISCUSS, 1500, 1)
    with pytest.raises(ValueError, match="'agree', 'discuss', 'revise'"):
        project.add_comment(rec, 100, "supervisor", "x", status="maybe")
    with pytest.raises(ValueError, match="time_ms within recording"):
        project.add_comment(rec, 9000, "supervisor", "x")
    c2 = project.update_comment(c.id, expected_version=1, status="agree")
    assert (c2.status, c2.version, c2.text) == (CommentStatus.AGREE, 2, "Lovely wait here")
    assert project.comments(rec) == [c2] == [project.comment(c.id)]
    project.delete_comment(c.id)
    assert project.comments() == []


# -- goals and measures ----------------------------------------------------------------------


def test_goals_and_ratings(project: Project) -> None:
    case = project.add_case("Family A")
    other_case = project.add_case("Family B")
    session = project.add_session(case, "shared review", "2026-02-01")
    goal = project.add_goal(case, "More turn taking at dinner", 1, 5)
    late = project.rate_goal(goal, "2026-03-01", 4)
    early = project.rate_goal(goal.id, dt.date(2026, 1, 1), 2, session=session)
    with pytest.raises(ValueError, match=f"rating of goal {goal.id} between 1 and 5, but got 7"):
        project.rate_goal(goal, "2026-03-02", 7)
    with pytest.raises(ValueError, match="session of case"):
        project.rate_goal(goal, "2026-03-02", 3, session=project.add_session(other_case, "filming", "2026-01-01"))
    with pytest.raises(ValueError, match="scale_max > scale_min"):
        project.add_goal(case, "x", 5, 5)
    [g] = project.goals(case)
    assert [r.date for r in g.ratings] == [dt.date(2026, 1, 1), dt.date(2026, 3, 1)]
    assert g.ratings == (early, late) and early.session_id == session.id
    with pytest.raises(ValueError, match="leaves out 4"):
        project.update_goal(goal.id, scale_max=3)
    g2 = project.update_goal(goal.id, expected_version=1, text="Turn taking", scale_max=10)
    assert (g2.text, g2.scale_max, g2.version, len(g2.ratings)) == ("Turn taking", 10.0, 2, 2)
    project.delete_rating(late.id)
    assert project.goal(goal.id).ratings == (early,)
    project.delete_goal(goal.id)
    assert project.goals() == [] and count(project, "goal_ratings") == 0


def test_measures_and_the_tidy_frame_without_real_names(project: Project) -> None:
    a = project.add_case("Family A", "Jane Example")
    b = project.add_case("Family B", "John Sample")
    project.add_measure(a, "PSI-SF", "total", "pre", 92, "2026-01-10")
    m = project.add_measure(a, "PSI-SF", "total", "post", 81.5)
    project.add_measure(b, "SDQ", "total", "pre", 14)
    m2 = project.update_measure(m.id, expected_version=1, value=80, date="2026-04-01")
    assert (m2.value, m2.date, m2.version) == (80.0, dt.date(2026, 4, 1), 2)
    assert [x.id for x in project.measures(a)] == [m.id - 1, m.id]
    frame = project.measures_frame()
    assert list(frame.columns) == ["id", "case_id", "case", "instrument", "scale", "time_point", "value", "date"]
    assert frame["case"].tolist() == ["Family A", "Family A", "Family B"]
    assert frame["value"].tolist() == [92.0, 80.0, 14.0]
    assert frame["date"].isna().tolist() == [False, False, True]
    text = frame.to_csv() + repr(frame.to_dict())
    assert "Jane" not in text and "John" not in text and "Example" not in text
    project.delete_measure(m.id)
    assert len(project.measures_frame()) == 2
    assert project.measures_frame().iloc[:0].columns.tolist() == frame.columns.tolist()


# -- deletion, not-found, wrapping -----------------------------------------------------------


def test_delete_case_cascades_rows_and_files(project_recording: tuple[Project, Recording]) -> None:
    project, rec = project_recording
    case = project.case("Family A")
    project.add_participant(case, "child", "child")
    project.add_annotation(rec, "child", "waiting", 100)
    moment = project.add_moment(rec, 100, 500, "m")
    still = project.add_still(rec, 200, moment=moment)
    project.add_comment(rec, 100, "sup", "ok")
    project.rate_goal(project.add_goal(case, "g"), "2026-01-01", 3)
    project.add_measure(case, "SDQ", "total", "pre", 12)
    media_copy, still_file = project.media_path(rec), project.still_path(still)
    assert media_copy.exists() and still_file.exists()

    project.delete_case(case.id)
    tables = ["cases", "participants", "sessions", "recordings", "annotations", "moments", "stills"]
    tables += ["comments", "goals", "goal_ratings", "measures"]
    assert {t: count(project, t) for t in tables} == dict.fromkeys(tables, 0)
    assert not media_copy.exists() and not still_file.exists()


def test_shared_media_copy_is_kept_while_used(project: Project, store_video: Path) -> None:
    session = project.add_session(project.add_case("Family A"), "filming", "2026-01-15")
    r1 = project.add_recording(session, store_video)
    r2 = project.add_recording(session, store_video)
    assert r1.path == r2.path
    project.delete_recording(r1.id)
    assert project.media_path(r2).exists()
    project.delete_recording(r2.id)
    assert not (project.folder / r2.path).exists()


def test_unknown_ids_are_not_found(project: Project) -> None:
    calls = [
        (lambda p: p.session(42), "session"),
        (lambda p: p.update_session(42, label="x"), "session"),
        (lambda p: p.delete_session(42), "session"),
        (lambda p: p.recording(42), "recording"),
        (lambda p: p.frame_times(42), "recording"),
        (lambda p: p.add_moment(42, 0, 10, "t"), "recording"),
        (lambda p: p.annotation(42), "annotation"),
        (lambda p: p.update_moment(42, title="t"), "moment"),
        (lambda p: p.update_comment(42, text="t"), "comment"),
        (lambda p: p.rate_goal(42, "2026-01-01", 1), "goal"),
        (lambda p: p.update_measure(42, value=1), "measure"),
        (lambda p: p.add_session(42, "filming", "2026-01-01"), "case"),
        (lambda p: p.delete_still(42), "still"),
    ]
    for call, kind in calls:
        with pytest.raises(NotFoundError, match=rf"^Expected an existing {kind} id, but got 42\.$"):
            call(project)


def test_driver_errors_are_wrapped(project: Project) -> None:
    case = project.add_case("Family A")
    with project.engine.begin() as conn:  # bypass the store's checks, as a buggy client could
        conn.execute(
            sa.text("INSERT INTO participants (case_id, label, role, age_band) VALUES (:c, 'x', 'child', 'unknown')"),
            {"c": case.id},
        )
    with pytest.raises(StoreError) as err:
        project.add_participant(case, "x", "child")
    assert not isinstance(err.value, sa.exc.SQLAlchemyError)
    assert isinstance(err.value.__cause__, sa.exc.IntegrityError)


# -- schemes ---------------------------------------------------------------------------------


def _small_scheme(extra_code: str | None = None, drop: tuple[str, ...] = ()) -> object:
    data = default_scheme().to_dict()
    data["id"], data["version"] = "family-scheme", "2.1"
    data["codes"] = [c for c in data["codes"] if c["key"] not in drop]
    if extra_code:
        data["codes"].append({**data["codes"][0], "key": extra_code, "label": extra_code, "shortcut": None})
    return scheme_from_dict(data)


def test_scheme_is_stored_and_replaced(project_recording: tuple[Project, Recording], reopen: callable) -> None:
    project, rec = project_recording
    assert project.scheme == default_scheme()
    project.add_annotation(rec, "child", "waiting", 100)
    with pytest.raises(StoreError, match="lacks 'waiting'"):
        project.set_scheme(_small_scheme(drop=("waiting",)))
    custom = _small_scheme(extra_code="sharing-toy")
    project.set_scheme(custom)
    project.add_annotation(rec, "child", "sharing-toy", 200)
    again = reopen()
    assert again.scheme == custom and again.scheme.version == "2.1"
    with pytest.warns(UserWarning, match="scheme 'vig-principles' passed to open_project was ignored"):
        reopen(scheme=default_scheme())
    assert again.annotations(rec).codes == ("sharing-toy", "waiting")


# -- opening, migrations, SQLite specifics ---------------------------------------------------


def test_schema_matches_the_migrations(project: Project) -> None:
    with project.engine.connect() as conn:
        opts = {"compare_type": True, "compare_server_default": project.dialect == "postgresql"}
        assert compare_metadata(MigrationContext.configure(conn, opts=opts), metadata) == []
        indexes = {i["name"]: i["column_names"] for i in sa.inspect(conn).get_indexes("annotations")}
        fks = sa.inspect(conn).get_foreign_keys("annotations")
    assert indexes["ix_annotations_recording_id_onset_ms"] == ["recording_id", "onset_ms"]
    assert indexes["ix_annotations_coder"] == ["coder"]
    assert fks[0]["options"].get("ondelete") == "CASCADE"
    assert project.schema_revision == HEAD


def test_older_project_is_migrated(project: Project, reopen: callable, caplog: pytest.LogCaptureFixture) -> None:
    with project.engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "base")
    with project.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == {"alembic_version"}
    project.close()
    with caplog.at_level(logging.INFO, logger="workbench.store"):
        again = reopen()
    assert again.schema_revision == HEAD
    assert any(
        "Migrated the project database" in r.getMessage() and f"to {HEAD}" in r.getMessage() for r in caplog.records
    )
    assert again.scheme == default_scheme()
    assert again.add_case("Family A").id == 1


def test_newer_project_is_refused(project: Project, reopen: callable) -> None:
    with project.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dcafe9999'"))
    with pytest.raises(SchemaVersionError) as err:
        reopen()
    assert "written by a newer VIG Workbench (schema revision f00dcafe9999)" in str(err.value)
    assert f"this one knows up to {HEAD}. Upgrade the workbench." in str(err.value)


def test_missing_project_needs_create(tmp_path: Path) -> None:
    where = tmp_path / "nowhere"
    with pytest.raises(NotFoundError, match=r"nowhere.*create=True.*workbench init"):
        open_project(where)
    assert not where.exists()
    with pytest.raises(NotFoundError, match="create=True"):
        open_project(f"sqlite:///{tmp_path / 'missing.db'}")
    with open_project(where, create=True) as p:
        assert (where / "workbench.db").is_file() and (where / "media").is_dir() and (where / "stills").is_dir()
        assert p.folder == where.resolve()
    with workbench.open_project(where / "workbench.db") as p:  # the .db file opens its folder
        assert p.folder == where.resolve()


def test_unreachable_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(
        StoreError, match=r"Cannot open the project database postgresql\+psycopg://nobody:\*\*\*@"
    ) as err:
        open_project("postgresql+psycopg://nobody:secret@127.0.0.1:1/none", folder=tmp_path)
    assert "secret" not in str(err.value)


@pytest.mark.postgres
def test_empty_or_foreign_postgres_database(pg_database: sa.URL, tmp_path: Path) -> None:
    url = pg_database.render_as_string(hide_password=False)
    with pytest.raises(NotFoundError, match=r"no workbench tables.*create=True"):
        open_project(url, folder=tmp_path)
    engine = sa.create_engine(pg_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id int)")
    engine.dispose()
    with pytest.raises(StoreError, match=r"other tables \(invoices\)"):
        open_project(url, create=True, folder=tmp_path)


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    with open_project(tmp_path / "p", create=True) as project:
        engine = project.engine
        with engine.connect() as c1, engine.connect() as c2:  # two pooled connections
            for conn in (c1, c2):
                pragmas = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
                }
                assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2, "busy_timeout": 10000}
        assert (tmp_path / "p" / "workbench.db-wal").exists()


def test_memory_project(store_video: Path) -> None:
    with open_project(":memory:", coder="anna") as project:
        folder = project.folder
        assert folder is not None and (folder / "media").is_dir()
        case = project.add_case("Family A")
        rec = project.add_recording(project.add_session(case, "filming", "2026-01-01"), store_video)
        assert project.add_annotation(rec, "child", "waiting", 100).id == 1
        assert project.annotations().coders == ("anna",)
        with project.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert not folder.exists()
    with pytest.raises(StoreError, match="closed"):
        project.cases()


def test_database_url_without_folder(tmp_path: Path, store_video: Path) -> None:
    with open_project(f"sqlite:///{tmp_path / 'db' / 'team.db'}", create=True) as project:
        assert project.folder is None
        session = project.add_session(project.add_case("Family A"), "filming", "2026-01-15")
        with pytest.raises(StoreError, match=r"folder=\.\.\."):
            project.add_recording(session, store_video)
        rec = project.add_recording(session, store_video, copy=False)
        with pytest.raises(StoreError, match=r"keep stills in, but this project has none"):
            project.add_still(rec, 100)
        assert count(project, "recordings") == 1 and count(project, "stills") == 0


def test_default_coder_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CODER", "kim")
    with open_project(":memory:") as project:
        assert project.coder == "kim"


def test_file_project_reopen_keeps_everything(tmp_path: Path, store_video: Path) -> None:
    where = tmp_path / "p"
    with open_project(where, create=True, coder="anna") as p:
        case = p.add_case("Family A", "Jane Example", helping_question="Calmer mornings")
        p.add_participant(case, "child", "child", "1-3")
        session = p.add_session(case, "filming", "2026-01-15")
        rec = p.add_recording(session, store_video)
        p.add_annotations(rec, [{"actor": "child", "code": "waiting", "onset_ms": 40 * i} for i in range(30)])
        moment = p.add_moment(rec, 0, 800, "Start")
        p.add_still(rec, 400, "caption", moment=moment)
        p.add_comment(rec, 300, "sup", "good")
        p.rate_goal(p.add_goal(case, "Turn taking"), "2026-01-20", 6)
        p.add_measure(case, "SDQ", "total", "pre", 15)
        before = {
            name: getattr(p, name)()
            for name in (
                "cases",
                "participants",
                "sessions",
                "recordings",
                "moments",
                "stills",
                "comments",
                "goals",
                "measures",
            )
        }
        annotations, times = p.annotations(), p.frame_times(rec)
    with open_project(where) as p:
        after = {name: getattr(p, name)() for name in before}
        assert after == before
        assert after["cases"][0].real_name == "Jane Example"
        assert p.annotations() == annotations and len(annotations) == 30
        assert np.array_equal(p.frame_times(rec.id), times)
        assert p.media_path(rec).is_file() and p.still_path(after["stills"][0]).is_file()

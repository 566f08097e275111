"""Consent is checked, not only recorded: every export refuses a case whose consent does not allow its use,
before it writes anything; the research comparison leaves such a case out with a note; the command line
records, shows and withdraws consent.

The project is the demo (:func:`workbench.demo.build_demo`: made-up families, whose consent is
:data:`workbench.demo.DEMO_CONSENT`), copied for each test that changes a consent record.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import workbench
from workbench.cli import main
from workbench.demo import DEMO_CONSENT
from workbench.errors import ConsentError
from workbench.model import CONSENT_PURPOSES
from workbench.report import ReportResult, build, build_pack
from workbench.report.consent import check_film_consent

WHEN = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)
PAST = "2024-01-31"  # a retention date that has passed
#: kind -> (build arguments, the case it is about, the use named in a refusal)
REPORTS = {
    "micro-analysis": ({"case": "Aster", "session": "1"}, "Aster", "the micro-analysis report"),
    "supervision": ({"case": "Aster", "params": {"duration_min": 75}}, "Aster", "the supervision report"),
    "verp": ({"case": "Birch"}, "Birch", "the VERP report"),
}


@pytest.fixture(scope="module")
def consent_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project, built once for this module; tests change copies of it."""
    from workbench.demo import build_demo

    folder = tmp_path_factory.mktemp("consent-demo") / "demo-project"
    build_demo(folder).close()
    return folder


@pytest.fixture
def demo(consent_demo: Path, tmp_path: Path) -> Path:
    """A copy of the demo project that a test may change."""
    return Path(shutil.copytree(consent_demo, tmp_path / "demo-project"))


@pytest.fixture(scope="module")
def aster_report(consent_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    """Aster's supervision report (HTML), built once: the demo's consent allows it."""
    return build(
        consent_demo,
        "supervision",
        case="Aster",
        out_dir=tmp_path_factory.mktemp("aster"),
        to="html",
        generated_at=WHEN,
        params={"duration_min": 75},
        redact=True,  # the demo's helping question names the child (a protected name)
    )


def _everything(folder: Path) -> set[str]:
    """Every file and folder under ``folder`` but the database's own files (which a read may touch)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.startswith("workbench.db")}


def _set(folder: Path, case: str, state: str) -> None:
    """Give ``case`` no consent record, consent for other purposes only, or consent that has ended."""
    with workbench.open_project(folder) as project:
        if state == "none":
            project.withdraw_consent(case)
        elif state == "other purpose":
            project.set_consent(
                case,
                purposes=["research", "training"],
                viewers=["guider"],
                until="2035-01-01",
                given_by="parent",
                expected_version=1,
            )
        else:
            project.set_consent(
                case,
                purposes=list(CONSENT_PURPOSES),
                viewers=["guider"],
                until=PAST,
                given_by="parent",
                expected_version=1,
            )


#: state -> what the refusal says the record allows
ALLOWS = {"none": "none was recorded", "other purpose": "covers only research, training", "expired": f"ended on {PAST}"}


# -- the vocabulary ------------------------------------------------------------------------------------------


def test_purposes_are_a_vocabulary_and_old_records_stay_readable(demo: Path) -> None:
    with workbench.open_project(demo) as project:
        with pytest.raises(
            ValueError,
            match=r"Allowed purposes are 'supervision', 'accreditation', 'research', "
            r"'shared review', 'training', but got 'gossip' instead",
        ):
            project.set_consent("Birch", purposes=["supervision", "gossip"], viewers=["guider"], until=None)
        assert project.consent("Birch").purposes == tuple(DEMO_CONSENT["Birch"]["purposes"])  # unchanged
        c = project.set_consent(
            "Birch",
            purposes=["Supervision", "Shared_Review", "SRS"],
            viewers=["guider"],
            until=None,
            expected_version=1,
        )
        assert c.purposes == ("supervision", "shared review")
    # a record written before the vocabulary was fixed, with other spellings and a word of its own
    with sqlite3.connect(demo / "workbench.db") as db:
        db.execute(
            "UPDATE consents SET purposes = ? WHERE case_id = (SELECT id FROM cases WHERE pseudonym = 'Birch')",
            (json.dumps(["Shared-Review", "teaching", "gossip"]),),
        )
    with workbench.open_project(demo) as project:
        assert project.consent("Birch").purposes == ("shared review", "training", "gossip")
        assert project.check_consent("Birch", "training").case_id == project.case("Birch").id
        with pytest.raises(ConsentError, match="covers only shared review, training, gossip"):
            project.check_consent("Birch", "supervision")
        with pytest.raises(ValueError, match="but got 'gossip' instead"):
            project.check_consent("Birch", "gossip")


# -- reports on one case -------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(ALLOWS))
@pytest.mark.parametrize("kind", list(REPORTS))
def test_report_refused_without_consent_writes_nothing(demo: Path, tmp_path: Path, kind: str, state: str) -> None:
    kwargs, case, use = REPORTS[kind]
    _set(demo, case, state)
    before = _everything(demo)
    for out_dir in (None, tmp_path / "out"):  # the case's reports folder, and a folder of one's own
        with pytest.raises(ConsentError) as info:
            build(demo, kind, to="html", out_dir=out_dir, generated_at=WHEN, **kwargs)
        text = str(info.value)
        assert f"case {case}" in text and f"'supervision' ({use})" in text and ALLOWS[state] in text
        assert f"workbench consent set PROJECT {case} --purpose " in text and f"project.set_consent('{case}'," in text
        assert info.value.case == case and info.value.purpose == "supervision"
        assert _everything(demo) == before, "a folder or file was left behind"
        assert not (tmp_path / "out").exists()
    if state == "expired":
        assert f"workbench purge PROJECT --case {case}" in text
    if state == "other purpose":  # the command keeps what the record allows and adds what is missing
        assert "--purpose research --purpose training --purpose supervision --viewer guider --until 2035-01-01" in text


def test_report_allowed_with_consent(aster_report: ReportResult, consent_demo: Path) -> None:
    assert aster_report.html is not None and aster_report.html.is_file()
    assert json.loads(aster_report.sidecar.read_text(encoding="utf-8"))["case"] == "Aster"


def test_report_command_line_refusal(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _set(demo, "Cedar", "none")
    with workbench.open_project(demo) as project:
        cedar = project.case("Cedar").id
    for case in ("Cedar", str(cedar)):  # by pseudonym or by id
        assert main(["report", str(demo), "--kind", "verp", "--case", case]) == 2
        err = capsys.readouterr().err
        assert err.startswith(
            "workbench report: error: Expected a consent record of case Cedar allowing "
            "'supervision' (the VERP report), but none was recorded."
        )
        assert "Traceback" not in err and not (demo / "reports").exists()


# -- research across cases -----------------------------------------------------------------------------------


def test_research_leaves_out_a_case_without_research_consent_with_a_note(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bs4 import BeautifulSoup

    _set(demo, "Cedar", "none")
    _set(demo, "Birch", "expired")
    assert (
        main(
            ["report", str(demo), "--kind", "research", "--to", "html", "--redact", "--generated-at", WHEN.isoformat()]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"Left out of the report: case Birch, its consent ended on {PAST} (see: workbench consent show" in out
    assert "Left out of the report: case Cedar, no consent record (see: workbench consent show" in out
    page = demo / "reports" / "research-all-cases.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    text = " ".join(soup.get_text(" ").split())
    assert (
        f"Case Birch is left out: its consent ended on {PAST}. Case Cedar is left out: no consent record. "
        "Only cases whose consent covers research are compared: 1 of 3 is."
    ) in text
    cases = next(t for t in soup.find_all("table") if t.find("caption") and "Cases" in t.find("caption").get_text())
    assert [tr.find("td").get_text(strip=True) for tr in cases.find("tbody").find_all("tr")] == ["Aster"]
    meta = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["case"] == "Aster"
    assert meta["left_out"] == [
        {"case": "Birch", "reason": f"its consent ended on {PAST}"},
        {"case": "Cedar", "reason": "no consent record"},
    ]


def test_research_without_any_consenting_case_is_refused(demo: Path, tmp_path: Path) -> None:
    _set(demo, "Aster", "other purpose")  # research and training: Aster may be compared
    _set(demo, "Birch", "expired")
    _set(demo, "Cedar", "none")
    before = _everything(demo)
    for out_dir in (None, tmp_path / "out"):
        with pytest.raises(ConsentError) as info:
            build(demo, "research", case="Birch,Cedar", to="html", out_dir=out_dir)
        text = str(info.value)
        assert text.startswith(
            "Expected consent for 'research' (the research report) from at least one case, but 2 "
            "cases are refused (Birch, Cedar):\n  - Expected consent of case Birch for 'research' "
            f"(the research report) valid on {dt.date.today().isoformat()}, but it ended on {PAST}"
        )
        assert (
            "\n  - Expected a consent record of case Cedar allowing 'research' (the research report), but none "
            "was recorded." in text
        )
        assert _everything(demo) == before and not (tmp_path / "out").exists()


# -- accreditation packs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(ALLOWS))
def test_pack_refused_for_a_case_without_accreditation_consent(
    demo: Path, tmp_path: Path, aster_report: ReportResult, state: str
) -> None:
    _set(demo, "Cedar", state)
    before = _everything(demo)
    out = tmp_path / "new-folder" / "pack.zip"
    with pytest.raises(ConsentError) as info:
        build_pack(demo, "trainee", out, reports=[aster_report.html], blur_faces=False, generated_at=WHEN, redact=True)
    text = str(info.value)
    assert "case Cedar" in text and "'accreditation' (the accreditation pack)" in text and ALLOWS[state] in text
    assert "workbench consent set PROJECT Cedar" in text and "project.set_consent('Cedar'," in text
    assert not (tmp_path / "new-folder").exists() and _everything(demo) == before
    # with only the cases whose consent allows it, the pack is built
    result = build_pack(
        demo,
        "trainee",
        out,
        cases=["Aster", "Birch"],
        reports=[aster_report.html],
        blur_faces=False,
        generated_at=WHEN,
        redact=True,
    )
    assert result.path.is_file() and result.manifest["cases"] == ["Aster", "Birch"]


def test_pack_refuses_every_case_at_once_and_checks_the_reports_it_is_given(
    demo: Path, tmp_path: Path, aster_report: ReportResult, capsys: pytest.CaptureFixture[str]
) -> None:
    _set(demo, "Birch", "none")
    _set(demo, "Cedar", "expired")
    out = tmp_path / "pack.zip"
    code = main(
        [
            "pack",
            str(demo),
            "--trainee",
            "trainee",
            "--out",
            str(out),
            "--no-blur",
            "--redact",
            "--report",
            str(aster_report.html),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "from every case, but 2 cases are refused (Birch, Cedar)" in err
    assert "case Birch allowing 'accreditation'" in err and f"ended on {PAST}" in err
    assert err.rstrip().endswith("Or pack only the other cases: --case Aster (in Python: cases=['Aster']).")
    # a report of a case outside the chosen ones is a case of the pack too
    other = tmp_path / "given"
    other.mkdir()
    shutil.copy(aster_report.html, other / "supervision-Cedar.html")  # type: ignore[arg-type]
    meta = json.loads(aster_report.sidecar.read_text(encoding="utf-8"))
    (other / "supervision-Cedar.json").write_text(json.dumps({**meta, "case": "Cedar"}), encoding="utf-8")
    with pytest.raises(ConsentError, match="case Cedar for 'accreditation'"):
        build_pack(demo, "trainee", out, cases=["Aster"], reports=[other / "supervision-Cedar.html"], blur_faces=False)
    assert not out.exists()


# -- films and handouts --------------------------------------------------------------------------------------


def test_film_and_handout_check(demo: Path) -> None:
    with workbench.open_project(demo) as project:
        assert check_film_consent(project, "Aster", "training").case_id == project.case("Aster").id
        assert check_film_consent(project, "Birch", "Shared-Review", what="handout").purposes[-1] == "shared review"
        with pytest.raises(ConsentError) as info:
            check_film_consent(project, "Birch", "training", what="handout")
        text = str(info.value)
        assert text.startswith(
            "Expected consent for 'training' (a handout for training) from case Birch, but it "
            "covers only supervision, accreditation, research, shared review."
        )
        assert "--purpose 'shared review' --purpose training" in text
        with pytest.raises(ValueError, match="Allowed values are 'shared review', 'training', but got 'research'"):
            check_film_consent(project, "Aster", "research")
    _set(demo, "Aster", "expired")
    with workbench.open_project(demo) as project, pytest.raises(ConsentError, match=f"ended on {PAST}"):
        check_film_consent(project, "Aster", "shared review")


# -- the command line ----------------------------------------------------------------------------------------


@pytest.fixture
def empty_project(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "project"
    with workbench.open_project(folder, create=True) as project:
        project.add_case("Rowan", real_name="Imaginary Person")
        project.add_case("Willow Tree")
    yield folder


def test_consent_command_line_round_trip(empty_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(empty_project)
    assert main(["consent", "show", folder]) == 0
    out = capsys.readouterr().out
    assert "case Rowan (id 1): no consent record, so every export of it is refused." in out
    assert f"record it with: workbench consent set {folder} 'Willow Tree' --purpose supervision" in out

    assert (
        main(
            [
                "consent",
                "set",
                folder,
                "Rowan",
                "--purpose",
                "supervision",
                "--purpose",
                "shared review",
                "--viewer",
                "guider",
                "--viewer",
                "supervisor",
                "--until",
                "2031-07-31",
                "--given-by",
                "parent",
                "--note",
                "signed at the first filming",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith(
        "Recorded the consent of case Rowan.\ncase Rowan (id 1): supervision, shared review\n"
        "  who may see: guider, supervisor\n  until 2031-07-31; given by parent; recorded "
    )
    assert "note: signed at the first filming" in out
    assert "allowed today: supervision yes; accreditation no; research no; shared review yes; training no" in out
    with workbench.open_project(empty_project) as project:
        c = project.consent("Rowan")
        assert (c.purposes, c.viewers, c.until, c.given_by, c.version) == (
            ("supervision", "shared review"),
            ("guider", "supervisor"),
            dt.date(2031, 7, 31),
            "parent",
            1,
        )
        project.check_consent("Rowan", "shared review", on="2031-07-31")

    # replacing: the whole record, open-ended
    assert main(["consent", "set", folder, "1", "--purpose", "research", "--viewer", "researcher", "--open-ended"]) == 0
    assert capsys.readouterr().out.startswith("Replaced the consent of case Rowan.\ncase Rowan (id 1): research\n")
    assert main(["consent", "show", folder, "Rowan"]) == 0
    out = capsys.readouterr().out
    assert "until withdrawn" in out and "(version 2)" in out and "Willow" not in out

    # an unknown purpose: a clear error, nothing changed
    assert (
        main(
            ["consent", "set", folder, "Rowan", "--purpose", "marketing", "--viewer", "guider", "--until", "2030-01-01"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("workbench consent: error: Invalid consent purpose. Allowed purposes are 'supervision', ")
    with workbench.open_project(empty_project) as project:
        assert project.consent("Rowan").version == 2

    # withdrawing points at the purge
    assert main(["consent", "withdraw", folder, "Rowan", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Withdrew the consent of case Rowan (it allowed research): from now on every export of it is refused." in out
    assert f"workbench purge {folder} --case Rowan" in out
    with workbench.open_project(empty_project) as project:
        assert project.consent("Rowan") is None
        assert project.audit_log("Rowan")["action"].tolist()[-1] == "delete"
    assert main(["consent", "withdraw", folder, "Rowan", "--yes"]) == 2
    assert "Expected a consent record of case Rowan to withdraw, but none was recorded." in capsys.readouterr().err


def test_consent_command_line_help(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("set", "show", "withdraw"):
        with pytest.raises(SystemExit) as info:
            main(["consent", action, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: workbench consent {action}")
    with pytest.raises(SystemExit):
        main(["consent", "set", "p", "Rowan", "--purpose", "research", "--viewer", "guider"])
    assert "one of the arguments --until --open-ended is required" in capsys.readouterr().err


def test_demo_records_its_families_consent(consent_demo: Path) -> None:
    with workbench.open_project(consent_demo) as project:
        for case in project.cases():
            c = project.consent(case)
            assert c is not None and set(c.purposes) >= {"supervision", "accreditation", "research"}
            assert c.purposes == tuple(DEMO_CONSENT[case.pseudonym]["purposes"])
        assert project.retention() == []

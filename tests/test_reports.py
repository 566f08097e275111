"""Reports end to end on the demo project: every kind as HTML and PDF, offline, de-identified, reproducible;
accreditation packs; face blurring.

Expected numbers come from outside the report code: the demo's made-up cases (:data:`workbench.demo.DEMO_CASES`:
real names, outcome scores, and how many of each child's initiatives each film was written to have
answered, only received, overridden or missed, see :func:`workbench.demo.interaction_script`), the
analysis functions the reports display, poppler's ``pdfinfo`` /
``pdftotext`` / ``pdfimages`` / ``pdftoppm``, and OpenCV 4.14's own ``CascadeClassifier`` result on
matplotlib's ``grace_hopper.jpg`` (measured once outside this suite: frontal face at
``(149, 100, 231, 231)``; the cascade is no longer in OpenCV 5).

Each report kind is built once per session (HTML and PDF from one execution); the PDF step and the
offline check need Chromium (``browser`` marker).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bs4 import BeautifulSoup

from tests.fixtures.reports import readable_text
from workbench.demo import DEMO_CASES
from workbench.report import (
    DeidentificationError,
    ReportResult,
    build,
    build_pack,
    load_requirements,
    normalise_kind,
    template_path,
    verify_pack,
)
from workbench.report.privacy import protected_terms

WHEN = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)
#: A closing reflection for the VERP report (without one, its "Looking back" section is left out).
REFLECTION = "Across the cycles I wait longer before I answer, and the child starts more of our games."
#: What an exported report must never carry: blanks and prompts meant for whoever fills in a template.
PLACEHOLDERS = ("(Write your reflection here.)", "(to fill in)", "____", "To do:")
REAL_NAMES = [c.real_name for c in DEMO_CASES]
#: Every part of every protected name of the demo (parents' and children's): none may reach an export.
NAME_PARTS = sorted({part for c in DEMO_CASES for name in (c.real_name, c.child_name) for part in name.split()})

#: kind -> (build arguments, section titles expected in order, minimum number of charts)
KINDS: dict[str, tuple[dict[str, Any], list[str], int]] = {
    "micro-analysis": (
        {"case": "Aster", "session": "1"},
        ["The recording", "Moments", "Timeline", "Attunement contingencies", "About this analysis"],
        2,
    ),
    "supervision": (  # no session: the case's only supervision session
        {"case": "Aster", "params": {"duration_min": 75}, "blur_faces": True},
        ["The supervision", "Agreement between the two micro-analyses", "Where the codings differ",
         "The two micro-analyses side by side", "The supervisor's comments", "Agreed learning goals", "Sign-off"],
        4,
    ),
    "verp": (
        {"case": "Birch", "params": {"reflection": REFLECTION}},
        ["My filmed practice", "Moments and reflections", "Goals and progress across cycles", "Looking back"],
        2,
    ),
    "research": (
        {},
        ["The cases", "Outcomes before and after", "Attunement contingencies, pre vs post", "Goals", "Method"],
        3,
    ),
}


def _have_chromium() -> bool:
    from tests.fixtures.browser import chromium_path

    return chromium_path() is not None


@pytest.fixture(scope="session")
def report_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo project of the reports' own: the browser tests add comments, codes and stills to theirs."""
    from workbench.demo import build_demo

    folder = tmp_path_factory.mktemp("report-demo") / "demo-project"
    build_demo(folder).close()
    return folder


@pytest.fixture(scope="session")
def built(report_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReportResult]:
    """Every report kind built once: HTML always, PDF too when Chromium is there (one printer)."""
    from workbench.report.pdf import PdfPrinter

    out = tmp_path_factory.mktemp("reports")
    formats = ("html", "pdf") if _have_chromium() else ("html",)
    results: dict[str, ReportResult] = {}
    printer = PdfPrinter() if "pdf" in formats else None
    if printer is not None:
        printer.__enter__()
    try:
        for kind, (kwargs, _, _) in KINDS.items():
            # the demo's helping questions name the children (Sam, Jo): redaction replaces them by [child]
            results[kind] = build(report_demo, kind, to=formats, out_dir=out, generated_at=WHEN, printer=printer,
                                  redact=True, **kwargs)
    finally:
        if printer is not None:
            printer.__exit__(None, None, None)
    return results


def _soup(result: ReportResult) -> BeautifulSoup:
    assert result.html is not None
    return BeautifulSoup(result.html.read_text(encoding="utf-8"), "html.parser")


def _table(soup: BeautifulSoup, caption_start: str) -> list[dict[str, str]]:
    for table in soup.select("table.wb-table"):
        cap = table.find("caption")
        if cap and cap.get_text().startswith(caption_start):
            heads = [th.get_text(" ", strip=True) for th in table.select("thead th")]
            return [dict(zip(heads, [td.get_text(" ", strip=True) for td in tr.find_all("td")], strict=True))
                    for tr in table.select("tbody tr")]
    raise AssertionError(f"no table captioned {caption_start!r}")


# -- templates and arguments ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_templates_are_parameterised_notebooks_with_a_kernelspec(kind: str) -> None:
    nb = json.loads(template_path(kind).read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0]["cell_type"] == "code"
    source = "".join(tagged[0]["source"])
    for name in ("project", "case", "session", "blur_faces", "author", "generated_at"):
        assert re.search(rf"^{name} = ", source, re.M), f"{name} missing from the parameters cell of {kind}"
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "templates ship unexecuted"


def test_kind_and_format_arguments_are_checked(report_demo: Path) -> None:
    assert normalise_kind("reflective") == "verp" and normalise_kind("Micro-Analysis") == "micro-analysis"
    with pytest.raises(ValueError, match="Allowed values are 'micro-analysis'"):
        normalise_kind("summary")
    with pytest.raises(ValueError, match="'to' parameter"):
        build(report_demo, "verp", case="Birch", to="docx")


def test_report_parameters_of_the_wrong_name_or_shape_are_refused(report_demo: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`--param lower_is_better=PSI-SF` (a bare string, not a list) used to pass and be read letter by letter."""
    from workbench.cli import main

    code = main(["report", str(report_demo), "--kind", "research", "--param", "lower_is_better=PSI-SF",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "'lower_is_better' parameter of the research report: expected a list" in err
    assert "but got the string 'PSI-SF'" in err and len(err.splitlines()) == 1
    code = main(["report", str(report_demo), "--kind", "research", "--param", "lower_is_beter=[]"])
    err = capsys.readouterr().err
    assert code == 2 and "Did you mean 'lower_is_better'?" in err and "Allowed parameters are coder, " in err
    with pytest.raises(ValueError, match="through its own argument, case"):
        build(report_demo, "research", params={"case": "Aster"})
    with pytest.raises(ValueError, match=r"'window_ms' parameter .* expected a number, but got the string 'soon'"):
        build(report_demo, "research", params={"window_ms": "soon"})
    # the right shape, but not an instrument of the measures: refused in the notebook, with what exists
    with pytest.raises(ValueError, match=r"expected instruments among the measures \(.*PSI-SF.*\), but got 'PSI'"):
        build(report_demo, "research", out_dir=tmp_path, params={"lower_is_better": ["PSI"]})
    with pytest.raises(ValueError, match=r"'reliability' parameter: expected a reliability r in \[0, 1\)"):
        build(report_demo, "research", out_dir=tmp_path, params={"reliability": {"psi-sf": 1.5}})
    assert list(tmp_path.iterdir()) == []


def test_a_supervision_report_without_a_session_takes_the_only_one(built: dict[str, ReportResult],
                                                                   report_demo: Path, tmp_path: Path) -> None:
    import workbench

    with workbench.open_project(report_demo) as project:
        only = [s for s in project.sessions("Aster") if s.kind.value == "supervision"]
    assert len(only) == 1
    result = built["supervision"]
    assert json.loads(result.sidecar.read_text())["session"] == only[0].id
    assert result.html.name == f"supervision-Aster-s{only[0].id}.html"
    # with two, it asks which, listing them (id, label, date) before any kernel starts
    copy = tmp_path / "two-supervisions"
    shutil.copytree(report_demo, copy)
    with workbench.open_project(copy) as project:
        second = project.add_session("Aster", "supervision", "2026-06-01", cycle=3)
    with pytest.raises(ValueError) as info:
        build(copy, "supervision", case="Aster", out_dir=tmp_path / "out")
    message = str(info.value)
    assert "case 'Aster' has 2 supervision sessions" in message
    assert f"{only[0].id} {only[0].label!r} ({only[0].date.isoformat()})" in message
    assert f"{second.id} 'supervision 2026-06-01' (2026-06-01)" in message
    assert not (tmp_path / "out").exists()


def test_unknown_case_or_session_fails_fast_with_what_exists(report_demo: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    from workbench.cli import main

    code = main(["report", str(report_demo), "--kind", "supervision", "--case", "Aster", "--session", "99"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "'99' is not one of its sessions" in err and "4 (supervision, 2026-03-23" in err
    code = main(["report", str(report_demo), "--kind", "micro-analysis", "--case", "Astor"])
    assert code == 2 and "Did you mean 'Aster'" in capsys.readouterr().err


# -- HTML: sections, figures, numbers ------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_html_has_cover_contents_sections_and_figures(built: dict[str, ReportResult], kind: str) -> None:
    result = built[kind]
    soup = _soup(result)
    _, sections, min_charts = KINDS[kind]
    cover = soup.select_one("header.wb-cover")
    facts = dict(zip([dt_.get_text() for dt_ in cover.select("dt")], [dd.get_text() for dd in cover.select("dd")],
                     strict=True))
    assert facts["Project"] == "demo-project"
    assert facts["Coding scheme"] == "vig-principles v1.0.0"
    assert facts["Generated"] == WHEN.isoformat()
    assert facts["Report"] == result.info["kind_label"]
    expected_case = {"micro-analysis": "Aster", "supervision": "Aster", "verp": "Birch",
                     "research": "Aster, Birch, Cedar"}[kind]
    assert facts["Case"] == expected_case
    # contents: one entry per section, in order, each pointing at its heading
    headings = [h.get_text() for h in soup.select("main h2") if h.get("id")]
    assert headings == sections
    toc = [(a.get_text(), a["href"]) for a in soup.select("nav.wb-toc a")]
    assert [t for t, _ in toc if t in sections] == sections
    for text, href in toc:
        assert soup.select_one(href) is not None and soup.select_one(href).get_text() == text
    # code hidden, no parameters, no error output
    body = soup.select_one("main").get_text()
    assert "open_report" not in body and "wr.show" not in body and "generated_at =" not in body
    assert not soup.select("pre.wb-error") and not soup.select(".jp-InputArea, .input_area")
    # charts: static SVG (vector) plus the spec for the live rendering
    charts = soup.select("figure.wb-chart")
    assert len(charts) >= min_charts
    for fig in charts:
        assert fig.select_one(".wb-chart-static svg") is not None
        spec = json.loads(fig.select_one("script.wb-chart-spec").string)
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    # every image is embedded data, every script inline
    assert all(img["src"].startswith("data:image/png;base64,") for img in soup.find_all("img"))
    assert all(not s.get("src") for s in soup.find_all("script"))
    assert not soup.find_all("link")


def test_micro_analysis_shows_the_moment_with_its_still_and_coding(built: dict[str, ReportResult]) -> None:
    soup = _soup(built["micro-analysis"])
    moment = soup.select_one("section.wb-moment")
    assert moment.h3.get_text() == "Moment 1: Receiving the toy"
    assert "You notice the toy straight away and smile back." in moment.select_one("blockquote").get_text()
    still = moment.select_one("figure.wb-still")
    assert "You look over and smile: she shows you the toy." in still.figcaption.get_text()
    assert still.img["src"].startswith("data:image/png;base64,")
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in moment.select("table tbody tr")]
    assert rows and all(r[2] in ("child", "parent") for r in rows)
    assert any(r[3] == "Returning eye contact, smiling, nodding in response" for r in rows)


def test_supervision_numbers_are_those_of_the_analysis(built: dict[str, ReportResult], report_demo: Path) -> None:
    import workbench
    from workbench.analysis.agreement import agreement_report

    soup = _soup(built["supervision"])
    details = {r[""]: r["value"] for r in _table(soup, "Supervision record")}
    assert details["date"] == "2026-03-23" and details["duration"] == "75 min"
    assert details["recordings reviewed"] == "Aster pre (1:00.0)"
    with workbench.open_project(report_demo) as project:
        rec = project.recordings(case="Aster")[0]
        rep = agreement_report(project.annotations(rec, coder="trainee"), project.annotations(rec, coder="supervisor"),
                               span_ms=(0, rec.duration_ms))
        n_trainee = len(project.annotations(rec, coder="trainee"))
    row = _table(soup, "Agreement per recording")[0]
    assert row["time-unit kappa"] == f"{rep.kappa:.2f}" and row["event kappa"] == f"{rep.event_kappa:.2f}"
    assert int(row["events (trainee)"]) == n_trainee
    # the supervisor's coding follows the script: the initiatives Aster's pre film was written to have
    side = _table(soup, "Attunement contingencies by coder")
    sup = next(r for r in side if r["coder"] == "supervisor" and r["initiator → partner"] == "child → parent")
    assert tuple(int(sup[k]) for k in ("attuned", "received", "discordant", "missed")) == DEMO_CASES[0].pre.child
    # comments in time order, with status: agreeing at the moment, questions where the parent missed or overrode
    comments = _table(soup, "Comments")
    assert [c["time"] for c in comments] == sorted(c["time"] for c in comments)
    statuses = [c["status"] for c in comments]
    assert statuses.count("agree") == 1 and statuses.count("discuss") == DEMO_CASES[0].pre.child[3]
    assert statuses.count("revise") == DEMO_CASES[0].pre.child[2]
    assert soup.select_one("section.wb-signoff") is not None
    assert "Faces in stills are blurred" in soup.select_one(".wb-cover-privacy").get_text()
    assert built["supervision"].info["faces_blurred"] is True


def test_a_report_reads_each_recordings_annotations_once(report_demo: Path) -> None:
    """All of a report's tables, charts and moments share one read of each recording's annotations (a
    micro-analysis read them 4 + one per moment times, each read validated again)."""
    import sqlalchemy as sa

    import workbench
    from workbench.report.data import MicroAnalysis, Supervision

    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        text = " ".join(statement.split()).lower()
        if text.startswith("select") and "from annotations" in text:
            reads.append(text)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        with workbench.open_project(report_demo) as project:
            r = MicroAnalysis(project, "Aster", session="1")
            r.overview()
            for number, (rec, moment) in enumerate(r.moments(), start=1):
                r.moment_html(rec, moment, number)
            for rec in r.recordings:
                r.timeline(rec).to_dict()
            r.contingency_table()
            r.outcome_chart().to_dict()
            assert r.moments() and len(reads) == len(r.recordings) == 1
            reads.clear()
            s = Supervision(project, "Aster", duration_min=75)
            s.agreement(), s.differences(), s.side_by_side(), s.side_by_side_chart().to_dict(), s.moments_html()
            for rec in s.recordings:
                s.timeline(rec).to_dict()
            assert len(reads) == len(s.recordings) == 1
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)


def test_research_outcomes_match_the_demo_cases(built: dict[str, ReportResult]) -> None:
    soup = _soup(built["research"])
    rows = _table(soup, "Scores pre and post")
    psi = {r["case"]: r for r in rows if r["instrument"] == "PSI-SF"}
    for c in DEMO_CASES:
        score = c.score("PSI-SF")
        assert float(psi[c.pseudonym]["pre"]) == score.pre and float(psi[c.pseudonym]["post"]) == score.post
        assert float(psi[c.pseudonym]["change"]) == score.post - score.pre
    effects = {r["instrument"].split(" (")[0]: r for r in _table(soup, "Paired change across cases")}
    changes = np.array([c.score("PSI-SF").post - c.score("PSI-SF").pre for c in DEMO_CASES])
    assert float(effects["PSI-SF"]["mean change"]) == pytest.approx(changes.mean(), abs=0.05)  # 1 decimal
    d_z = float(effects["PSI-SF"]["d_z (95% CI)"].split(" (")[0])
    assert d_z == pytest.approx(changes.mean() / changes.std(ddof=1), abs=5e-3)
    # parenting stress fell: lower is better on the PSI-SF (its manual), so that is an improvement
    assert effects["PSI-SF"]["favours"] == "improvement"
    assert {r["better"] for r in psi.values()} == {"lower is better"}
    assert {r["the change is"] for r in psi.values()} == {"improvement"}
    directions = {r["instrument"]: r for r in _table(soup, "Which way is better")}
    assert directions["PSI-SF"]["which way is better"] == "total (36-180): lower is better"
    assert "Abidin" in directions["PSI-SF"]["source"]
    # the SDQ's scales go opposite ways, each as its scoring instructions say
    assert directions["SDQ"]["which way is better"] == ("prosocial (0-10): higher is better; "
                                                        "total difficulties (0-40): lower is better")
    sdq = {(r["case"], r["scale"]): r for r in rows if r["instrument"] == "SDQ"}
    for c in DEMO_CASES:
        for score in (s for s in c.scores if s.instrument == "SDQ"):
            change = sdq[(c.pseudonym, score.scale)]["the change is"]
            better_up = score.scale.startswith("prosocial")
            assert change == ("improvement" if (score.post > score.pre) == better_up else "deterioration")
    cont = _table(soup, "Contingencies per case and phase")
    for c in DEMO_CASES:
        for phase, profile in (("pre", c.pre), ("post", c.post)):
            row = next(r for r in cont if (r["case"], r["phase"], r["initiator → partner"])
                       == (c.pseudonym, phase, "child → parent"))
            assert tuple(int(row[k]) for k in ("attuned", "received", "discordant", "missed")) == profile.child


def test_exports_carry_no_placeholder(built: dict[str, ReportResult], report_demo: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A missing value is left out or said plainly, never a blank to fill in; whoever builds the report is told."""
    import workbench
    from workbench.cli import main
    from workbench.report.data import Supervision

    for result in built.values():
        for path in result.files.values():
            text = path.read_text(encoding="utf-8") if path.suffix == ".html" else (
                _pdftotext(path) if shutil.which("pdftotext") else "")
            assert not [p for p in PLACEHOLDERS if p in text], path.name
    soup = _soup(built["verp"])
    looking_back = next(h for h in soup.select("main h2") if h.get_text() == "Looking back")
    assert REFLECTION in looking_back.find_parent("div").get_text()
    assert built["verp"].info["missing"] == [] and built["supervision"].info["missing"] == []
    # without a duration, the supervision record says so in words
    with workbench.open_project(report_demo) as project:
        details = dict(Supervision(project, "Aster").details().values.tolist())
    assert details["duration"] == "not recorded"
    # without a closing reflection, the VERP report has no "Looking back" at all, and the command line says why
    code = main(["report", str(report_demo), "--kind", "verp", "--case", "Birch", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "Missing from the report: the closing reflection, 'Looking back'" in out
    page = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    assert "Looking back" not in page and not [p for p in PLACEHOLDERS if p in page]
    sidecar = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert sidecar["missing"] and "reflection" in sidecar["missing"][0]


# -- privacy -------------------------------------------------------------------------------------------


def test_no_real_name_or_path_in_any_export(built: dict[str, ReportResult], report_demo: Path) -> None:
    import workbench

    with workbench.open_project(report_demo) as project:
        terms = protected_terms(project)
    assert {p.lower() for p in NAME_PARTS} <= set(terms.name_parts)  # parents' and children's names, part by part
    for result in built.values():
        for path in result.files.values():
            if path.suffix == ".pdf" and not shutil.which("pdftotext"):
                continue
            text = path.read_text(encoding="utf-8") if path.suffix == ".html" else _pdftotext(path)
            shown = readable_text(text) if path.suffix == ".html" else text
            words = set(re.findall(r"[^\W_]+", shown.lower()))
            assert not words & {p.lower() for p in NAME_PARTS}, path.name
            assert str(report_demo) not in text and "/tmp/" not in text and "stills/rec" not in text
        assert str(report_demo) not in result.sidecar.read_text(encoding="utf-8")
    # the helping questions named the children: the supervision and the research report show [child] instead
    assert built["supervision"].redacted == 1 and built["research"].redacted == 2
    assert "How can I get [child] to listen to me?" in _soup(built["research"]).get_text()
    assert json.loads(built["research"].sidecar.read_text())["redacted"] == 2


def test_export_refuses_a_planted_real_name_and_path(report_demo: Path, tmp_path: Path) -> None:
    planted_name = DEMO_CASES[1].real_name  # Birch's protected real name, planted on Aster's report
    planted_path = "/home/anna/families/aster/session1.mp4"
    with pytest.raises(DeidentificationError) as info:
        build(report_demo, "micro-analysis", case="Aster", session="1", to="html", out_dir=tmp_path,
              author=planted_name, params={"project_title": planted_path})
    message = str(info.value)
    assert "the real name of case 'Birch'" in message and "an absolute POSIX path" in message
    assert "parameter 'author'" in message and "parameter 'project_title'" in message  # where they came from
    for part in [*planted_name.split(), "anna", "families"]:  # the message never repeats a protected term
        assert part not in message
    assert list(tmp_path.iterdir()) == []  # nothing written


# -- PDF -----------------------------------------------------------------------------------------------


def _pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _poppler() -> None:
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils (pdftoppm, pdfinfo, pdfimages) not installed")


@pytest.mark.browser
@pytest.mark.parametrize("kind", list(KINDS))
def test_pdf_pages_render_with_vector_charts_and_image_stills(built: dict[str, ReportResult], kind: str,
                                                              tmp_path: Path) -> None:
    _poppler()
    result = built[kind]
    if result.pdf is None:
        pytest.skip("no Chromium: the PDFs were not built")
    info = subprocess.run(["pdfinfo", str(result.pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 3 and "(A4)" in info
    assert "CreationDate:    Thu Nov 26 09:30:00 2026 UTC" in info  # stamped with the generation time
    # raster images in the PDF: exactly the stills (charts are vector graphics)
    listing = subprocess.run(["pdfimages", "-list", str(result.pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    n_stills = len(_soup(result).select("figure.wb-still"))
    assert len([line for line in listing if " image " in line]) == n_stills
    text = _pdftotext(result.pdf)
    assert "Contents" in text and result.info["kind_label"] in text
    for title in KINDS[kind][1]:
        assert title.split(",")[0] in text
    # the pages render, and none is blank
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(result.pdf), str(tmp_path / "page")], check=True)
    import cv2

    for png in sorted(tmp_path.glob("page-*.png")):
        gray = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
        assert gray is not None and gray.shape[0] > gray.shape[1]  # portrait
        content = gray[: int(gray.shape[0] * 0.93)]  # above the footer (page numbers)
        assert (content < 128).mean() > 0.0005, f"{png.name} of the {kind} PDF looks blank"


@pytest.mark.parametrize("kind", list(KINDS))
def test_no_pdf_page_but_the_last_is_mostly_blank(built: dict[str, ReportResult], kind: str, tmp_path: Path) -> None:
    """A page may end early only where the report ends: a forced page break or a figure too tall for what is
    left of a page once left two-thirds of a page empty."""
    _poppler()
    result = built[kind]
    if result.pdf is None:
        pytest.skip("no Chromium: the PDFs were not built")
    subprocess.run(["pdftoppm", "-r", "30", "-gray", str(result.pdf), str(tmp_path / "page")], check=True)
    import cv2

    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert pages
    for page in pages[:-1]:
        gray = cv2.imread(str(page), cv2.IMREAD_GRAYSCALE)
        body = gray[: int(gray.shape[0] * 0.93)]  # above the footer (page numbers)
        inked = np.flatnonzero((body < 200).any(axis=1))
        assert len(inked) and inked[-1] > 0.5 * gray.shape[0], (
            f"page {page.stem.split('-')[-1]} of the {kind} PDF is mostly blank: its content ends at "
            f"{inked[-1] / gray.shape[0] if len(inked) else 0:.0%} of the page")


# -- offline HTML in Chromium --------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("kind", list(KINDS))
def test_html_renders_offline_in_chromium(built: dict[str, ReportResult], chromium: Any, kind: str) -> None:
    path = built[kind].html
    url = path.resolve().as_uri()
    context = chromium.new_context(offline=True)
    page = context.new_page()
    requests: list[str] = []
    failed: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
    try:
        page.goto(url)
        outcome = page.evaluate("""async () => { await window.wbChartsReady;
            return Array.from(document.querySelectorAll('figure.wb-chart')).map(f => ({
              rendered: f.dataset.rendered, error: f.dataset.error || '',
              marks: f.querySelectorAll('.wb-chart-live svg g.mark-rect path, .wb-chart-live svg g.mark-line path,'
                + '.wb-chart-live svg g.mark-symbol path, .wb-chart-live svg g.mark-rule line').length })) }""")
        images = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
    finally:
        context.close()
    assert requests == [url] and failed == [] and errors == []
    assert outcome and all(c["rendered"] == "vega" and c["marks"] > 0 for c in outcome), outcome
    assert all(images)


#: Every table, figure and chart of the page that reaches past the right edge of the report's column
#: (its content box, 760 px on screen; the printable width of A4 in print).
OVERFLOW = """() => Array.from(document.querySelectorAll('main table, main figure, main svg')).map(el => {
  const main = document.querySelector('main.wb-main'), style = getComputedStyle(main);
  const right = main.getBoundingClientRect().right - parseFloat(style.paddingRight);
  const box = el.getBoundingClientRect();
  return {what: el.tagName + ' ' + ((el.querySelector('caption, figcaption') || {}).textContent || ''),
          over: Math.max(box.right, box.left + el.scrollWidth) - right};
}).filter(x => x.over > 0.5)"""


@pytest.mark.browser
@pytest.mark.parametrize("kind", list(KINDS))
def test_tables_and_figures_fit_the_page(built: dict[str, ReportResult], chromium: Any, kind: str) -> None:
    """Measured in Chromium: on screen in the 760 px column, and in print at A4's printable width (180 mm),
    nothing is wider than its box (the contingency table once took 805 px of 760 and cut its last column)."""
    for media, width in (("screen", 1200), ("print", 680)):
        page = chromium.new_page(viewport={"width": width, "height": 1000})
        try:
            page.emulate_media(media=media)
            page.goto(built[kind].html.resolve().as_uri())
            page.evaluate("async () => { await window.wbChartsReady; }")  # the charts drawn live, on screen
            assert page.evaluate(OVERFLOW) == [], (media, width)
        finally:
            page.close()


# -- reproducible ---------------------------------------------------------------------------------------


def test_rebuild_is_identical_apart_from_the_generation_time(
    built: dict[str, ReportResult], report_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same report again, through the command line, an hour later: only the stated time differs."""
    from workbench.cli import main

    first = built["micro-analysis"]
    later = (WHEN + dt.timedelta(hours=1)).isoformat()
    code = main(["report", str(report_demo), "--kind", "micro-analysis", "--case", "Aster", "--session", "1",
                 "--to", ",".join(first.files), "--out", str(tmp_path), "--generated-at", later])
    assert code == 0 and "Wrote" in capsys.readouterr().out
    again = {p.suffix: p for p in tmp_path.iterdir()}
    a = first.html.read_text(encoding="utf-8")
    b = again[".html"].read_text(encoding="utf-8")
    assert a != b and a.replace(WHEN.isoformat(), later) == b
    if first.pdf is not None and shutil.which("pdftotext"):  # same pages, same text but for the time
        assert _pdftotext(first.pdf).replace(WHEN.isoformat(), later) == _pdftotext(again[".pdf"])
    sa, sb = json.loads(first.sidecar.read_text()), json.loads(again[".json"].read_text())
    assert {k: v for k, v in sa.items() if k not in ("generated_at", "files")} == \
           {k: v for k, v in sb.items() if k not in ("generated_at", "files")}


# -- accreditation pack --------------------------------------------------------------------------------


def test_pack_manifest_checksums_hold_on_unzip(built: dict[str, ReportResult], report_demo: Path,
                                              tmp_path: Path) -> None:
    import workbench

    req_file = tmp_path / "requirements.yaml"
    req_file.write_text("requirements:\n"
                        "  - {id: cases, label: Cases, metric: cases, target: 2}\n"
                        "  - {id: sup, label: Supervision sessions, metric: supervision_sessions, target: 4}\n"
                        "  - {id: hours, label: Supervision hours, metric: supervision_hours, hours_per_session: 1.5,"
                        " target: 4}\n"
                        "  - {id: reps, label: Supervision reports, metric: reports, report_kind: supervision,"
                        " target: 1}\n", encoding="utf-8")
    out = tmp_path / "pack.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the supervision report was built with faces blurred: no warning
        result = build_pack(report_demo, "trainee", out, reports=[built["supervision"]], requirements=req_file,
                            generated_at=WHEN)
    extracted = tmp_path / "unzipped"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(extracted)
    manifest = json.loads((extracted / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == result.manifest
    on_disk = sorted(str(p.relative_to(extracted)) for p in extracted.rglob("*") if p.is_file())
    assert on_disk == sorted(["manifest.json", *(f["path"] for f in manifest["files"])])
    for entry in manifest["files"]:
        data = (extracted / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    with workbench.open_project(report_demo) as project:
        n_stills = sum(len(project.stills(r)) for c in project.cases() for r in project.recordings(case=c))
        assert manifest["scheme"] == {"id": project.scheme.id, "version": str(project.scheme.version),
                                      "name": project.scheme.name}
    assert sum(f["type"] == "still" for f in manifest["files"]) == n_stills  # the trainee guides every demo case
    assert {f["format"] for f in manifest["files"] if f["type"] == "report"} == set(built["supervision"].files)
    assert manifest["workbench_version"] == workbench.__version__ and manifest["generated_at"] == WHEN.isoformat()
    assert manifest["faces_blurred"] is True and manifest["trainee"] == "trainee"
    progress = {r["id"]: (r["achieved"], r["met"]) for r in manifest["requirements"]}
    # the demo: three cases, each with one supervision session; one supervision report in this pack
    assert progress == {"cases": (3, True), "sup": (3, False), "hours": (4.5, True), "reps": (1, True)}
    assert verify_pack(out)["requirements_met"] == 3
    # a changed file is caught
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data + b" " if item.filename.startswith("stills/") else data)
    from workbench.errors import FormatError

    with pytest.raises(FormatError, match="sha256 differs"):
        verify_pack(tampered)


def test_pack_warns_about_a_report_built_without_blurring(built: dict[str, ReportResult], report_demo: Path,
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.media.faces as faces

    monkeypatch.setattr(faces, "blur_faces", lambda image, *a, **k: (image, []))  # the stills are not the point here
    with pytest.warns(UserWarning, match="without face blurring"):
        build_pack(report_demo, "trainee", tmp_path / "p.zip", reports=[built["micro-analysis"]], generated_at=WHEN)
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        names = zf.namelist()
    assert names[0] == "manifest.json" and all(not n.startswith("/") and ".." not in n for n in names)


def test_requirement_lists_are_validated(tmp_path: Path) -> None:
    from workbench.errors import FormatError
    from workbench.report import default_requirements

    assert {r.metric for r in default_requirements()} >= {"cases", "supervision_sessions", "reports"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {id: a, metric: cups_of_tea, target: 3}\n- {id: a, metric: cases, target: -1}\n",
                   encoding="utf-8")
    with pytest.raises(FormatError) as info:
        load_requirements(bad)
    text = str(info.value)
    assert "bad.yaml: 3 problem(s)" in text and "'cups_of_tea'" in text and "repeats 'a'" in text
    assert "'target' to be a number >= 0, but got -1" in text


def test_pack_command_line(built: dict[str, ReportResult], report_demo: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main

    out = tmp_path / "cli-pack.zip"
    code = main(["pack", str(report_demo), "--trainee", "trainee", "--out", str(out), "--no-blur",
                 "--report", str(built["supervision"].html)])
    printed = capsys.readouterr().out
    assert code == 0 and out.is_file() and "Supervision sessions: 3 of 6 sessions (not yet)" in printed
    assert main(["pack", str(report_demo), "--trainee", "nobody", "--out", str(out)]) == 2
    assert "Expected cases guided or coded by 'nobody'" in capsys.readouterr().err


# -- faces ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def face_image() -> np.ndarray:
    """Grace Hopper's portrait from matplotlib's sample data (one frontal face)."""
    cbook = pytest.importorskip("matplotlib.cbook")
    import cv2

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        data = np.frombuffer(f.read(), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    return iw * ih / (aw * ah + bw * bh - iw * ih)


def test_face_found_where_opencv_finds_it_and_blurred(face_image: np.ndarray) -> None:
    import cv2

    from workbench.media import blur_faces, detect_faces

    faces = detect_faces(face_image, max_side=320)  # searched at half size (quicker), boxes in full size
    frontal = [f for f in faces if f.detector == "frontal"]
    assert len(frontal) == 1
    assert _iou((frontal[0].x, frontal[0].y, frontal[0].width, frontal[0].height), (149, 100, 231, 231)) > 0.85
    blurred, boxes = blur_faces(face_image, frontal)
    assert boxes == frontal
    assert detect_faces(blurred, max_side=320) == []  # nothing a detector (or a person) recognises as a face is left
    f = frontal[0]
    pad = round(f.width * 0.25)
    centre = (slice(f.y + f.height // 4, f.y + 3 * f.height // 4), slice(f.x + f.width // 4, f.x + 3 * f.width // 4))
    assert np.abs(blurred[centre].astype(int) - face_image[centre].astype(int)).mean() > 10
    # the face's detail is gone: almost no edges left in the middle of the face
    edges = [cv2.Canny(cv2.cvtColor(im[centre], cv2.COLOR_BGR2GRAY), 50, 150).mean() for im in (face_image, blurred)]
    assert edges[1] < 0.05 * edges[0]
    outside = blurred[:, : max(0, f.x - pad)]
    assert np.array_equal(outside, face_image[:, : max(0, f.x - pad)])


def test_blur_leaves_a_still_without_faces_alone(report_demo: Path) -> None:
    import cv2

    import workbench
    from workbench.media import blur_faces

    with workbench.open_project(report_demo) as project:
        path = project.still_path(project.stills()[0])
    image = cv2.imread(str(path))
    out, boxes = blur_faces(image)
    assert boxes == [] and np.array_equal(out, image)
    everything, _ = blur_faces(image, everything=True)
    assert everything.shape == image.shape and not np.array_equal(everything, image)


def test_pack_png_stills_are_the_blurred_ones(built: dict[str, ReportResult], report_demo: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The pack runs every still through the face blur (here a stand-in that marks the image)."""
    import cv2

    import workbench.media.faces as faces

    def mark(image: np.ndarray, *args: Any, **kwargs: Any) -> tuple[np.ndarray, list[Any]]:
        out = image.copy()
        out[:10, :10] = (0, 0, 255)
        return out, [faces.FaceBox(0, 0, 10, 10)]

    monkeypatch.setattr(faces, "blur_faces", mark)
    result = build_pack(report_demo, "trainee", tmp_path / "b.zip", reports=[built["supervision"]],
                        generated_at=WHEN)
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        still = next(n for n in zf.namelist() if n.startswith("stills/"))
        image = cv2.imdecode(np.frombuffer(io.BytesIO(zf.read(still)).getvalue(), np.uint8), cv2.IMREAD_COLOR)
    assert tuple(image[5, 5]) == (0, 0, 255)
    assert all(f["faces_found"] == 1 for f in result.manifest["files"] if f["type"] == "still")

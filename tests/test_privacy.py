"""De-identification: every variant of a protected name or path the issue lists, caught in every export.

The protected terms are made up: the demo's case Aster (real name ``Marigold Thistlewood``) and its
child (``Sam Thistlewood``), a project word list, and paths invented for the test. Each variant is
planted where people write free text (a supervisor's comment, a helping question, a session label,
an annotation's note, a still's caption, a report edited by hand) and looked for in what the export
wrote, read back by other tools than the one that wrote it: BeautifulSoup for HTML, poppler's
``pdftotext`` for PDF (pypdf where poppler is missing), the zip and csv modules for packs and tables.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.fixtures.reports import readable_text
from workbench.deidentify import MIN_PART, NameSpec, PathSpec, Protected, WordSpec, fold, markup_spans
from workbench.demo import DEMO_CASES
from workbench.report import DeidentificationError, build, build_pack
from workbench.report.privacy import Scrubber, pdf_text, png_text_chunks, protected_terms, scrub_files

ASTER = DEMO_CASES[0]
SURNAME, GIVEN = ASTER.real_name.split()[1], ASTER.real_name.split()[0]  # Thistlewood, Marigold
CHILD = ASTER.child_name.split()[0]  # Sam
#: Where the planted paths point; their distinctive parts must not reach an export.
PATH_WORDS = ("wrenfold", "larkspur", "hollyhock", "nasbox")

#: The variants of the issue: how a real name shows up in free text (after the case's real name and the child's).
NAME_VARIANTS: dict[str, str] = {
    "surname alone": f"{SURNAME} came late",
    "given name alone": f"and {GIVEN} smiled",
    "reordered": f"{SURNAME}, {GIVEN}",
    "title": f"Mrs {SURNAME} waits",
    "title with a stop": f"Dr. {SURNAME} waits",
    "initial": f"{GIVEN[0]}. {SURNAME} waits",
    "hyphen join": f"{GIVEN}-{SURNAME}",
    "underscore join": f"{GIVEN.lower()}_{SURNAME.lower()}",
    "capitals": f"{GIVEN.upper()} {SURNAME.upper()}",
    "zero-width space": f"{SURNAME[:7]}\u200b{SURNAME[7:]}",
    "zero-width joiner": f"{GIVEN[:4]}\u200d{GIVEN[4:]}",
    "word joiner": f"{SURNAME[:3]}\u2060{SURNAME[3:]}",
    "byte-order mark": f"{SURNAME[:5]}\ufeff{SURNAME[5:]}",
    "soft hyphen": f"{SURNAME[:7]}\u00ad{SURNAME[7:]}",
    "full-width (NFKC)": "".join(chr(ord(c) + 0xFEE0) for c in SURNAME),
    "possessive": f"{SURNAME}'s family",
    "plural": f"the {SURNAME}s visited",
    "joined by a zero-width space": f"{GIVEN}\u200b{SURNAME}",
    "character reference (soft hyphen)": f"{SURNAME[:7]}&shy;{SURNAME[7:]}",
    "child's first name": f"{CHILD} brings the toy",
    "child's name in capitals": f"{CHILD.upper()}!",
    "child's name at a sentence end": f"well done, {CHILD}.",
    "percent-encoded name": f"{GIVEN}%20{SURNAME}",
}
#: The paths of the issue (the project folder and the films' stored and original names are added per project).
PATH_VARIANTS: dict[str, str] = {
    "POSIX home": "/home/wrenfold/films/visit.mp4",
    "Windows, forward slashes": "C:/Users/larkspur/films/visit.mp4",
    "Windows, backslashes": "C:\\Users\\larkspur\\films\\visit.mp4",
    "home-relative": "~/hollyhock/visit.mp4",
    "home-relative of a user": "~wrenfold/films/visit.mp4",
    "URL-encoded": "%2Ftmp%2Fhollyhock%2Fvisit.mp4",
    "file URL": "file:///srv/larkspur/visit.mp4",
    "network share": "\\\\nasbox\\families\\visit.mp4",
}
#: Words that look like a protected term but are not one: they must pass.
NOT_PROTECTED = [
    "Samuel and Samantha are the same",
    "Jojo joined the major",
    "see https://example.org/home/x",
    '<svg xmlns="http://www.w3.org/2000/svg"></svg>',
    "S. and M. and T.",
    "Thistledown and Marigolden",
    "at 12:30 on 2026/03/02, 50% of 3/4",
]


def _have_chromium() -> bool:
    from tests.fixtures.browser import chromium_path

    return chromium_path() is not None


def _pdf_words(path: Path) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return pdf_text(path.read_bytes())


def _leaks(text: str, project_folder: Path | None = None) -> list[str]:
    """The protected words found in ``text`` (folded as people would still read them)."""
    words = set(re.findall(r"[^\W_]+", fold(text)))
    words |= {w[:-1] for w in words if w.endswith("s")}  # "the Thistlewoods"
    parts = {p.lower() for name in (ASTER.real_name, ASTER.child_name) for p in name.split()}
    found = sorted((parts | set(PATH_WORDS)) & words)
    if project_folder is not None and str(project_folder) in text:
        found.append("the project folder")
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project of this module (its children carry protected names)."""
    from workbench.demo import build_demo

    folder = tmp_path_factory.mktemp("privacy") / "demo"
    build_demo(folder).close()
    return folder


@pytest.fixture
def planted(demo: Path, tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A copy of the demo with every name and path variant written as a supervisor's comment on Aster's
    pre film (which the supervision report shows): variant -> comment id."""
    import workbench

    folder = tmp_path / "planted"
    shutil.copytree(demo, folder)
    ids: dict[str, int] = {}
    with workbench.open_project(folder) as project:
        rec = project.recordings(case="Aster")[0]
        from workbench.store import schema as t

        with project.engine.begin() as conn:  # as if the film had been registered under its own file name
            conn.execute(
                t.recordings.update()
                .where(t.recordings.c.id == rec.id)
                .values(original_name="Larkspur-birthday-0412.MOV")
            )
        variants = {
            **NAME_VARIANTS,
            **PATH_VARIANTS,
            "project folder": f"see {folder}/media",
            "stored media file name": f"film {Path(rec.path).name} again",
            "original film name": "from Larkspur-birthday-0412.MOV",
            "still file name": f"still {Path(project.stills(rec)[0].image_path).name}",
        }
        for n, (what, text) in enumerate(variants.items()):
            ids[what] = project.add_comment(rec, 1000 + 400 * n, "supervisor", f"Note {n}: {text}.").id
    return folder, ids


# -- the matcher --------------------------------------------------------------------------------------


def _aster_terms(**paths: str) -> Protected:
    return Protected.build(
        [
            NameSpec(ASTER.real_name, "[name]", "the real name of case 'Aster'"),
            NameSpec(ASTER.child_name, "[child]", "the real name of participant 'child' of case 'Aster'"),
        ],
        [WordSpec("Oak Lane Primary")],
        [PathSpec(p, what) for what, p in paths.items()],
        home="/home/wrenfold",
    )


@pytest.mark.parametrize("what", list(NAME_VARIANTS))
def test_every_name_variant_is_found_and_replaced_where_it_stands(what: str) -> None:
    text = f"Before. {NAME_VARIANTS[what]} After."
    hits = _aster_terms().find(text, entities="&" in text)
    assert hits, what
    redacted, count = _aster_terms().redact(text, entities="&" in text)
    assert count == len(hits) and redacted.startswith("Before. ") and redacted.endswith(" After.")
    assert not _leaks(redacted), (what, redacted)
    assert re.search(r"\[(child|name)\]", redacted)


def test_placeholders_say_whose_name_it_was_and_take_the_whole_name() -> None:
    p = _aster_terms()
    assert p.redact(f"{CHILD} and Mrs {SURNAME}")[0] == "[child] and [name]"  # a family name: [name]
    assert p.redact(f"{SURNAME}, {GIVEN} asked {CHILD} {SURNAME}.")[0] == "[name] asked [child]."
    assert p.redact(f"{GIVEN[0]}. {SURNAME} at Oak-Lane primary")[0] == "[name] at [withheld]"
    # the positions are those of the original text, invisible characters included
    text = f"x {SURNAME[:4]}\u200b\u00ad{SURNAME[4:]} y"
    (hit,) = p.find(text)
    assert text[hit.start : hit.end] == f"{SURNAME[:4]}\u200b\u00ad{SURNAME[4:]}"


@pytest.mark.parametrize("what", list(PATH_VARIANTS))
def test_every_path_variant_is_found(what: str) -> None:
    redacted, count = _aster_terms().redact(f"The film: {PATH_VARIANTS[what]} (copied).")
    assert count == 1 and "[path]" in redacted and not _leaks(redacted), redacted


def test_known_paths_match_in_every_form() -> None:
    """A folder outside the usual roots is only known by the project: found in every form all the same."""
    p = Protected.build(
        paths=[
            PathSpec("/projects/vig/aster-project", "the project folder"),
            PathSpec("media/rec-0123456789abcdef.mp4", "the file name of recording 1", file_name=True),
        ],
        home="/projects",
    )
    for form in (
        "/projects/vig/aster-project/media",
        "~/vig/aster-project",
        "%2Fprojects%2Fvig%2Faster-project",
        "\\projects\\vig\\aster-project",
        "Rec-0123456789ABCDEF.mp4",
    ):
        hits = p.find(f"in {form}.")
        assert len(hits) == 1 and hits[0].term.placeholder == "[path]", form
        assert p.redact(f"in {form}.")[0] == "in [path].", form


def test_what_only_looks_like_a_term_passes() -> None:
    p = _aster_terms()
    for text in NOT_PROTECTED:
        assert p.find(text, markup_spans(text) if text.startswith("<") else None) == [], text
    one_letter = Protected.build([NameSpec("J Q Smith")])
    assert one_letter.find("J and Q went") == [] and MIN_PART == 2
    common = Protected.build([NameSpec("Will May")])  # parts that are common words: whole words only
    assert len(common.find("we will see in May")) == 2 and common.find("willow and mayor") == []


def test_markup_is_read_as_text_not_as_tags() -> None:
    p = Protected.build([NameSpec("Jo Head")])
    page = (
        '<html><head><style>.head{}</style><script>var jo = 1;</script></head><body class="head">'
        '<img alt="Jo smiles" src="data:image/png;base64,AAAA+jo/head+AAA="><p>Jo &amp; Mr&#160;Head</p>'
        '<script type="application/json">{"head": "Jo\\u200bHead"}</script><!-- Jo --></body></html>'
    )
    redacted, count = p.redact(page, markup_spans(page), entities=True)
    assert count == 5  # alt, the paragraph (two), the chart data, the comment
    assert '<img alt="[name] smiles" src="data:image/png;base64,AAAA+jo/head+AAA=">' in redacted
    assert "<p>[name] &amp; [name]</p>" in redacted and '{"head": "[name]"}' in redacted
    assert "<!-- [name] -->" in redacted
    assert '<body class="head">' in redacted and "var jo = 1;" in redacted


def test_png_text_chunks_and_pdf_text_are_read() -> None:
    png = _png_with_text("Comment", f"Filmed at {SURNAME} home")
    assert png_text_chunks(png)[0][:2] == ("Comment", f"Filmed at {SURNAME} home")
    scrubber = Scrubber(_aster_terms())
    scrubber.file("stills/a.png", png)
    assert [f.where for f in scrubber.findings] == ["stills/a.png (text chunk 'Comment')"]
    redacting = Scrubber(_aster_terms(), redact=True)
    clean = redacting.file("stills/a.png", png)
    assert png_text_chunks(clean) == [] and redacting.total == 1
    assert f"{GIVEN} {SURNAME}" in pdf_text(_pdf_with_text(f"Dear {GIVEN} {SURNAME}"))


# -- the store -------------------------------------------------------------------------------------------


def test_participants_real_names_and_the_word_list_are_protected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import workbench
    from workbench.cli import main

    with workbench.open_project(tmp_path / "p", create=True) as project:
        case = project.add_case("Larch", real_name="Hazel Brindlecombe")
        child = project.add_participant(case, "child", "child", "3-5", real_name="Tobias Brindlecombe")
        parent = project.add_participant(case, "mother", "parent", real_name="  ")
        assert child.real_name == "Tobias Brindlecombe" and parent.real_name is None
        assert "Tobias" not in repr(child)
        project.update_participant(parent, real_name="Hazel Brindlecombe")
        project.add_protected_word("St Swithun's School")
        assert project.add_protected_word("st  swithun's school") == 1  # the same term, as exports compare it
        assert project.protected_words() == ["St Swithun's School"]
        terms = protected_terms(project)
        log = project.audit_log()
    assert {"tobias", "brindlecombe", "hazel"} <= set(terms.name_parts)
    assert terms.name_parts["tobias"].placeholder == "[child]"
    assert terms.name_parts["brindlecombe"].placeholder == "[name]"  # a family name shared by child and parent
    dump = json.dumps(log["details"].tolist(), default=str)
    assert "Tobias" not in dump and "Hazel" not in dump and "Swithun" not in dump and "(protected)" in dump
    redacted, n = terms.redact("Tobias at st-swithun's school with Mrs Brindlecombe")
    assert (redacted, n) == ("[child] at [withheld] with [name]", 3)
    # the command line
    folder = str(tmp_path / "p")
    assert main(["protect", "add", folder, "Oak", "Lane"]) == 0
    assert main(["protect", "list", folder]) == 0
    assert "St Swithun's School\nOak Lane\n2 term(s)" in capsys.readouterr().out
    assert main(["protect", "remove", folder, "oak lane"]) == 0
    assert main(["protect", "remove", folder, "Elm Row"]) == 2
    err = capsys.readouterr().err
    assert "does not hold it" in err and "Elm" not in err


# -- reports ----------------------------------------------------------------------------------------------


def test_supervision_report_refuses_every_variant_naming_the_comment(
    planted: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    folder, ids = planted
    out = tmp_path / "out"
    with pytest.raises(DeidentificationError) as info:
        build(folder, "supervision", case="Aster", to="html", out_dir=out)
    message = str(info.value)
    named = [what for what, cid in ids.items() if f"comment {cid} (recording" in message]
    assert sorted(named) == sorted(ids)  # every planted comment is named, with its field
    assert "field 'text'" in message and "supervision-Aster-s4.html, line" in message
    assert not _leaks(message, folder) and "Larkspur-birthday" not in message  # never a term itself
    assert not out.exists()  # nothing written


def test_supervision_report_redacts_every_variant_in_html_and_pdf(
    planted: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    folder, ids = planted
    formats = ("html", "pdf") if _have_chromium() else ("html",)
    result = build(folder, "supervision", case="Aster", to=formats, out_dir=tmp_path, redact=True)
    page = readable_text(result.html.read_text(encoding="utf-8"))
    assert _leaks(page, folder) == [] and "Larkspur-birthday" not in page
    shown = {int(n): text for n, text in re.findall(r"Note (\d+): (.{0,60})", page)}
    assert sorted(shown) == list(range(len(ids)))  # every comment is still there ...
    assert all(re.search(r"\[(child|parent|name|path)\]", text) for text in shown.values()), shown  # ... scrubbed
    assert result.redacted >= len(ids) + 1  # at least one per comment, and the helping question's child's name
    if result.pdf is not None:
        text = _pdf_words(result.pdf)
        assert _leaks(text, folder) == [] and "[child]" in text and "Larkspur" not in text


def test_research_report_leaves_no_surname_of_a_helping_question(demo: Path, tmp_path: Path) -> None:
    import workbench

    folder = tmp_path / "research"
    shutil.copytree(demo, folder)
    with workbench.open_project(folder) as project:
        project.update_case(project.case("Birch"), helping_question=f"Will the {SURNAME.upper()}S' visits help?")
        project.update_case(project.case("Cedar"), helping_question=f"How does Mr {SURNAME} see it?")
    with pytest.raises(DeidentificationError) as info:
        build(folder, "research", out_dir=tmp_path / "refused")
    assert "case 'Cedar', field 'helping question'" in str(info.value)
    result = build(folder, "research", out_dir=tmp_path / "out", redact=True)
    page = readable_text(result.html.read_text(encoding="utf-8"))
    assert _leaks(page) == [] and "How does [name] see it?" in page
    assert result.html.name == "research-all-cases.html"


def test_micro_analysis_pdf_leaves_no_first_name_of_a_session_label(demo: Path, tmp_path: Path) -> None:
    if not _have_chromium():
        pytest.skip("PDF reports need Chromium")
    import workbench

    folder = tmp_path / "micro"
    shutil.copytree(demo, folder)
    with workbench.open_project(folder) as project:
        session = project.sessions("Aster")[0]
        project.update_session(session, label=f"{CHILD}'s first filming")
    with pytest.raises(DeidentificationError) as info:
        build(folder, "micro-analysis", case="Aster", session=str(session.id), to="pdf", out_dir=tmp_path / "no")
    assert f"session {session.id} (case 'Aster'), field 'label'" in str(info.value)
    assert not (tmp_path / "no").exists()
    result = build(
        folder, "micro-analysis", case="Aster", session=str(session.id), to="pdf", out_dir=tmp_path / "out", redact=True
    )
    text = _pdf_words(result.pdf)
    assert _leaks(text) == [] and "[child]" in text and result.redacted >= 1


# -- packs -------------------------------------------------------------------------------------------------


def _png_with_text(keyword: str, text: str) -> bytes:
    import cv2
    import numpy as np

    _, png = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))
    body = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    data = png.tobytes()
    return data[:33] + chunk + data[33:]  # after the signature and IHDR


def _pdf_with_text(text: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica (written by hand: objects, then the cross-reference table)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def clean_report(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Aster's supervision report (HTML), built with redaction, with its sidecar."""
    out = tmp_path_factory.mktemp("clean-report")
    return build(demo, "supervision", case="Aster", to="html", out_dir=out, redact=True, blur_faces=True).html


def test_pack_refuses_a_report_edited_by_hand(
    demo: Path, clean_report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.cli import main

    edited = tmp_path / clean_report.name
    page = clean_report.read_text(encoding="utf-8")
    edited.write_text(
        page.replace("</main>", f"<p>Filmed by {ASTER.real_name} in /home/alice/films.</p></main>"), encoding="utf-8"
    )
    shutil.copy(clean_report.with_suffix(".json"), edited.with_suffix(".json"))
    out = tmp_path / "pack.zip"
    code = main(["pack", str(demo), "--trainee", "trainee", "--out", str(out), "--report", str(edited)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert f"reports/{edited.name}, line" in err and "the real name of case 'Aster'" in err
    assert "an absolute POSIX path" in err and not _leaks(err) and "alice" not in err
    # with --redact the HTML is cleaned and packed, and the count said
    code = main(["pack", str(demo), "--trainee", "trainee", "--out", str(out), "--report", str(edited), "--redact"])
    printed = capsys.readouterr().out
    assert code == 0 and "Replaced 2 protected" in printed
    with zipfile.ZipFile(out) as zf:
        packed = zf.read(f"reports/{edited.name}").decode("utf-8")
    # the case's real name is its parent's: [parent]
    assert "<p>Filmed by [parent] in [path].</p>" in packed and not _leaks(readable_text(packed))
    # a PDF cannot be redacted: refused either way
    pdf = tmp_path / "supervision-edited.pdf"
    pdf.write_bytes(_pdf_with_text(f"Signed: {GIVEN} {SURNAME}"))
    side = json.loads(clean_report.with_suffix(".json").read_text())
    side["files"] = {"pdf": {"name": pdf.name}}
    pdf.with_suffix(".json").write_text(json.dumps(side), encoding="utf-8")
    code = main(
        ["pack", str(demo), "--trainee", "trainee", "--out", str(tmp_path / "p2.zip"), "--report", str(pdf), "--redact"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "A PDF cannot be redacted" in err and not (tmp_path / "p2.zip").exists()


def test_pack_checks_stills_captions(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench
    import workbench.media.faces as faces

    monkeypatch.setattr(faces, "blur_faces", lambda image, *a, **k: (image, []))  # the stills are not the point
    folder = tmp_path / "caps"
    shutil.copytree(demo, folder)
    with workbench.open_project(folder) as project:
        rec = project.recordings(case="Aster")[0]
        still = project.add_still(rec, 2000, caption=f"{CHILD} holds up the toy")
    with pytest.raises(DeidentificationError) as info:
        build_pack(folder, "trainee", tmp_path / "p.zip", reports=[], cases=["Aster"])
    message = str(info.value)
    assert (
        "manifest.json, line" in message
        and f"still {still.id} (recording {rec.id}, case 'Aster'), field 'caption'" in message
    )
    assert not (tmp_path / "p.zip").exists()
    result = build_pack(folder, "trainee", tmp_path / "p.zip", reports=[], cases=["Aster"], redact=True)
    captions = [f["caption"] for f in result.manifest["files"] if f["type"] == "still"]
    assert "[child] holds up the toy" in captions and result.redacted == 1


# -- exports of annotations ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".eaf", ".tsv", ".sds"])
def test_annotation_export_refuses_or_redacts_notes(
    demo: Path, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import workbench
    from workbench.cli import main

    folder = tmp_path / "export"
    shutil.copytree(demo, folder)
    with workbench.open_project(folder) as project:
        rec = project.recordings(case="Aster")[0]
        row = int(project.annotations(rec, coder="trainee").to_dataframe()["id"].iloc[0])
        project.update_annotation(row, note=f"{SURNAME}, {GIVEN} at C:\\Users\\larkspur\\x.mp4")
    out = tmp_path / f"coding{suffix}"
    args = ["export", str(folder), "--recording", str(rec.id), "--coder", "trainee", "--out", str(out)]
    carries_notes = suffix in (".csv", ".tsv")  # ELAN and SDIS files have no notes: nothing protected reaches them
    assert main(args) == (2 if carries_notes else 0)
    err = capsys.readouterr().err
    if carries_notes:
        assert f"annotation {row} (recording {rec.id}), field 'note'" in err and not _leaks(err)
        assert not out.exists()
    assert main([*args, "--redact"]) == 0
    printed = capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert not _leaks(text) and "larkspur" not in text.lower()
    if carries_notes:
        assert "[parent] at [path]" in text and "Replaced 2 protected" in printed


def test_films_and_handouts_can_call_one_function(demo: Path) -> None:
    import workbench

    with workbench.open_project(demo) as project:
        files, n = scrub_files(
            project,
            {
                "film.srt": f"1\n00:00:01,000 --> 00:00:02,000\n{CHILD} waves\n".encode(),
                "handout.html": b"<p>For the Quillfeather family</p>",
            },
            redact=True,
        )
        assert n == 2 and b"[child] waves" in files["film.srt"] and b"For the [name] family" in files["handout.html"]
        with pytest.raises(DeidentificationError, match=r"film\.srt, line 3, column 1"):
            scrub_files(project, {"film.srt": f"1\n00:00:01,000 --> 00:00:02,000\n{CHILD} waves\n".encode()})

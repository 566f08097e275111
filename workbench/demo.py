"""The demo project: generated films of two figures taking turns, coded by a trainee and a supervisor.

Everything is generated, nothing is downloaded, and every person is made up.
The films are drawn from the same *interaction script* that yields the
supervisor's coding, so the coding is true to the picture: when the child holds
up the toy (a non-verbal initiative) the parent looks over and smiles (a
reception) and then answers (a response); once, in the *pre* film, the parent
is looking away and the initiative is missed.

Examples
--------
>>> from workbench.demo import interaction_script
>>> script = interaction_script("pre")
>>> script[0].actor, script[0].code
('child', 'initiative-nonverbal')
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from workbench.annotations import AnnotationTable

if TYPE_CHECKING:
    from workbench.store import Project

__all__ = [
    "DEMO_CASES",
    "DEMO_REGIONS",
    "DEMO_REPORT",
    "Act",
    "build_demo",
    "demo_regions",
    "interaction_script",
    "render_film",
]

log = logging.getLogger(__name__)

FPS = 25
SIZE = (640, 360)
DURATION_S = 60.0
SAMPLE_RATE = 48_000

Phase = Literal["pre", "post"]

#: A visual-only act of the script (drawn, never coded): the parent looks away.
LOOKING_AWAY = "_looking-away"


@dataclass(frozen=True, slots=True)
class Act:
    """One coded act of the script (times in ms)."""

    actor: str
    code: str
    onset_ms: int
    offset_ms: int


@dataclass(frozen=True, slots=True)
class DemoCase:
    """A made-up case: pseudonym, protected made-up real name, helping question, outcome numbers."""

    pseudonym: str
    real_name: str
    helping_question: str
    psi_pre: float
    psi_post: float
    goal_pre: float
    goal_post: float


#: Made-up cases. The real names are invented and must never appear in an export.
DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase("Aster", "Marigold Thistlewood", "How can I get Sam to listen to me?", 112, 88, 3, 7),
    DemoCase("Birch", "Peregrine Oakhollow", "I want us to enjoy playtime again.", 97, 90, 4, 6),
    DemoCase("Cedar", "Rosalind Quillfeather", "How do I help Jo settle at bedtime?", 120, 101, 2, 6),
)


def interaction_script(phase: Phase, seed: int = 0) -> list[Act]:
    """The acts of a ~60 s film: turn-taking cycles of initiative, reception and response.

    In the ``"pre"`` film one child initiative is missed (the parent is looking
    away: drawn, not coded), one is received but not answered and one is
    overridden (discordant). The ``"post"`` film has more parent-led cycles and
    every initiative answered. ``seed`` jitters timing.
    """
    rng = np.random.default_rng(seed)
    acts: list[Act] = []

    def add(actor: str, code: str, onset_s: float, dur_s: float = 0.0) -> None:
        on = round(onset_s * 1000)
        acts.append(Act(actor, code, on, on + round(dur_s * 1000)))

    t = 1.0
    cycle = 0
    while t < DURATION_S - 5.0:
        j = float(rng.uniform(-0.15, 0.15))
        child_leads = cycle % 3 != 2 if phase == "pre" else cycle % 2 == 0
        if phase == "pre" and cycle == 7:
            # the missed initiative: the child holds up the toy, the parent is looking away
            add("child", "initiative-nonverbal", t + j, 1.4)
            add("parent", LOOKING_AWAY, t + j + 0.2, 3.2)
            t += 5.5
        elif phase == "pre" and cycle == 4:
            # received only: the parent looks over and smiles, then turns back to the tidying
            add("child", "initiative-verbal", t + j)
            add("parent", "returning-eye-contact", t + j + 0.7, 1.2)
            t += 4.5
        elif phase == "pre" and cycle == 10:
            # discordant: the parent takes over with a new topic
            add("child", "initiative-verbal", t + j)
            add("parent", "discordant-overriding", t + j + 0.6, 1.5)
            t += 4.5
        elif child_leads:
            add("child", "initiative-nonverbal", t + j, 1.2)
            add("parent", "returning-eye-contact", t + j + 0.6, 1.4)
            add("parent", "receiving-words", t + j + 1.1)
            add("parent", "receiving-responding", t + j + 1.9, 1.6)
            add("child", "having-fun", t + j + 3.0, 1.0)
            t += 5.0
        else:
            add("parent", "initiative-verbal", t + j)
            add("parent", "naming-positively", t + j + 0.1, 1.0)
            add("child", "looking-interested", t + j + 0.8, 1.5)
            add("child", "short-turns", t + j + 2.0, 1.2)
            add("parent", "waiting", t + j + 3.3, 1.0)
            t += 4.8
        cycle += 1
    return sorted(acts, key=lambda a: (a.onset_ms, a.actor))


def _active(acts: Sequence[Act], actor: str, codes: set[str], t_ms: int) -> bool:
    return any(
        a.actor == actor and a.code in codes and a.onset_ms <= t_ms <= max(a.offset_ms, a.onset_ms + 400) for a in acts
    )


def _frames(acts: Sequence[Act], label: str) -> Iterator[np.ndarray]:
    import cv2  # OpenCV draws the figures; imported here so the core stays light

    w, h = SIZE
    n = int(DURATION_S * FPS)
    background = np.full((h, w, 3), (232, 240, 246), np.uint8)
    cv2.rectangle(background, (0, int(h * 0.78)), (w, h), (160, 190, 205), -1)  # floor
    speak = {"initiative-verbal", "receiving-words", "naming-positively", "receiving-responding",
             "discordant-overriding"}
    for i in range(n):
        t = round(i * 1000 / FPS)
        img = background.copy()
        # parent: left, tall
        px, head_y = 190, 120
        away = _active(acts, "parent", {LOOKING_AWAY}, t)
        towards = _active(acts, "parent", {"returning-eye-contact", "receiving-responding"}, t)
        nod = 6 if _active(acts, "parent", {"receiving-responding"}, t) and (t // 250) % 2 else 0
        cv2.rectangle(img, (px - 45, head_y + 40), (px + 45, int(h * 0.78)), (120, 90, 60), -1)
        cv2.circle(img, (px, head_y + nod), 38, (150, 190, 230), -1)
        look = -14 if away else (12 if towards else 4)
        for dx in (-12, 12):
            cv2.circle(img, (px + dx + look, head_y - 6 + nod), 5, (40, 40, 40), -1)
        if _active(acts, "parent", {"returning-eye-contact"}, t):
            cv2.ellipse(img, (px + look // 2, head_y + 14 + nod), (14, 8), 0, 10, 170, (40, 40, 160), 3)
        if _active(acts, "parent", speak, t):
            cv2.ellipse(img, (px + 95, head_y - 55), (52, 26), 0, 0, 360, (255, 255, 255), -1)
            cv2.putText(img, "...", (px + 72, head_y - 48), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (60, 60, 60), 2)
        # child: right, small
        cx, chead = 450, 200
        cv2.rectangle(img, (cx - 28, chead + 26), (cx + 28, int(h * 0.78)), (70, 130, 200), -1)
        cv2.circle(img, (cx, chead), 26, (150, 190, 230), -1)
        for dx in (-8, 8):
            cv2.circle(img, (cx + dx - 6, chead - 4), 4, (40, 40, 40), -1)
        if _active(acts, "child", {"initiative-nonverbal"}, t):
            cv2.line(img, (cx - 20, chead + 40), (cx - 60, chead - 30), (70, 130, 200), 10)
            cv2.rectangle(img, (cx - 80, chead - 60), (cx - 45, chead - 25), (60, 180, 250), -1)  # the toy
        if _active(acts, "child", {"having-fun", "short-turns"}, t):
            cv2.ellipse(img, (cx - 6, chead + 10), (9, 5), 0, 10, 170, (40, 40, 160), 2)
        if _active(acts, "child", {"initiative-verbal", "short-turns"}, t):
            cv2.ellipse(img, (cx + 60, chead - 60), (38, 20), 0, 0, 360, (255, 255, 255), -1)
            cv2.putText(img, "!", (cx + 55, chead - 50), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (60, 60, 60), 2)
        cv2.putText(
            img,
            f"{label}  {t / 1000:06.2f}s  frame {i}",
            (10, h - 12),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (30, 30, 30),
            1,
            cv2.LINE_AA,
        )
        yield img


def _soundtrack(acts: Sequence[Act]) -> np.ndarray:
    """Short tones where someone speaks: lower for the parent, higher for the child."""
    n = int(DURATION_S * SAMPLE_RATE)
    audio = np.zeros(n, np.float32)
    voiced = {
        "initiative-verbal": 0.5,
        "receiving-words": 0.4,
        "naming-positively": 0.8,
        "receiving-responding": 0.6,
        "short-turns": 0.5,
    }
    for a in acts:
        if a.code not in voiced:
            continue
        freq = 220.0 if a.actor == "parent" else 440.0
        start = int(a.onset_ms * SAMPLE_RATE / 1000)
        k = np.arange(int(voiced[a.code] * SAMPLE_RATE))
        tone = 0.25 * np.sin(2 * np.pi * freq * k / SAMPLE_RATE) * np.hanning(len(k))
        end = min(n, start + len(k))
        audio[start:end] += tone[: end - start].astype(np.float32)
    return np.clip(audio, -1, 1)


def render_film(path: Path, acts: Sequence[Act], label: str) -> Path:
    """Render the script's film as H.264/AAC MP4 (plays in Chromium), with a soundtrack."""
    from workbench.media.synth import write_video

    return write_video(path, _frames(acts, label), FPS, codec="h264", audio=_soundtrack(acts), sample_rate=SAMPLE_RATE)


def _coded(acts: Sequence[Act], coder: str, rng: np.random.Generator, faithful: bool) -> AnnotationTable:
    """The acts as annotations; a trainee's coding drifts a little and swaps a few codes."""
    rows = []
    swaps = {"receiving-words": "showing-noticed", "having-fun": "short-turns", "looking-interested": "turning-towards"}
    for a in acts:
        on, off, code = a.onset_ms, a.offset_ms, a.code
        if code == LOOKING_AWAY:
            continue
        if not faithful:
            if rng.random() < 0.06:
                continue  # the trainee missed this one
            shift = int(rng.integers(-180, 181))
            on, off = max(0, on + shift), max(0, off + shift)
            if code in swaps and rng.random() < 0.25:
                code = swaps[code]
        rows.append({"actor": a.actor, "code": code, "onset_ms": on, "offset_ms": off, "coder": coder})
    return AnnotationTable(rows)


#: The two people's regions in the demo films (x, y, width, height in pixels): the parent left, the child right.
DEMO_REGIONS: dict[str, tuple[int, int, int, int]] = {"parent": (110, 60, 170, 240), "child": (360, 150, 160, 150)}


def demo_regions(project: Project, recording: int) -> dict[str, tuple[int, int, int, int]] | None:
    """:data:`DEMO_REGIONS` if ``recording`` is one of the demo's films, else None (a film of one's own
    needs its own regions: where each person is in the picture)."""
    rec = project.recording(recording)
    cases = {c.pseudonym for c in project.cases()}
    if (rec.width, rec.height) == SIZE and {c.pseudonym for c in DEMO_CASES} <= cases:
        return dict(DEMO_REGIONS)
    return None


#: The report ``workbench demo`` exports: the supervision of the first shared review of case Aster.
DEMO_REPORT: dict[str, str] = {"case": "Aster", "session": "supervision of SRS 1", "name": "supervision-Aster-demo"}


def build_demo(folder: str | Path, *, seed: int = 7) -> Project:
    """Build the demo project in ``folder`` (which must not hold a project yet).

    Three made-up cases, each with a *pre* and a *post* filming session (the
    films of the first case are rendered; the other cases share them), a
    supervision session, annotations by a trainee and a supervisor, moments with
    stills, comments, goals with ratings and pre/post outcome measures.

    Returns
    -------
    Project
        The open project (close it when done).
    """
    from workbench.store import open_project

    folder = Path(folder)
    if (folder / "workbench.db").exists():
        raise FileExistsError(f"Expected an empty folder for the demo, but {folder} already holds a project.")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    project = open_project(folder, create=True, coder="supervisor")

    scripts = {phase: interaction_script(phase, seed=seed) for phase in ("pre", "post")}
    films: dict[str, Path] = {}
    scratch = folder / ".demo-build"
    scratch.mkdir(exist_ok=True)
    for phase, acts in scripts.items():
        log.info("rendering the %s film", phase)
        films[phase] = render_film(scratch / f"demo-{phase}.mp4", acts, f"demo film ({phase})")

    for n, dc in enumerate(DEMO_CASES):
        case = project.add_case(
            dc.pseudonym, real_name=dc.real_name, helping_question=dc.helping_question, guider="trainee"
        )
        project.add_participant(case, "parent", "parent", "18+")
        project.add_participant(case, "child", "child", "1-3" if n % 2 == 0 else "3-5")
        start = dt.date(2026, 3, 2) + dt.timedelta(days=9 * n)
        for cycle, phase in ((1, "pre"), (3, "post")):
            date = start + dt.timedelta(weeks=0 if phase == "pre" else 10)
            session = project.add_session(case, "filming", date, cycle=cycle, label=f"{phase} filming")
            rec = project.add_recording(session, films[phase], label=f"{dc.pseudonym} {phase}")
            acts = scripts[phase]
            project.add_annotations(rec, _coded(acts, "supervisor", rng, faithful=True))
            project.add_annotations(rec, _coded(acts, "trainee", rng, faithful=False))
            first = next(a for a in acts if a.code == "returning-eye-contact")
            moment = project.add_moment(
                rec,
                first.onset_ms - 800,
                first.offset_ms + 1500,
                "Receiving the toy",
                reason="The parent looks over and smiles.",
                reflection="You notice the toy straight away and smile back.",
            )
            project.add_still(
                rec, first.onset_ms + 300, caption="You look over and smile: she shows you the toy.", moment=moment
            )
            if n == 0:
                missed = [a for a in acts if a.code == LOOKING_AWAY]
                for a in missed:
                    project.add_comment(
                        rec,
                        a.onset_ms,
                        "supervisor",
                        "Here the initiative is missed: what might help you notice it?",
                        status="discuss",
                    )
                project.add_comment(
                    rec, first.onset_ms, "supervisor", "Well spotted: a clear attuned cycle.", status="agree"
                )
        project.add_session(case, "shared review", start + dt.timedelta(weeks=2), cycle=1, label="SRS 1")
        project.add_session(case, "supervision", start + dt.timedelta(weeks=3), cycle=1, label="supervision of SRS 1")
        goal = project.add_goal(case, "Notice and answer my child's initiatives", 0, 10)
        project.rate_goal(goal, start, dc.goal_pre)
        project.rate_goal(goal, start + dt.timedelta(weeks=10), dc.goal_post)
        for point, value, day in (("pre", dc.psi_pre, start), ("post", dc.psi_post, start + dt.timedelta(weeks=10))):
            project.add_measure(case, "PSI-SF", "total (36-180)", point, value, date=day)
            project.add_measure(
                case, "goal rating", "0-10", point, dc.goal_pre if point == "pre" else dc.goal_post, date=day
            )
    for p in films.values():
        p.unlink(missing_ok=True)
    scratch.rmdir()
    return project

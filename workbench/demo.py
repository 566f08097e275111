"""The demo project: generated films of two figures taking turns, coded by a trainee and a supervisor.

Everything is generated, nothing is downloaded, and every person is made up. Each
case's *pre* and *post* film is drawn from its own *interaction script*, which
also yields the supervisor's coding, so that coding is true to the picture: when
the child holds up the toy (a non-verbal initiative) the parent looks over and
smiles (a reception) and then answers (a response); sometimes the parent is
looking away and misses it, only looks, or talks over it; sometimes the parent
starts something and the child plays on. The families differ, and change
between the films (Aster's a lot, Birch's little); the trainee codes every film
too, missing and mis-coding some acts and lagging behind the picture.

Examples
--------
>>> from workbench.demo import interaction_script
>>> script = interaction_script("Aster", "pre")
>>> script[0].actor, script[0].code, script[0].meant
('child', 'initiative-nonverbal', 'attuned')
>>> sorted({a.meant for a in script if a.meant})
['attuned', 'discordant', 'missed', 'received']
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from workbench.annotations import AnnotationTable

if TYPE_CHECKING:
    from workbench.model import Recording
    from workbench.project import Project

__all__ = [
    "CONFUSIONS",
    "DEMO_CASES",
    "DEMO_CONSENT",
    "DEMO_REGIONS",
    "DEMO_REPORT",
    "Act",
    "Coding",
    "DemoCase",
    "Profile",
    "Score",
    "build_demo",
    "demo_regions",
    "interaction_script",
    "render_film",
    "supervisor_coding",
    "trainee_coding",
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
    """One act of the script (times in ms); ``meant`` is what an initiative is written to meet.

    ``meant`` is the outcome the episode is written for (``"attuned"``, ``"received"``,
    ``"discordant"`` or ``"missed"``) on an initiative, ``""`` on every other act. Codes starting
    with ``_`` are drawn but never coded (someone looking away).
    """

    actor: str
    code: str
    onset_ms: int
    offset_ms: int
    meant: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """How one filmed interaction goes: how many episodes of each kind, in a random order.

    ``child`` counts the child's initiatives that the parent answers (attuned), only receives, overrides
    or turns away from (discordant), or misses; ``parent`` counts the parent's initiatives (episodes,
    some with two initiatives) that the child takes up (attuned), only looks at (received) or misses.
    """

    child: tuple[int, int, int, int]
    parent: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Coding:
    """How the trainee codes a film: misses, mis-codes, lags behind (more as the film goes on), adds."""

    miss: float
    miscode: float
    lag_ms: int
    drift_ms_per_min: int
    jitter_ms: int
    extra_per_min: float


@dataclass(frozen=True, slots=True)
class Score:
    """An outcome measure of a case: instrument, scale, pre and post score."""

    instrument: str
    scale: str
    pre: float
    post: float


@dataclass(frozen=True, slots=True)
class DemoCase:
    """A made-up case: pseudonym, protected made-up real name, helping question, how its films go, how the
    trainee codes them, goal ratings (start, shared review, end), outcome scores and the child's protected
    made-up real name (the parent participant carries the case's)."""

    pseudonym: str
    real_name: str
    helping_question: str
    pre: Profile
    post: Profile
    trainee: Coding
    goal: tuple[float, float, float]
    scores: tuple[Score, ...]
    child_name: str = ""

    def score(self, instrument: str) -> Score:
        """The case's score on ``instrument``."""
        return next(s for s in self.scores if s.instrument == instrument)


#: Made-up cases. The real names are invented and must never appear in an export: the parents' (the cases'),
#: and the children's, whose first names the helping questions use ("Sam", "Jo"), so that every export of
#: the demo shows the de-identification at work (refused, or ``[child]`` with redaction). Aster's family changes a
#: lot between the pre and the post film, Birch's little, Cedar's starts lowest and catches up; the trainee
#: finds Cedar's film the hardest to code.
DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase("Aster", "Marigold Thistlewood", "How can I get Sam to listen to me?",
             pre=Profile(child=(3, 1, 1, 1), parent=(2, 1, 1)), post=Profile(child=(5, 1, 0, 0), parent=(3, 1, 0)),
             trainee=Coding(miss=0.06, miscode=0.18, lag_ms=150, drift_ms_per_min=250, jitter_ms=120,
                            extra_per_min=1.0),
             goal=(3, 5, 7),
             scores=(Score("PSI-SF", "total (36-180)", 112, 88), Score("SDQ", "total difficulties (0-40)", 18, 12),
                     Score("SDQ", "prosocial (0-10)", 5, 8)),
             child_name="Sam Thistlewood"),
    DemoCase("Birch", "Peregrine Oakhollow", "I want us to enjoy playtime again.",
             pre=Profile(child=(3, 2, 0, 1), parent=(3, 0, 1)), post=Profile(child=(4, 1, 0, 1), parent=(3, 1, 0)),
             trainee=Coding(miss=0.04, miscode=0.12, lag_ms=80, drift_ms_per_min=100, jitter_ms=90,
                            extra_per_min=0.5),
             goal=(4, 4, 6),
             scores=(Score("PSI-SF", "total (36-180)", 97, 90), Score("SDQ", "total difficulties (0-40)", 14, 13),
                     Score("SDQ", "prosocial (0-10)", 6, 7)),
             child_name="Wren Oakhollow"),
    DemoCase("Cedar", "Rosalind Quillfeather", "How do I help Jo settle at bedtime?",
             pre=Profile(child=(2, 1, 2, 2), parent=(1, 1, 1)), post=Profile(child=(4, 1, 0, 1), parent=(3, 1, 0)),
             trainee=Coding(miss=0.10, miscode=0.25, lag_ms=220, drift_ms_per_min=350, jitter_ms=160,
                            extra_per_min=1.5),
             goal=(2, 4, 6),
             scores=(Score("PSI-SF", "total (36-180)", 120, 101), Score("SDQ", "total difficulties (0-40)", 21, 15),
                     Score("SDQ", "prosocial (0-10)", 4, 6)),
             child_name="Jo Quillfeather"),
)

#: What each demo family consented to (made up): supervision, accreditation, research and their own shared
#: review for every case, so that every report and pack of the demo builds; training (films shown to other
#: practitioners) only for Aster's. Consent ends with the retention period, ten years after the work.
DEMO_CONSENT: dict[str, dict[str, Any]] = {
    "Aster": {"purposes": ["supervision", "accreditation", "research", "shared review", "training"],
              "viewers": ["guider", "supervisor", "assessor", "researcher"], "until": "2036-03-31",
              "given_by": "parent", "note": "Signed at the first filming; training added at the shared review."},
    "Birch": {"purposes": ["supervision", "accreditation", "research", "shared review"],
              "viewers": ["guider", "supervisor", "assessor", "researcher"], "until": "2036-03-31",
              "given_by": "parent", "note": "Signed at the first filming."},
    "Cedar": {"purposes": ["supervision", "accreditation", "research", "shared review"],
              "viewers": ["guider", "supervisor", "assessor", "researcher"], "until": "2036-03-31",
              "given_by": "parent and carer", "note": "Signed at the first filming."},
}

#: A visual-only act of the script (drawn, never coded): the child looking away, playing on.
CHILD_AWAY = "_child-looking-away"

_CHILD_KINDS = ("attuned", "received", "discordant", "missed")
_PARENT_KINDS = ("attuned", "received", "missed")


def interaction_script(case: int | str = 0, phase: Phase = "pre", seed: int = 7) -> list[Act]:
    """The acts of a ~60 s film of one demo case and phase: episodes of initiative, reception and response.

    Each episode is written for one outcome of its initiative (:attr:`Act.meant`): the child holds up the
    toy or says something and the parent looks over, smiles and answers (attuned), only looks (received),
    talks over it or turns away (discordant), or is looking away and misses it; or the parent starts
    something and the child takes it up, only looks, or plays on. How many of each the case's
    :class:`Profile` says; their order, which behaviours fill them and every timing vary with a generator
    seeded by ``seed``, the case and the phase. The first episode is always an attuned one.

    Parameters
    ----------
    case : int or str
        Index or pseudonym of a :data:`DEMO_CASES` entry.
    phase : {"pre", "post"}
    seed : int
    """
    names = [c.pseudonym for c in DEMO_CASES]
    if case not in names and case not in range(len(DEMO_CASES)):
        raise ValueError(f"Expected a demo case ({', '.join(names)} or 0-{len(names) - 1}), but got {case!r}.")
    if phase not in ("pre", "post"):
        raise ValueError(f"Invalid value for the 'phase' parameter. Allowed values are 'pre' and 'post', but got "
                         f"{phase!r} instead.")
    index = case if isinstance(case, int) else names.index(case)
    profile = DEMO_CASES[index].pre if phase == "pre" else DEMO_CASES[index].post
    rng = np.random.default_rng([seed, index, 0 if phase == "pre" else 1])
    episodes = [("child", k) for k, n in zip(_CHILD_KINDS, profile.child, strict=True) for _ in range(n)]
    episodes += [("parent", k) for k, n in zip(_PARENT_KINDS, profile.parent, strict=True) for _ in range(n)]
    first = episodes.pop(episodes.index(("child", "attuned")))
    episodes = [first, *(episodes[i] for i in rng.permutation(len(episodes)))]
    written = [_episode(who, kind, rng, lead=i == 0) for i, (who, kind) in enumerate(episodes)]
    lengths = [length for _, length in written]
    room = DURATION_S - 1.0 - 2.5 - sum(lengths)  # from 1 s in to 2.5 s before the end
    if room < 0.2 * len(written):
        raise ValueError(f"Expected the episodes of {DEMO_CASES[index].pseudonym} {phase} to fit in the film, but they "
                         f"take {sum(lengths):.1f} s.")
    gaps = rng.dirichlet(np.ones(len(written))) * (room - 0.2 * len(written)) + 0.2
    acts: list[Act] = []
    t = 1.0
    for (episode, length), gap in zip(written, gaps, strict=True):
        acts.extend(Act(a.actor, a.code, round((t + a.onset_ms / 1000) * 1000), round((t + a.offset_ms / 1000) * 1000),
                        a.meant) for a in episode)
        t += length + float(gap)
    return sorted(acts, key=lambda a: (a.onset_ms, a.actor, a.code))


def _episode(who: str, kind: str, rng: np.random.Generator, *, lead: bool = False) -> tuple[list[Act], float]:
    """One episode's acts (times in ms from its start, with noise) and its length in seconds.

    Every answer to an initiative falls within 3 s of it, and nothing of the partner's that could answer it
    comes in those 3 s otherwise: the episode's outcome is the one it is written for.
    """
    acts: list[Act] = []

    def add(actor: str, code: str, at: float, dur: float = 0.0, meant: str = "") -> None:
        on = at + float(rng.normal(0, 0.06)) if at > 0 else at  # an initiative starts its episode
        acts.append(Act(actor, code, round(on * 1000), round((on + max(0.0, dur)) * 1000), meant))

    def pick(options: dict[str, float]) -> str:
        keys = list(options)
        return keys[int(rng.choice(len(keys), p=np.array(list(options.values())) / sum(options.values())))]

    if who == "child":
        verbal = kind == "discordant" or (kind != "missed" and not lead and rng.random() < 0.35)
        initiative = "initiative-verbal" if verbal else "initiative-nonverbal"
        add("child", initiative, 0.0, 0.0 if verbal else rng.uniform(1.0, 1.5), meant=kind)
        answer = rng.uniform(0.45, 0.85)
        if kind == "attuned":
            reception = "returning-eye-contact" if lead else pick(
                {"returning-eye-contact": 0.6, "receiving-words": 0.25, "showing-noticed": 0.15})
            add("parent", reception, answer, rng.uniform(1.0, 1.5) if reception == "returning-eye-contact" else 0.0)
            if reception == "returning-eye-contact" and rng.random() < 0.5:
                add("parent", "receiving-words", answer + rng.uniform(0.4, 0.6))
            add("parent", pick({"receiving-responding": 0.7, "second-turn": 0.2, "extending": 0.1}),
                answer + rng.uniform(1.1, 1.5), rng.uniform(1.2, 1.8))
            follow = rng.random()
            if follow < 0.55:
                add("child", "having-fun", rng.uniform(2.9, 3.3), rng.uniform(0.8, 1.2))
            elif follow < 0.8:
                add("child", "short-turns", rng.uniform(2.9, 3.3), 1.0)
            return acts, rng.uniform(4.4, 5.0)
        if kind == "received":  # looks over and smiles, then turns back to the tidying
            add("parent", pick({"returning-eye-contact": 0.7, "showing-noticed": 0.3}), answer, rng.uniform(0.8, 1.2))
            add("parent", LOOKING_AWAY, answer + 1.6, 2.4)
            return acts, rng.uniform(4.3, 4.8)
        if kind == "discordant":  # talks over it with a new topic, or turns away from it
            if rng.random() < 0.65:
                add("parent", "discordant-overriding", answer, rng.uniform(1.2, 1.8))
            else:
                add("parent", "discordant-ignoring", answer, rng.uniform(1.5, 2.0))
            return acts, rng.uniform(4.3, 4.8)
        add("parent", LOOKING_AWAY, -0.3, 3.9)  # missed: the parent is looking away
        return acts, rng.uniform(4.8, 5.4)

    initiative = pick({"initiative-verbal": 0.45, "naming-positively": 0.2, "making-suggestions": 0.15,
                       "offering-choices": 0.1, "saying-what-doing": 0.1})
    add("parent", initiative, 0.0, 0.0 if initiative == "initiative-verbal" else rng.uniform(0.8, 1.2), meant=kind)
    if initiative == "initiative-verbal" and rng.random() < 0.5:
        add("parent", "naming-positively", rng.uniform(0.1, 0.3), 1.0, meant=kind)
    look = rng.uniform(0.7, 1.0)
    if kind == "attuned":
        add("child", pick({"looking-interested": 0.75, "turning-towards": 0.25}), look, rng.uniform(1.0, 1.5))
        add("child", pick({"short-turns": 0.6, "co-operating": 0.2, "having-fun": 0.2}), look + rng.uniform(1.0, 1.3),
            rng.uniform(1.0, 1.4))
        if rng.random() < 0.6:
            add("parent", "waiting", rng.uniform(3.3, 3.6), 1.0)
        return acts, rng.uniform(4.6, 5.1)
    if kind == "received":  # looks, then back to the toy
        add("child", "looking-interested", look, rng.uniform(0.8, 1.2))
        add("child", CHILD_AWAY, look + 1.4, 2.4)
        return acts, rng.uniform(4.2, 4.7)
    add("child", CHILD_AWAY, -0.2, 3.8)  # missed: the child plays on
    return acts, rng.uniform(4.3, 4.8)


def _active(acts: Sequence[Act], actor: str, codes: set[str], t_ms: int) -> bool:
    return any(
        a.actor == actor and a.code in codes and a.onset_ms <= t_ms <= max(a.offset_ms, a.onset_ms + 400) for a in acts
    )


#: What the parent's face and speech bubble show, by code.
_PARENT_AWAY = {LOOKING_AWAY, "discordant-ignoring"}
_PARENT_TOWARDS = {"returning-eye-contact", "receiving-responding", "showing-noticed", "second-turn", "extending",
                   "waiting"}
_PARENT_SPEAKS = {"initiative-verbal", "receiving-words", "naming-positively", "receiving-responding",
                  "discordant-overriding", "second-turn", "extending", "making-suggestions", "offering-choices",
                  "saying-what-doing"}
#: Tones where someone speaks (seconds): lower for the parent, higher for the child.
_VOICED = {"initiative-verbal": 0.5, "receiving-words": 0.4, "naming-positively": 0.8, "receiving-responding": 0.6,
           "short-turns": 0.5, "discordant-overriding": 0.9, "second-turn": 0.5, "extending": 0.6,
           "making-suggestions": 0.7, "offering-choices": 0.7, "saying-what-doing": 0.6}


def _frames(acts: Sequence[Act], label: str) -> Iterator[np.ndarray]:
    """The film's frames, drawn into one reused image: each is valid until the next is asked for."""
    import cv2  # OpenCV draws the figures; imported here so the core stays light

    w, h = SIZE
    n = int(DURATION_S * FPS)
    background = np.full((h, w, 3), (232, 240, 246), np.uint8)
    cv2.rectangle(background, (0, int(h * 0.78)), (w, h), (160, 190, 205), -1)  # floor
    img = np.empty_like(background)
    for i in range(n):
        t = round(i * 1000 / FPS)
        np.copyto(img, background)
        # parent: left, tall
        px, head_y = 190, 120
        away = _active(acts, "parent", _PARENT_AWAY, t)
        towards = _active(acts, "parent", _PARENT_TOWARDS, t)
        nod = 6 if _active(acts, "parent", {"receiving-responding", "showing-noticed"}, t) and (t // 250) % 2 else 0
        cv2.rectangle(img, (px - 45, head_y + 40), (px + 45, int(h * 0.78)), (120, 90, 60), -1)
        cv2.circle(img, (px, head_y + nod), 38, (150, 190, 230), -1)
        look = -14 if away else (12 if towards else 4)
        for dx in (-12, 12):
            cv2.circle(img, (px + dx + look, head_y - 6 + nod), 5, (40, 40, 40), -1)
        if _active(acts, "parent", {"returning-eye-contact"}, t):
            cv2.ellipse(img, (px + look // 2, head_y + 14 + nod), (14, 8), 0, 10, 170, (40, 40, 160), 3)
        if _active(acts, "parent", _PARENT_SPEAKS, t):
            cv2.ellipse(img, (px + 95, head_y - 55), (52, 26), 0, 0, 360, (255, 255, 255), -1)
            cv2.putText(img, "...", (px + 72, head_y - 48), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (60, 60, 60), 2)
        # child: right, small
        cx, chead = 450, 200
        cv2.rectangle(img, (cx - 28, chead + 26), (cx + 28, int(h * 0.78)), (70, 130, 200), -1)
        cv2.circle(img, (cx, chead), 26, (150, 190, 230), -1)
        gaze = 6 if _active(acts, "child", {CHILD_AWAY}, t) else -6
        for dx in (-8, 8):
            cv2.circle(img, (cx + dx + gaze, chead - 4), 4, (40, 40, 40), -1)
        if _active(acts, "child", {"initiative-nonverbal", "co-operating"}, t):
            cv2.line(img, (cx - 20, chead + 40), (cx - 60, chead - 30), (70, 130, 200), 10)
            cv2.rectangle(img, (cx - 80, chead - 60), (cx - 45, chead - 25), (60, 180, 250), -1)  # the toy
        if _active(acts, "child", {"having-fun", "short-turns", "co-operating"}, t):
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
    for a in acts:
        if a.code not in _VOICED:
            continue
        freq = 220.0 if a.actor == "parent" else 440.0
        start = int(a.onset_ms * SAMPLE_RATE / 1000)
        k = np.arange(int(_VOICED[a.code] * SAMPLE_RATE))
        tone = 0.25 * np.sin(2 * np.pi * freq * k / SAMPLE_RATE) * np.hanning(len(k))
        end = min(n, start + len(k))
        audio[start:end] += tone[: end - start].astype(np.float32)
    return np.clip(audio, -1, 1)


def render_film(path: Path, acts: Sequence[Act], label: str) -> Path:
    """Render the script's film as H.264/AAC MP4 (plays in Chromium), with a soundtrack.

    x264's fastest preset: flat drawn figures compress well anyway (under 1 MB a minute).
    """
    from workbench.media.synth import write_video

    return write_video(path, _frames(acts, label), FPS, codec="h264", audio=_soundtrack(acts), sample_rate=SAMPLE_RATE,
                       preset="ultrafast")


#: What a trainee mistakes a code for (plausible confusions between neighbouring behaviours).
CONFUSIONS: dict[str, str] = {
    "returning-eye-contact": "showing-noticed", "showing-noticed": "returning-eye-contact",
    "receiving-words": "repeating-words", "receiving-responding": "second-turn", "second-turn": "extending",
    "having-fun": "short-turns", "short-turns": "having-fun", "looking-interested": "turning-towards",
    "turning-towards": "looking-interested", "initiative-nonverbal": "initiative-verbal",
    "naming-positively": "emotional-warmth", "making-suggestions": "giving-information",
    "discordant-overriding": "receiving-words",  # hears the words, not that they talk over the child
    "discordant-ignoring": "giving-time-space",  # reads turning away as giving space
}
#: What a trainee codes where nothing was (a look, a wait).
_EXTRAS = (("parent", "enjoying-watching"), ("parent", "waiting"), ("child", "looking-interested"))


def supervisor_coding(acts: Sequence[Act]) -> AnnotationTable:
    """The script as the supervisor codes it: every coded act, exactly (true to the picture)."""
    return AnnotationTable([{"actor": a.actor, "code": a.code, "onset_ms": a.onset_ms, "offset_ms": a.offset_ms,
                             "coder": "supervisor"} for a in acts if not a.code.startswith("_")])


def trainee_coding(acts: Sequence[Act], style: Coding, rng: np.random.Generator) -> AnnotationTable:
    """The script as a trainee codes it: some acts missed, some mis-coded (:data:`CONFUSIONS`), onsets late by
    a lag that grows through the film and jitters, a few acts coded where nothing was."""
    rows = []
    end_ms = int(DURATION_S * 1000)
    for a in acts:
        if a.code.startswith("_") or rng.random() < style.miss:
            continue
        code = CONFUSIONS[a.code] if a.code in CONFUSIONS and rng.random() < style.miscode else a.code
        shift = style.lag_ms + style.drift_ms_per_min * a.onset_ms / 60_000 + rng.normal(0, style.jitter_ms)
        on = int(np.clip(a.onset_ms + shift, 0, end_ms - 1))
        length = (a.offset_ms - a.onset_ms) * rng.uniform(0.85, 1.15)
        rows.append({"actor": a.actor, "code": code, "onset_ms": on, "offset_ms": int(min(on + length, end_ms)),
                     "coder": "trainee"})
    for _ in range(rng.poisson(style.extra_per_min * DURATION_S / 60)):
        actor, code = _EXTRAS[int(rng.integers(len(_EXTRAS)))]
        on = int(rng.integers(1000, end_ms - 2000))
        rows.append({"actor": actor, "code": code, "onset_ms": on, "offset_ms": on + 800, "coder": "trainee"})
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


#: The report ``workbench demo`` exports: the supervision of the first shared review of case Aster (75 minutes),
#: with redaction on (the helping question names the child: ``[child]`` in the report).
DEMO_REPORT: dict[str, Any] = {"case": "Aster", "session": "supervision of SRS 1", "name": "supervision-Aster-demo",
                               "params": {"duration_min": 75}}


def build_demo(folder: str | Path, *, seed: int = 7) -> Project:
    """Build the demo project in ``folder`` (which must not hold a project yet).

    Three made-up cases (:data:`DEMO_CASES`), each with a *pre* and a *post* filming session (a film of
    its own for each, drawn from :func:`interaction_script`), a shared review and a supervision
    session, coding by the supervisor (true to the picture) and by the trainee (with the misses,
    mis-codings and lag of :func:`trainee_coding`), moments with stills, the supervisor's comments,
    a goal rated three times, pre/post outcome measures and the family's consent (:data:`DEMO_CONSENT`).

    Returns
    -------
    Project
        The open project (close it when done).
    """
    from concurrent.futures import ThreadPoolExecutor

    from workbench.project import open_project

    folder = Path(folder)
    if (folder / "workbench.db").exists():
        raise FileExistsError(f"Expected an empty folder for the demo, but {folder} already holds a project.")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    project = open_project(folder, create=True, coder="supervisor")

    phases: tuple[Phase, Phase] = ("pre", "post")
    scripts = {(n, phase): interaction_script(n, phase, seed=seed) for n in range(len(DEMO_CASES)) for phase in phases}
    scratch = folder / ".demo-build"
    scratch.mkdir(exist_ok=True)
    log.info("rendering %d films", len(scripts))
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # a 640x360 colour conversion costs more in OpenCV's thread pool than on one thread
    try:
        with ThreadPoolExecutor(max_workers=min(len(scripts), os.cpu_count() or 2)) as pool:  # films side by side
            jobs = {key: pool.submit(render_film, scratch / f"demo-{key[0]}-{key[1]}.mp4", acts,
                                     f"{DEMO_CASES[key[0]].pseudonym} ({key[1]})") for key, acts in scripts.items()}
            films = {key: job.result() for key, job in jobs.items()}
    finally:
        cv2.setNumThreads(threads)

    for n, dc in enumerate(DEMO_CASES):
        case = project.add_case(
            dc.pseudonym, real_name=dc.real_name, helping_question=dc.helping_question, guider="trainee"
        )
        project.add_participant(case, "parent", "parent", "18+", real_name=dc.real_name)
        project.add_participant(case, "child", "child", "1-3" if n % 2 == 0 else "3-5", real_name=dc.child_name)
        start = dt.date(2026, 3, 2) + dt.timedelta(days=9 * n)
        for cycle, phase in ((1, "pre"), (3, "post")):
            date = start + dt.timedelta(weeks=0 if phase == "pre" else 10)
            session = project.add_session(case, "filming", date, cycle=cycle, label=f"{phase} filming")
            rec = project.add_recording(session, films[(n, phase)], label=f"{dc.pseudonym} {phase}")
            acts = scripts[(n, phase)]
            project.add_annotations(rec, supervisor_coding(acts))
            style = dc.trainee if phase == "pre" else _better(dc.trainee)  # the trainee learns
            project.add_annotations(rec, trainee_coding(acts, style, rng))
            _moment_and_comments(project, rec, acts)
        project.add_session(case, "shared review", start + dt.timedelta(weeks=2), cycle=1, label="SRS 1")
        project.add_session(case, "supervision", start + dt.timedelta(weeks=3), cycle=1, label="supervision of SRS 1")
        goal = project.add_goal(case, "Notice and answer my child's initiatives", 0, 10)
        for weeks, value in zip((0, 2, 10), dc.goal, strict=True):
            project.rate_goal(goal, start + dt.timedelta(weeks=weeks), value)
        for point, day in (("pre", start), ("post", start + dt.timedelta(weeks=10))):
            project.add_measure(case, "goal rating", "0-10", point, dc.goal[0] if point == "pre" else dc.goal[-1],
                                date=day)
            for score in dc.scores:
                project.add_measure(case, score.instrument, score.scale, point,
                                    score.pre if point == "pre" else score.post, date=day)
        project.set_consent(case, **DEMO_CONSENT[dc.pseudonym])
    for p in films.values():
        p.unlink(missing_ok=True)
    scratch.rmdir()
    return project


def _better(style: Coding) -> Coding:
    """The trainee ten weeks on: fewer misses and mis-codings, less lag."""
    return Coding(miss=style.miss * 0.6, miscode=style.miscode * 0.6, lag_ms=int(style.lag_ms * 0.7),
                  drift_ms_per_min=int(style.drift_ms_per_min * 0.6), jitter_ms=style.jitter_ms,
                  extra_per_min=style.extra_per_min * 0.6)


def _moment_and_comments(project: Project, rec: Recording, acts: Sequence[Act]) -> None:
    """The trainee's best moment (the first look and smile) with a still; the supervisor's comments."""
    first = next(a for a in acts if a.code == "returning-eye-contact")
    moment = project.add_moment(
        rec,
        first.onset_ms - 800,
        first.offset_ms + 1500,
        "Receiving the toy",
        reason="The parent looks over and smiles.",
        reflection="You notice the toy straight away and smile back.",
    )
    project.add_still(rec, first.onset_ms + 300, caption="You look over and smile: she shows you the toy.",
                      moment=moment)
    project.add_comment(rec, first.onset_ms, "supervisor", "Well spotted: a clear attuned cycle.", status="agree")
    for a in acts:
        if a.meant == "missed" and a.actor == "child":
            project.add_comment(rec, a.onset_ms, "supervisor",
                                "Here the initiative is missed: what might help you notice it?", status="discuss")
        elif a.meant == "discordant":
            project.add_comment(rec, a.onset_ms, "supervisor",
                                "The child starts something and the answer goes elsewhere: how did you code it?",
                                status="revise")

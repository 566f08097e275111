"""What each report kind shows, gathered from a project as de-identified tables and charts.

The report notebooks in ``notebooks/report-*.ipynb`` build one of these objects from their
parameters and display its tables and charts; a user adapting a notebook can use the same
methods. Everything returned here is de-identified: cases by pseudonym, recordings by label,
stills as image bytes (face-blurred on request), never a real name, a file path or video.

Examples
--------
>>> import workbench
>>> from workbench.report.data import MicroAnalysis
>>> project = workbench.open_project("demo-project")  # doctest: +SKIP
>>> r = MicroAnalysis(project, case="Aster", session=1)  # doctest: +SKIP
>>> r.contingency_table()  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from workbench.analysis.contingency import OUTCOMES, contingencies, contingency_summary
from workbench.annotations import AnnotationTable
from workbench.charts import better_phrase
from workbench.errors import NotFoundError, WorkbenchError
from workbench.model import Case, Comment, Moment, Recording, Session, SessionKind, Still
from workbench.report import figures
from workbench.report.show import fmt_ms, stills_html, table_html

if TYPE_CHECKING:
    import altair as alt

    from workbench.project import Project

__all__ = [
    "KIND_LABELS",
    "MicroAnalysis",
    "ReportData",
    "Research",
    "Supervision",
    "Verp",
    "default_session",
    "resolve_case",
    "resolve_session",
]

log = logging.getLogger(__name__)

#: Report kinds and their titles.
KIND_LABELS: dict[str, str] = {
    "micro-analysis": "Micro-analysis of a recording",
    "supervision": "Supervision record",
    "verp": "Video Enhanced Reflective Practice",
    "research": "Research comparison",
}


# -- resolving what the user named --------------------------------------------------------------------


def resolve_case(project: Project, case: Case | int | str) -> Case:
    """A case by record, id, pseudonym or id given as text (``"2"``): the store's one rule (:meth:`Project.case`)."""
    return project.case(case)


def _sessions_listing(sessions: Sequence[Session]) -> str:
    return "; ".join(f"{s.id} ({s.kind.value}, {s.date.isoformat()}, {s.label!r})" for s in sessions) or "none"


def resolve_session(project: Project, case: Case, session: Session | int | str) -> Session:
    """A session of ``case`` by record, id, label or date (``YYYY-MM-DD``, if only one that day).

    Raises
    ------
    NotFoundError
        If the case has no such session (the message lists the case's sessions).
    """
    sessions = project.sessions(case)
    if isinstance(session, Session):
        session = session.id
    text = str(session).strip()
    found: list[Session] = []
    if text.isdigit():
        found = [s for s in sessions if s.id == int(text)]
    if not found:
        found = [s for s in sessions if s.label == text]
    if not found:
        found = [s for s in sessions if s.date.isoformat() == text]
    if len(found) != 1:
        what = "matches several sessions" if found else "is not one of its sessions"
        raise NotFoundError(
            f"Expected a session of case {case.pseudonym!r} (an id, label or date), but {text!r} {what}. "
            f"Its sessions: {_sessions_listing(sessions)}."
        )
    return found[0]


def default_session(project: Project, case: Case, kind: SessionKind = SessionKind.SUPERVISION) -> Session:
    """The case's only session of ``kind``, for a report that needs one and was given none.

    Raises
    ------
    ValueError
        If the case has none or several (the message lists them: id, label, date).
    """
    sessions = project.sessions(case)
    found = [s for s in sessions if s.kind == kind]
    if len(found) == 1:
        return found[0]
    if found:
        listing = "; ".join(f"{s.id} {s.label!r} ({s.date.isoformat()})" for s in found)
        raise ValueError(f"Expected a session for the {kind.value} report (--session: an id, label or date), but case "
                         f"{case.pseudonym!r} has {len(found)} {kind.value} sessions: {listing}.")
    raise ValueError(f"Expected a session for the {kind.value} report (--session: an id, label or date), but case "
                     f"{case.pseudonym!r} has no {kind.value} session. Its sessions: {_sessions_listing(sessions)}.")


def _frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(columns))


def _instrument_names(name: str, value: Any, instruments: Sequence[str]) -> tuple[str, ...]:
    """A report parameter that lists instruments: a list of names, each among ``instruments`` (any case).

    Raises
    ------
    ValueError
        Naming the parameter and what was expected (a bare string is refused: it is not a list).
    """
    from workbench.instruments import normalise_name

    example = f'{name}=\'["{instruments[0] if instruments else "PSI-SF"}"]\''
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        got = f"the string {value!r}" if isinstance(value, str) else repr(value)
        raise ValueError(f"Invalid value for the '{name}' parameter: expected a list of instrument names (on the "
                         f"command line, JSON: --param {example}), but got {got}.")
    by_key = {normalise_name(i): i for i in instruments}
    unknown = [v for v in value if normalise_name(v) not in by_key]
    if unknown:
        raise ValueError(f"Invalid value for the '{name}' parameter: expected instruments among the measures "
                         f"({', '.join(instruments) or 'none'}), but got {', '.join(map(repr, unknown))}.")
    return tuple(dict.fromkeys(by_key[normalise_name(v)] for v in value))


def _instrument_numbers(name: str, value: Any, instruments: Sequence[str], what: str,
                        ok: Callable[[float], bool]) -> dict[str, float]:
    """A report parameter that maps instruments to numbers (``{"PSI-SF": 0.84}``), each checked with ``ok``."""
    from workbench.instruments import normalise_name

    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"Invalid value for the '{name}' parameter: expected a mapping of instrument to number (on "
                         f"the command line, JSON: --param '{name}={{\"PSI-SF\": ...}}'), but got {value!r}.")
    by_key = {normalise_name(i): i for i in instruments}
    out: dict[str, float] = {}
    for key, number in value.items():
        if not isinstance(key, str) or normalise_name(key) not in by_key:
            raise ValueError(f"Invalid value for the '{name}' parameter: expected instruments among the measures "
                             f"({', '.join(instruments) or 'none'}), but got {key!r}.")
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number) \
                or not ok(number):
            raise ValueError(f"Invalid value for the '{name}' parameter: expected {what} for {key!r}, but got "
                             f"{number!r}.")
        out[by_key[normalise_name(key)]] = float(number)
    return out


def _change_word(improvement: float, better: str) -> str:
    """What a change is on an instrument: improvement, deterioration, no change or direction unknown."""
    if better not in ("higher", "lower"):
        return "direction unknown"
    if improvement is None or (isinstance(improvement, float) and math.isnan(improvement)):
        return "incomplete"
    return "improvement" if improvement > 0 else "deterioration" if improvement < 0 else "no change"


def _with_ci(value: float, low: float, high: float) -> str | None:
    """``"-1.91 (-3.94 to 0.17)"``; the value alone without an interval; None without a value."""
    if value is None or math.isnan(value):
        return None
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{value:.2f}"
    return f"{value:.2f} ({low:.2f} to {high:.2f})"


# -- the base ------------------------------------------------------------------------------------------


class ReportData:
    """What every report kind shares: the project, the case, the cover and de-identified stills.

    Parameters
    ----------
    project : Project
        The open project.
    case : Case, int or str, optional
        The case (pseudonym or id); the research comparison takes ``cases`` instead.
    blur_faces : bool
        Blur faces in stills (:func:`workbench.media.faces.blur_faces`).
    author : str, optional
        Named on the cover.
    project_title : str, optional
        The project's name on the cover (default: the project folder's name).
    generated_at : str, optional
        Generation time shown on the cover (the only thing that differs between two builds).
    still_width : int
        Stills are scaled down to at most this width (pixels) before embedding.
    """

    kind: ClassVar[str] = ""

    def __init__(
        self,
        project: Project,
        case: Case | int | str | None = None,
        *,
        blur_faces: bool = False,
        author: str | None = None,
        project_title: str | None = None,
        generated_at: str | None = None,
        still_width: int = 560,
    ) -> None:
        self.project = project
        self.scheme = project.scheme
        self.case: Case | None = resolve_case(project, case) if case not in (None, "") else None
        self.blur_faces = bool(blur_faces)
        self.author = author
        self.project_title = project_title or self._default_title()
        self.generated_at = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        self.still_width = int(still_width)
        self.faces_blurred = 0
        self._contingency: dict[tuple[int, str, int], pd.DataFrame] = {}

    def _default_title(self) -> str:
        if self.project.folder is not None and self.project.url.startswith("sqlite"):
            return Path(self.project.folder).name
        return self.project.url.rsplit("/", 1)[-1] or "project"

    @property
    def pseudonym(self) -> str:
        """The case's pseudonym (``""`` without a case)."""
        return self.case.pseudonym if self.case is not None else ""

    # -- cover ---------------------------------------------------------------------------------------

    def report_date(self) -> str:
        """The date the report is about (ISO); subclasses refine it."""
        return self.generated_at[:10]

    def default_author(self) -> str:
        """Who is named as author when none is given."""
        return ""

    def missing(self) -> list[str]:
        """What the report leaves out (or marks as not recorded) for want of a value, and how to give it.

        Nothing here appears in the report as a placeholder to fill in: it is left out or said plainly.
        ``workbench report`` prints these for whoever builds the report.
        """
        return []

    def cover_info(self, **extra: Any) -> dict[str, Any]:
        """The cover page: project, case pseudonym, kind, date, author, scheme and generation time (and, not
        shown, what is :meth:`missing`)."""
        info: dict[str, Any] = {
            "title": f"{KIND_LABELS[self.kind]}" + (f" — {self.pseudonym}" if self.pseudonym else ""),
            "project": self.project_title,
            "case": self.pseudonym,
            "kind": self.kind,
            "kind_label": KIND_LABELS[self.kind],
            "date": self.report_date(),
            "author": self.author or self.default_author(),
            "scheme": f"{self.scheme.id} v{self.scheme.version}",
            "generated_at": self.generated_at,
            "faces_blurred": self.blur_faces,
            "missing": self.missing(),
        }
        info.update(extra)
        return info

    # -- shared pieces -------------------------------------------------------------------------------

    @staticmethod
    def recording_label(rec: Recording) -> str:
        """A recording's label (or ``recording N``): never its file name or path."""
        return rec.label or f"recording {rec.id}"

    def code_label(self, code: str) -> str:
        """A code's label in the scheme (the key if unknown)."""
        return self.scheme.code(code).label if code in self.scheme else code

    def principle(self, code: str) -> str:
        """The category (principle) a code belongs to."""
        if code not in self.scheme:
            return "(not in scheme)"
        return self.scheme.category(self.scheme.code(code).category).label

    def coded_frame(self, table: AnnotationTable) -> pd.DataFrame:
        """Annotations as a readable table: time, end, who, what, principle, contact, note."""
        df = table.to_dataframe().sort_values(["onset_ms", "actor", "id"], kind="mergesort")
        rows = []
        for r in df.itertuples():
            kind = self.scheme.code(r.code).kind if r.code in self.scheme else ""
            rows.append({
                "time": fmt_ms(r.onset_ms),
                "end": "" if r.offset_ms == r.onset_ms else fmt_ms(r.offset_ms),
                "who": r.actor,
                "what": self.code_label(r.code),
                "principle": self.principle(r.code),
                "contact": kind or "",
                "note": r.note or "",
            })
        return _frame(rows, ["time", "end", "who", "what", "principle", "contact", "note"])

    def still_images(self, stills: Sequence[Still]) -> list[dict[str, Any]]:
        """Each still as PNG bytes (scaled, optionally face-blurred) with caption and time."""
        import cv2

        out = []
        for still in stills:
            path = self.project.still_path(still)
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise WorkbenchError(
                    f"Expected the image of still {still.id} in the project's stills folder, but it cannot be "
                    "read (missing or damaged file)."
                )
            blurred = False
            if self.blur_faces:
                from workbench.media.faces import blur_faces

                image, boxes = blur_faces(image)
                self.faces_blurred += len(boxes)
                blurred = True
            h, w = image.shape[:2]
            if w > self.still_width:
                scale = self.still_width / w
                image = cv2.resize(image, (self.still_width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
            ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
            if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
                raise WorkbenchError(f"Expected to encode still {still.id} as PNG, but OpenCV failed.")
            out.append({"png": png.tobytes(), "caption": still.caption, "time_ms": still.time_ms,
                        "width": image.shape[1], "height": image.shape[0], "blurred": blurred,
                        "still_id": still.id})
        return out

    def comments_frame(self, recordings: Sequence[Recording]) -> pd.DataFrame:
        """Comments on the recordings in time order: recording, time, author, status, comment."""
        rows = []
        for rec in recordings:
            comments: list[Comment] = sorted(self.project.comments(rec), key=lambda c: (c.time_ms, c.id))
            for c in comments:
                rows.append({"recording": self.recording_label(rec), "time": fmt_ms(c.time_ms),
                             "time_ms": c.time_ms, "author": c.author, "status": c.status.value, "comment": c.text})
        return _frame(rows, ["recording", "time", "time_ms", "author", "status", "comment"])

    def goals_frame(self, case: Case | None = None) -> pd.DataFrame:
        """Goals of the case: goal, scale, first and latest rating (with dates), change."""
        case = case or self.case
        rows = []
        for g in self.project.goals(case):
            ratings = sorted(g.ratings, key=lambda r: (r.date, r.id))
            first, last = (ratings[0], ratings[-1]) if ratings else (None, None)
            rows.append({
                "goal": g.text,
                "scale": f"{g.scale_min:g}–{g.scale_max:g}",
                "first rating": None if first is None else first.value,
                "first date": None if first is None else first.date.isoformat(),
                "latest rating": None if last is None else last.value,
                "latest date": None if last is None else last.date.isoformat(),
                "change": None if first is None or last is None else last.value - first.value,
            })
        return _frame(rows, ["goal", "scale", "first rating", "first date", "latest rating", "latest date",
                             "change"])

    def goal_ratings(self, cases: Sequence[Case] | None = None) -> pd.DataFrame:
        """Tidy goal ratings (``case, goal, date, value, scale_min, scale_max``) for charts."""
        cases = list(cases) if cases is not None else ([self.case] if self.case else self.project.cases())
        rows = []
        for c in cases:
            for g in self.project.goals(c):
                for r in sorted(g.ratings, key=lambda r: (r.date, r.id)):
                    rows.append({"case": c.pseudonym, "goal": g.text, "date": pd.Timestamp(r.date),
                                 "value": r.value, "scale_min": g.scale_min, "scale_max": g.scale_max})
        return _frame(rows, ["case", "goal", "date", "value", "scale_min", "scale_max"])

    def goal_chart(self, cases: Sequence[Case] | None = None) -> alt.Chart:
        """Goal ratings over time (coloured by case when there are several)."""
        ratings = self.goal_ratings(cases)
        return figures.goal_progress_chart(ratings, colour="case" if ratings["case"].nunique() > 1 else "goal")

    def coders_of(self, recordings: Sequence[Recording]) -> list[str]:
        """Coders with annotations on any of the recordings, sorted."""
        found: set[str] = set()
        for rec in recordings:
            found.update(self.project.annotations(rec).coders)
        return sorted(found)

    def contingency_rows(self, rec: Recording, coder: str, window_ms: int) -> pd.DataFrame:
        """Contingency summary of one coder's coding of a recording, one row per actor pair.

        Kept per recording, coder and window: a report's table and its chart ask for the same one.
        """
        key = (int(rec.id), str(coder), int(window_ms))
        if key not in self._contingency:
            self._contingency[key] = self._contingency_rows(rec, coder, window_ms)
        return self._contingency[key].copy()

    def _contingency_rows(self, rec: Recording, coder: str, window_ms: int) -> pd.DataFrame:
        table = self.project.annotations(rec, coder=coder)
        found = contingencies(table, self.scheme, window_ms=(0, int(window_ms)))
        summary = contingency_summary(found, duration_ms=rec.duration_ms)
        if summary.empty:
            return pd.DataFrame(columns=["recording", "coder", "who", *OUTCOMES, "initiatives"])
        summary = summary.assign(recording=self.recording_label(rec), coder=coder,
                                 who=summary["actor"] + " → " + summary["partner"])
        return summary

    @staticmethod
    def contingency_display(summary: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
        """The columns of a contingency summary that a reader needs, with readable names."""
        if summary.empty:
            return pd.DataFrame(columns=[*extra, "initiator → partner", "initiatives", *OUTCOMES,
                                         "% attuned", "attuned / min", "median reception latency (ms)"])
        out = summary[[*extra, "who", "initiatives", *OUTCOMES]].copy()
        out["% attuned"] = 100 * summary["p_attuned"]
        out["attuned / min"] = summary["attuned_per_min"]
        out["median reception latency (ms)"] = summary["reception_latency_median_ms"]
        out = out.rename(columns={"who": "initiator → partner"})
        out.attrs["digits"] = {"% attuned": 0, "attuned / min": 1, "median reception latency (ms)": 0}
        return out


# -- micro-analysis ------------------------------------------------------------------------------------


class MicroAnalysis(ReportData):
    """Micro-analysis of a recording: moments with stills and captions, the coding around each,
    the attunement-contingency summary and the timeline.

    Parameters
    ----------
    project, case
        See :class:`ReportData`.
    session : Session, int or str, optional
        A filming session of the case (id, label or date); its recordings are analysed.
    recording : int, optional
        One recording instead (id).
    coder : str, optional
        Whose coding (default: the case's guider if they coded, else the only or first coder).
    window_ms : int
        Answer window after an initiative for the contingencies.
    context_ms : int
        How far around a moment its coding is listed.
    """

    kind = "micro-analysis"

    def __init__(
        self,
        project: Project,
        case: Case | int | str,
        *,
        session: Session | int | str | None = None,
        recording: Recording | int | None = None,
        coder: str | None = None,
        window_ms: int = 3000,
        context_ms: int = 2000,
        **kwargs: Any,
    ) -> None:
        super().__init__(project, case, **kwargs)
        if self.case is None:
            raise ValueError("Expected a case for the micro-analysis report, but got none.")
        self.session = resolve_session(project, self.case, session) if session not in (None, "") else None
        if recording not in (None, ""):
            rec = project.recording(int(recording))  # type: ignore[arg-type]
            if project.session(rec.session_id).case_id != self.case.id:
                raise NotFoundError(f"Expected a recording of case {self.pseudonym!r}, but recording {rec.id} "
                                    "belongs to another case.")
            self.recordings = [rec]
        elif self.session is not None:
            self.recordings = project.recordings(self.session)
        else:
            self.recordings = project.recordings(case=self.case)
        if not self.recordings:
            where = f"session {self.session.id} ({self.session.label!r})" if self.session else "the case"
            raise NotFoundError(
                f"Expected recordings in {where} of case {self.pseudonym!r}, but there are none. "
                f"Sessions of the case: {_sessions_listing(project.sessions(self.case))}."
            )
        coders = self.coders_of(self.recordings)
        if coder:
            if coder not in coders:
                raise NotFoundError(f"Expected a coder of these recordings ({', '.join(coders) or 'none'}), "
                                    f"but got {coder!r}.")
            self.coder = coder
        elif self.case.guider in coders:
            self.coder = self.case.guider
        elif coders:
            self.coder = coders[0]
            if len(coders) > 1:
                log.info("Several coders (%s); the micro-analysis shows %s's coding.", ", ".join(coders), coders[0])
        else:
            self.coder = ""
        self.window_ms = int(window_ms)
        self.context_ms = int(context_ms)

    def report_date(self) -> str:
        if self.session is not None:
            return self.session.date.isoformat()
        return self.project.session(self.recordings[0].session_id).date.isoformat()

    def default_author(self) -> str:
        return self.coder

    def table(self, rec: Recording) -> AnnotationTable:
        """The chosen coder's annotations of a recording."""
        return self.project.annotations(rec, coder=self.coder) if self.coder else self.project.annotations(rec)

    def overview(self) -> pd.DataFrame:
        """One row per recording: session, date, cycle, length, coder and what was coded."""
        rows = []
        for rec in self.recordings:
            s = self.project.session(rec.session_id)
            rows.append({
                "recording": self.recording_label(rec), "session": s.label or s.kind.value,
                "date": s.date.isoformat(), "cycle": s.cycle, "length": fmt_ms(rec.duration_ms),
                "coder": self.coder, "annotations": len(self.table(rec)),
                "moments": len(self.project.moments(rec)), "stills": len(self.project.stills(rec)),
            })
        return _frame(rows, ["recording", "session", "date", "cycle", "length", "coder", "annotations",
                             "moments", "stills"])

    def moments(self) -> list[tuple[Recording, Moment]]:
        """The moments of the recordings, by recording and onset."""
        return [(rec, m) for rec in self.recordings
                for m in sorted(self.project.moments(rec), key=lambda m: (m.onset_ms, m.id))]

    def moment_coding(self, rec: Recording, moment: Moment) -> pd.DataFrame:
        """The coding within ``context_ms`` of a moment (who did what, which principle)."""
        start, end = self.context_span(rec, moment)
        return self.coded_frame(self.table(rec).between(start, end))

    def context_span(self, rec: Recording, moment: Moment) -> tuple[int, int]:
        """The span around a moment whose coding is listed (within the recording)."""
        return max(0, moment.onset_ms - self.context_ms), min(rec.duration_ms, moment.offset_ms + self.context_ms)

    def moment_html(self, rec: Recording, moment: Moment, number: int) -> str:
        """One moment as a block: title, time span, reason, reflection, stills, coding around it."""
        stills = self.still_images(self.project.stills(rec, moment=moment))
        parts = [
            f'<section class="wb-moment"><h3>Moment {number}: {html.escape(moment.title)}</h3>',
            f'<p class="wb-meta">{html.escape(self.recording_label(rec))} · {fmt_ms(moment.onset_ms)}–'
            f"{fmt_ms(moment.offset_ms)} ({(moment.offset_ms - moment.onset_ms) / 1000:.1f} s)</p>",
        ]
        if moment.reason:
            parts.append(f"<p><strong>Why this moment:</strong> {html.escape(moment.reason)}</p>")
        if moment.reflection:
            parts.append(f'<blockquote class="wb-reflection">{html.escape(moment.reflection)}</blockquote>')
        parts.append(stills_html(stills))
        coding = self.moment_coding(rec, moment)
        start, end = self.context_span(rec, moment)
        parts.append(table_html(coding, f"Coding from {fmt_ms(start)} to {fmt_ms(end)} ({self.coder})",
                                classes="wb-compact", empty="Nothing coded around this moment."))
        parts.append("</section>")
        return "".join(parts)

    def contingency_summary(self) -> pd.DataFrame:
        """Contingency summary per recording and actor pair (the chosen coder)."""
        frames = [self.contingency_rows(rec, self.coder, self.window_ms) for rec in self.recordings]
        frames = [f for f in frames if not f.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def contingency_table(self) -> pd.DataFrame:
        """:meth:`contingency_summary` as a reader sees it."""
        s = self.contingency_summary()
        return self.contingency_display(s, ["recording"] if len(self.recordings) > 1 else [])

    def outcome_chart(self) -> alt.Chart:
        """How the initiatives were answered (share attuned / received / discordant / missed)."""
        s = self.contingency_summary()
        if len(self.recordings) > 1 and not s.empty:
            s = s.assign(who=s["recording"] + ": " + s["who"])
        return figures.outcome_chart(s if not s.empty else pd.DataFrame({"who": [], **{o: [] for o in OUTCOMES}}))

    def timeline(self, rec: Recording) -> alt.LayerChart:
        """The recording's coded timeline with its moments shaded."""
        moments = pd.DataFrame([{"onset_ms": m.onset_ms, "offset_ms": m.offset_ms, "title": m.title}
                                for m in self.project.moments(rec)], columns=["onset_ms", "offset_ms", "title"])
        return figures.report_timeline(self.table(rec), self.scheme, moments=moments, duration_ms=rec.duration_ms)


# -- supervision ---------------------------------------------------------------------------------------


class Supervision(ReportData):
    """A supervision record: the trainee's micro-analysis beside the supervisor's, agreement, where they
    differ, the supervisor's comments in time order, agreed learning goals, date, duration, sign-off.

    Parameters
    ----------
    project, case
        See :class:`ReportData`.
    session : Session, int or str, optional
        The supervision session (or the filming session whose recordings were reviewed); by
        default the case's only supervision session. A supervision session without recordings
        reviews the recordings of the case's filming sessions of the same cycle.
    trainee, supervisor : str
        The coders to compare.
    duration_min : int, optional
        How long the supervision took (minutes); "not recorded" if not given.
    unit_ms, tolerance_ms : int
        Time unit for kappa and onset tolerance for event agreement.
    signed_off_by : str, optional
        The supervisor's name, when the sign-off is already recorded.
    """

    kind = "supervision"

    def __init__(
        self,
        project: Project,
        case: Case | int | str,
        *,
        session: Session | int | str | None = None,
        trainee: str = "trainee",
        supervisor: str = "supervisor",
        duration_min: float | None = None,
        unit_ms: int = 1000,
        tolerance_ms: int = 1000,
        window_ms: int = 3000,
        signed_off_by: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(project, case, **kwargs)
        if self.case is None:
            raise ValueError("Expected a case for the supervision report, but got none.")
        self.session = (default_session(project, self.case) if session in (None, "")
                        else resolve_session(project, self.case, session))
        self.trainee, self.supervisor = trainee, supervisor
        self.duration_min = None if duration_min in (None, "") else float(duration_min)  # type: ignore[arg-type]
        self.unit_ms, self.tolerance_ms, self.window_ms = int(unit_ms), int(tolerance_ms), int(window_ms)
        self.signed_off_by = signed_off_by or ""
        self.recordings = self._reviewed()
        coders = self.coders_of(self.recordings)
        missing = [c for c in (trainee, supervisor) if c not in coders]
        if missing:
            raise NotFoundError(
                f"Expected codings by {trainee!r} and {supervisor!r} of the reviewed recordings, but "
                f"{', '.join(map(repr, missing))} coded none (coders: {', '.join(coders) or 'none'})."
            )

    def _reviewed(self) -> list[Recording]:
        recs = self.project.recordings(self.session)
        if recs:
            return recs
        same_cycle = [s for s in self.project.sessions(self.case)
                      if s.cycle == self.session.cycle and s.kind == SessionKind.FILMING]
        recs = [r for s in sorted(same_cycle, key=lambda s: (s.date, s.id)) for r in self.project.recordings(s)]
        if not recs:
            raise NotFoundError(
                f"Expected recordings to review in session {self.session.id} ({self.session.label!r}) or in the "
                f"filming sessions of cycle {self.session.cycle} of case {self.pseudonym!r}, but found none."
            )
        return recs

    def report_date(self) -> str:
        return self.session.date.isoformat()

    def default_author(self) -> str:
        return self.supervisor

    def missing(self) -> list[str]:
        if self.duration_min is None:
            return ["the supervision's duration (shown as 'not recorded'; give it with --param duration_min=MINUTES)"]
        return []

    def details(self) -> pd.DataFrame:
        """The supervision record's facts as a two-column table."""
        duration = f"{self.duration_min:g} min" if self.duration_min is not None else "not recorded"
        reviewed = "; ".join(f"{self.recording_label(r)} ({fmt_ms(r.duration_ms)})" for r in self.recordings)
        rows = [
            ("case", self.pseudonym),
            ("session", f"{self.session.label or self.session.kind.value} (cycle {self.session.cycle})"),
            ("date", self.session.date.isoformat()),
            ("duration", duration),
            ("trainee", self.trainee),
            ("supervisor", self.supervisor),
            ("recordings reviewed", reviewed),
            ("helping question", self.case.helping_question if self.case else ""),
        ]
        return pd.DataFrame(rows, columns=["", "value"])

    @cached_property
    def _reports(self) -> list[tuple[Recording, Any]]:
        from workbench.analysis.agreement import agreement_report

        out = []
        for rec in self.recordings:
            t = self.project.annotations(rec, coder=self.trainee)
            s = self.project.annotations(rec, coder=self.supervisor)
            out.append((rec, agreement_report(t, s, unit_ms=self.unit_ms, tolerance_ms=self.tolerance_ms,
                                              span_ms=(0, rec.duration_ms))))
        return out

    def agreement(self) -> pd.DataFrame:
        """Agreement per recording: time-unit kappa, event kappa, alpha, % units agreeing, events."""
        rows = []
        for rec, rep in self._reports:
            m = rep.matched
            rows.append({
                "recording": self.recording_label(rec),
                "time-unit kappa": rep.kappa, "event kappa": rep.event_kappa,
                "Krippendorff's alpha": rep.alpha, "% units agreeing": rep.percent_agreement,
                "units": rep.n_units,
                f"events ({self.trainee})": int((m["status"] != "only_b").sum()),
                f"events ({self.supervisor})": int((m["status"] != "only_a").sum()),
                "events agreeing": int((m["status"] == "agree").sum()),
            })
        return pd.DataFrame(rows)

    def agreement_params(self) -> str:
        """How agreement was computed, in one sentence."""
        return (f"Time-unit kappa and alpha over {self.unit_ms} ms units per actor; event kappa over events "
                f"paired one-to-one within ±{self.tolerance_ms} ms of onset ({self.trainee} vs {self.supervisor}).")

    def per_code(self) -> pd.DataFrame:
        """Per code over all reviewed recordings: events by each coder, events agreed, agreement."""
        frames = [rep.per_code for _, rep in self._reports]
        if not frames:
            return pd.DataFrame(columns=["code", "principle", self.trainee, self.supervisor, "agreed", "agreement"])
        allc = pd.concat(frames).groupby("code", sort=True)[["n_a", "n_b", "agreed"]].sum().reset_index()
        allc["agreement"] = 2 * allc["agreed"] / (allc["n_a"] + allc["n_b"]).replace(0, np.nan)
        allc["principle"] = allc["code"].map(self.principle)
        allc["code"] = allc["code"].map(self.code_label)
        allc = allc.rename(columns={"n_a": self.trainee, "n_b": self.supervisor})
        return allc[["code", "principle", self.trainee, self.supervisor, "agreed", "agreement"]]

    def per_code_chart(self) -> alt.Chart:
        """Agreement per code as bars."""
        pc = self.per_code()
        pc = pc.assign(events=pc[self.trainee] + pc[self.supervisor])
        return figures.agreement_by_code_chart(pc[["code", "agreement", "events"]])

    def differences(self) -> pd.DataFrame:
        """Where the two codings differ: time, who, the trainee's and the supervisor's code."""
        rows = []
        for rec, rep in self._reports:
            for r in rep.matched.itertuples():
                if r.status == "agree":
                    continue
                onset = r.onset_a_ms if pd.notna(r.onset_a_ms) else r.onset_b_ms
                what = {"code": "different code", "only_a": f"only {self.trainee}",
                        "only_b": f"only {self.supervisor}"}[r.status]
                rows.append({
                    "recording": self.recording_label(rec), "time_ms": int(onset), "time": fmt_ms(onset),
                    "who": r.actor, "difference": what,
                    self.trainee: "" if r.code_a == "(none)" else self.code_label(r.code_a),
                    self.supervisor: "" if r.code_b == "(none)" else self.code_label(r.code_b),
                })
        df = _frame(rows, ["recording", "time_ms", "time", "who", "difference", self.trainee, self.supervisor])
        return df.sort_values(["recording", "time_ms", "who"], kind="mergesort").reset_index(drop=True)

    def side_by_side(self) -> pd.DataFrame:
        """Both micro-analyses' contingency summaries, one row per recording, actor pair and coder."""
        frames = []
        for rec in self.recordings:
            for coder in (self.trainee, self.supervisor):
                s = self.contingency_rows(rec, coder, self.window_ms)
                if not s.empty:
                    frames.append(s)
        extra = ["recording", "coder"] if len(self.recordings) > 1 else ["coder"]
        if not frames:
            return self.contingency_display(pd.DataFrame(), extra)
        return self.contingency_display(pd.concat(frames, ignore_index=True), extra)

    def side_by_side_chart(self) -> alt.Chart:
        """How each coder's micro-analysis classifies the initiatives."""
        t = self.side_by_side()
        label = t["coder"] + ": " + t["initiator → partner"]
        if len(self.recordings) > 1:
            label = t["recording"] + " · " + label
        return figures.outcome_chart(t.assign(who=label)[["who", *OUTCOMES]])

    def moments_html(self) -> str:
        """The moments of the reviewed recordings, with stills (the trainee's chosen moments)."""
        blocks = []
        n = 0
        for rec in self.recordings:
            for m in sorted(self.project.moments(rec), key=lambda m: (m.onset_ms, m.id)):
                n += 1
                stills = self.still_images(self.project.stills(rec, moment=m))
                reflection = (f'<blockquote class="wb-reflection">{html.escape(m.reflection)}</blockquote>'
                              if m.reflection else "")
                blocks.append(
                    f'<section class="wb-moment"><h3>Moment {n}: {html.escape(m.title)}</h3>'
                    f'<p class="wb-meta">{html.escape(self.recording_label(rec))} · {fmt_ms(m.onset_ms)}–'
                    f"{fmt_ms(m.offset_ms)}</p>{reflection}{stills_html(stills)}</section>"
                )
        return "".join(blocks) or '<p class="wb-empty">No moments were chosen in these recordings.</p>'

    def timeline(self, rec: Recording) -> alt.LayerChart:
        """Both codings of a recording on one timeline (lanes per actor and coder), comments as ticks."""
        table = self.project.annotations(rec).filter(coder=[self.trainee, self.supervisor])
        comments = self.comments_frame([rec]).rename(columns={"comment": "text"})
        moments = pd.DataFrame([{"onset_ms": m.onset_ms, "offset_ms": m.offset_ms, "title": m.title}
                                for m in self.project.moments(rec)], columns=["onset_ms", "offset_ms", "title"])
        return figures.report_timeline(table, self.scheme, moments=moments, comments=comments, lanes="actor+coder",
                                       duration_ms=rec.duration_ms)

    def comments(self) -> pd.DataFrame:
        """The comments on the reviewed recordings, in time order, with status."""
        return self.comments_frame(self.recordings).drop(columns=["time_ms"])

    def goals(self) -> pd.DataFrame:
        """The case's agreed goals with first and latest ratings."""
        return self.goals_frame()


# -- VERP ----------------------------------------------------------------------------------------------


class Verp(MicroAnalysis):
    """Video Enhanced Reflective Practice: a professional's own filmed practice across cycles:
    moments and reflections per cycle, goals and progress.

    Takes the parameters of :class:`MicroAnalysis`; without a session, every recording of the
    case (all cycles) is included.

    Parameters
    ----------
    reflection : str, optional
        The professional's closing reflection across the cycles ("Looking back"); the report
        leaves the section out without one.
    """

    kind = "verp"

    def __init__(self, project: Project, case: Case | int | str, *, reflection: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(project, case, **kwargs)
        self.reflection = (reflection or "").strip()

    def missing(self) -> list[str]:
        if not self.reflection:
            return ["the closing reflection, 'Looking back' (left out; give it with --param reflection=TEXT)"]
        return []

    def report_date(self) -> str:
        dates = [self.project.session(r.session_id).date for r in self.recordings]
        lo, hi = min(dates).isoformat(), max(dates).isoformat()
        return lo if lo == hi else f"{lo} to {hi}"

    def default_author(self) -> str:
        return self.case.guider if self.case and self.case.guider else self.coder

    def cycles(self) -> list[int]:
        """The cycles with recordings, in order."""
        return sorted({self.project.session(r.session_id).cycle for r in self.recordings})

    def recordings_of(self, cycle: int) -> list[Recording]:
        """The recordings of one cycle."""
        return [r for r in self.recordings if self.project.session(r.session_id).cycle == cycle]

    def cycle_overview(self) -> pd.DataFrame:
        """One row per cycle: dates, sessions, recordings, moments, reflections, share attuned."""
        rows = []
        for cycle in self.cycles():
            recs = self.recordings_of(cycle)
            sessions = [s for s in self.project.sessions(self.case) if s.cycle == cycle]
            moments = [m for r in recs for m in self.project.moments(r)]
            s = pd.concat([self.contingency_rows(r, self.coder, self.window_ms) for r in recs], ignore_index=True)
            attuned = float(s["attuned"].sum() / s["initiatives"].sum()) if len(s) and s["initiatives"].sum() else None
            rows.append({
                "cycle": cycle,
                "dates": ", ".join(sorted({x.date.isoformat() for x in sessions})),
                "sessions": ", ".join(x.label or x.kind.value for x in sorted(sessions, key=lambda x: (x.date, x.id))),
                "recordings": len(recs), "moments": len(moments),
                "reflections": sum(1 for m in moments if m.reflection),
                "% initiatives attuned": None if attuned is None else 100 * attuned,
            })
        out = _frame(rows, ["cycle", "dates", "sessions", "recordings", "moments", "reflections",
                            "% initiatives attuned"])
        out.attrs["digits"] = {"% initiatives attuned": 0}
        return out

    def progress(self) -> pd.DataFrame:
        """Contingency summary per cycle and actor pair (how attuned the interaction is, cycle by cycle)."""
        frames = []
        for cycle in self.cycles():
            for rec in self.recordings_of(cycle):
                s = self.contingency_rows(rec, self.coder, self.window_ms)
                if not s.empty:
                    frames.append(s.assign(cycle=cycle))
        if not frames:
            return self.contingency_display(pd.DataFrame(), ["cycle", "recording"])
        return self.contingency_display(pd.concat(frames, ignore_index=True), ["cycle", "recording"])

    def progress_chart(self) -> alt.Chart:
        """Share of initiatives attuned / received / discordant / missed, per cycle."""
        p = self.progress()
        label = "cycle " + p["cycle"].astype(str) + ": " + p["initiator → partner"]
        return figures.outcome_chart(p.assign(who=label)[["who", *OUTCOMES]])


# -- research comparison -------------------------------------------------------------------------------


class Research(ReportData):
    """Research comparison: cases side by side, pre vs post, outcome and contingency tables and charts.

    Parameters
    ----------
    project
        The open project.
    cases : sequence of str, optional
        Pseudonyms (or ids) of the cases to compare (default: all).
    coder : str, optional
        Whose coding the contingencies use (default: the coder with the most annotations).
    pre, post : str
        The measure time points to compare.
    lower_is_better, higher_is_better : list of str, optional
        Instruments on which a decrease (an increase) is an improvement. Which way is better
        comes from each instrument's data (:mod:`workbench.instruments`); these declare it for
        an instrument it does not know, or override it (research use). Each must name an
        instrument among the measures.
    reliability, normative_sd : dict, optional
        Test-retest reliability (0 <= r < 1) and normative SD (> 0) per instrument, from its
        manual, for the reliable change index (Jacobson & Truax, 1991).
    window_ms : int
        Answer window for the contingencies.

    Only cases whose consent allows ``"research"`` are compared; the others are left out and named,
    with why, in :attr:`left_out` (a note in the report, and ``left_out`` on the cover info).

    Raises
    ------
    ValueError
        For a parameter of the wrong shape (a bare string where a list is expected, a value out
        of range) or naming an instrument that is not among the measures; the message names the
        parameter and what was expected.
    """

    kind = "research"

    def __init__(
        self,
        project: Project,
        cases: Sequence[Case | int | str] | str | None = None,
        *,
        coder: str | None = None,
        pre: str = "pre",
        post: str = "post",
        lower_is_better: Sequence[str] = (),
        higher_is_better: Sequence[str] = (),
        reliability: Mapping[str, float] | None = None,
        normative_sd: Mapping[str, float] | None = None,
        window_ms: int = 3000,
        **kwargs: Any,
    ) -> None:
        super().__init__(project, None, **kwargs)
        if isinstance(cases, str):
            cases = [c.strip() for c in cases.split(",") if c.strip()]
        chosen = [resolve_case(project, c) for c in cases] if cases else project.cases()
        if not chosen:
            raise NotFoundError("Expected cases to compare, but the project has none.")
        from workbench.report.consent import consenting_cases

        self.cases, self.left_out = consenting_cases(project, chosen, "research", use="the research report")
        self.pre, self.post = pre, post
        instruments = sorted(set(self.measures()["instrument"]))
        self.lower_is_better = _instrument_names("lower_is_better", lower_is_better, instruments)
        self.higher_is_better = _instrument_names("higher_is_better", higher_is_better, instruments)
        both = set(self.lower_is_better) & set(self.higher_is_better)
        if both:
            raise ValueError(f"Expected an instrument in 'lower_is_better' or in 'higher_is_better', not in both, but "
                             f"got {', '.join(map(repr, sorted(both)))} in both.")
        self.reliability = _instrument_numbers("reliability", reliability, instruments, "a reliability r in [0, 1)",
                                               lambda r: 0 <= r < 1)
        self.normative_sd = _instrument_numbers("normative_sd", normative_sd, instruments, "a positive SD",
                                                lambda sd: sd > 0)
        self.window_ms = int(window_ms)
        counts: dict[str, int] = {}
        for c in self.cases:
            for rec in project.recordings(case=c):
                for coder_name, n in project.annotations(rec).to_dataframe()["coder"].value_counts().items():
                    counts[str(coder_name)] = counts.get(str(coder_name), 0) + int(n)
        self.coder = coder or (sorted(counts, key=lambda k: (-counts[k], k))[0] if counts else "")

    def cover_info(self, **extra: Any) -> dict[str, Any]:
        names = ", ".join(c.pseudonym for c in self.cases)
        info = super().cover_info(**extra)
        info["case"] = names
        info["title"] = f"{KIND_LABELS[self.kind]} — {len(self.cases)} case{'s' if len(self.cases) != 1 else ''}"
        info["left_out"] = [{"case": x.case, "reason": x.reason} for x in self.left_out]
        return info

    def left_out_note(self) -> str:
        """The note naming the cases left out for want of research consent, and why ("" if none)."""
        if not self.left_out:
            return ""
        which = " ".join(x.note() for x in self.left_out)
        n = len(self.cases)
        return (f"{which} Only cases whose consent covers research are compared: {n} of {n + len(self.left_out)} "
                f"{'is' if n == 1 else 'are'}.")

    def report_date(self) -> str:
        dates = [s.date for c in self.cases for s in self.project.sessions(c)]
        if not dates:
            return super().report_date()
        lo, hi = min(dates).isoformat(), max(dates).isoformat()
        return lo if lo == hi else f"{lo} to {hi}"

    def measures(self) -> pd.DataFrame:
        """Tidy measures of the chosen cases (pseudonyms only)."""
        m = self.project.measures_frame()
        m = m[m["case"].isin([c.pseudonym for c in self.cases])]
        return m.drop(columns=["id", "case_id"]).reset_index(drop=True)

    def _outcome_options(self) -> dict[str, Any]:
        return {"pre": self.pre, "post": self.post, "lower_is_better": self.lower_is_better,
                "higher_is_better": self.higher_is_better}

    @cached_property
    def _pre_post(self) -> pd.DataFrame:
        from workbench.analysis.outcomes import pre_post

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # what is not known (direction, reliability) is said in the report
            return pre_post(self.measures(), reliability=self.reliability or None, sd_pre=self.normative_sd or None,
                            **self._outcome_options())

    def outcomes(self) -> pd.DataFrame:
        """Pre and post per case and instrument: change, which way is better and what the change is.

        With a reliability for an instrument (:attr:`reliability` or the instrument's data), its
        reliable change index (Jacobson & Truax, 1991) and verdict too.
        """
        pp = self._pre_post
        out = pd.DataFrame({
            "case": pp["case"], "instrument": pp["instrument"], "scale": pp["scale"],
            self.pre: pp["pre"], self.post: pp["post"], "change": pp["change"],
            "better": [better_phrase(b) for b in pp["better"]],
            "the change is": [_change_word(i, b) for i, b in zip(pp["improvement"], pp["better"], strict=True)],
        })
        if pp["reliability"].notna().any():
            out["RCI"] = pp["rci"]
            out["reliable change"] = pp["direction"].astype(str)
        return out

    def effect_sizes(self) -> pd.DataFrame:
        """Per instrument across cases: n, mean pre and post, mean change, d_z with its CI, g_z, p, favours."""
        from workbench.analysis.outcomes import effect_sizes

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unknown direction is said in the report
            es = effect_sizes(self.measures(), **self._outcome_options())
        out = pd.DataFrame({
            "instrument": es["instrument"] + [f" ({s})" if s else "" for s in es["scale"]],
            "n": es["n"],
            f"mean {self.pre}": es["mean_pre"],
            f"mean {self.post}": es["mean_post"],
            "mean change": es["mean_change"],
            "d_z (95% CI)": [_with_ci(d, lo, hi) for d, lo, hi in zip(es["d_z"], es["d_z_ci_low"], es["d_z_ci_high"],
                                                                        strict=True)],
            "g_z": es["g_z"],
            "p": es["p"],
            "favours": es["favours"],
        })
        out.attrs["digits"] = {f"mean {self.pre}": 1, f"mean {self.post}": 1, "mean change": 1, "g_z": 2, "p": 3}
        return out

    def directions(self) -> pd.DataFrame:
        """Which way is better on each instrument's scales, and where that comes from (one row per instrument)."""
        from workbench.instruments import default_instruments

        known = default_instruments()
        rows = []
        for instrument, g in self._pre_post.groupby("instrument", sort=True):
            firsts = g.drop_duplicates("scale")
            scales = "; ".join(f"{s}: {better_phrase(b)}" if s else better_phrase(b)
                               for s, b in zip(firsts["scale"], firsts["better"], strict=True))
            sources = set(firsts["better_source"])
            found = known.find(instrument)
            basis = []
            if "instrument" in sources and found is not None:
                basis.append(f"{found.title}: {found.source}")
            if "given" in sources:
                basis.append("declared in this report's parameters")
            if "" in sources:
                basis.append("not known: the instrument (or scale) is not among the workbench's instruments; name it "
                             "in the report's 'lower_is_better' or 'higher_is_better' parameter to declare it")
            rows.append({"instrument": instrument, "which way is better": scales, "source": " ".join(basis)})
        return _frame(rows, ["instrument", "which way is better", "source"])

    def unknown_directions(self) -> list[str]:
        """The instruments (with scale) whose better direction is not known."""
        pp = self._pre_post
        unknown = pp[pp["better"] == "unknown"]
        return sorted({i + (f" ({s})" if s else "") for i, s in zip(unknown["instrument"], unknown["scale"],
                                                                    strict=True)})

    def rci_note(self) -> str:
        """How reliable change was (or could not be) assessed, in one paragraph."""
        pp = self._pre_post
        have = sorted(set(pp.loc[pp["reliability"].notna(), "instrument"]))
        lacking = sorted(set(pp.loc[pp["reliability"].isna(), "instrument"]))
        parts = []
        if have:
            parts.append(f"Reliable change (Jacobson & Truax, 1991) for {', '.join(have)}, with the test-retest "
                         "reliabilities given.")
        if lacking:
            parts.append(f"No reliable change index for {', '.join(lacking)}: it needs the instrument's test-retest "
                         "reliability from its manual (the report's 'reliability' parameter).")
        return " ".join(parts)

    def outcome_chart(self) -> alt.FacetChart:
        """Each case's scores before and after, one panel per instrument and scale (titled with which way is
        better)."""
        better = {(i, sc): b for i, sc, b in zip(self._pre_post["instrument"], self._pre_post["scale"],
                                                  self._pre_post["better"], strict=True)}
        m = self.measures()
        m["panel"] = [f"{i} · {sc} ({better_phrase(better.get((i, sc), 'unknown'))})" if sc
                      else f"{i} ({better_phrase(better.get((i, sc), 'unknown'))})"
                      for i, sc in zip(m["instrument"], m["scale"], strict=True)]
        return figures.pre_post_chart(m, points=(self.pre, self.post), facet="panel")

    def phases(self, case: Case) -> list[tuple[str, Recording]]:
        """The case's filmed recordings as (phase, recording): first filming ``pre``, last ``post``."""
        filmings = sorted((s for s in self.project.sessions(case) if s.kind == SessionKind.FILMING),
                          key=lambda s: (s.date, s.cycle, s.id))
        out = []
        for i, s in enumerate(filmings):
            phase = self.pre if i == 0 else (self.post if i == len(filmings) - 1 else f"cycle {s.cycle}")
            out.extend((phase, r) for r in self.project.recordings(s))
        return out

    def contingency_frame(self) -> pd.DataFrame:
        """Contingencies per case, phase and actor pair (one coder), for tables and charts."""
        frames = []
        for case in self.cases:
            for phase, rec in self.phases(case):
                s = self.contingency_rows(rec, self.coder, self.window_ms)
                if not s.empty:
                    frames.append(s.assign(case=case.pseudonym, phase=phase))
        if not frames:
            return pd.DataFrame(columns=["case", "phase", "who", "initiatives", *OUTCOMES, "p_attuned"])
        return pd.concat(frames, ignore_index=True)

    def contingency_table(self) -> pd.DataFrame:
        """Contingencies per case and phase as a reader sees them."""
        return self.contingency_display(self.contingency_frame(), ["case", "phase"])

    def attuned_chart(self) -> alt.Chart:
        """Share of initiatives attuned, pre vs post, per case and actor pair."""
        import altair as alt

        f = self.contingency_frame()
        f = f.assign(pct=100 * f["p_attuned"].astype(float))
        return (
            alt.Chart(f[["case", "phase", "who", "pct"]])
            .mark_line(point=alt.OverlayMarkDef(size=60))
            .encode(
                x=alt.X("phase:N", sort=[self.pre, self.post], title=None, axis=alt.Axis(labelAngle=0)),
                y=alt.Y("pct:Q", title="% initiatives attuned", scale=alt.Scale(domain=[0, 100])),
                color=alt.Color("case:N", legend=alt.Legend(orient="bottom")),
                tooltip=["case:N", "phase:N", "who:N", alt.Tooltip("pct:Q", format=".0f")],
            )
            .properties(width=260, height=180)
            .facet(column=alt.Column("who:N", title=None))
        )

    def cases_overview(self) -> pd.DataFrame:
        """One row per case: helping question, sessions, filmed recordings, goals."""
        rows = []
        for c in self.cases:
            sessions = self.project.sessions(c)
            rows.append({
                "case": c.pseudonym, "helping question": c.helping_question,
                "sessions": len(sessions),
                "filmings": sum(1 for s in sessions if s.kind == SessionKind.FILMING),
                "recordings": len(self.project.recordings(case=c)), "goals": len(self.project.goals(c)),
                "first session": min((s.date for s in sessions), default=None),
                "last session": max((s.date for s in sessions), default=None),
            })
        return _frame(rows, ["case", "helping question", "sessions", "filmings", "recordings", "goals",
                             "first session", "last session"])

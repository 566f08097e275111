"""The micro-analysis of a recording and Video Enhanced Reflective Practice (VERP) across cycles.

Both show a case's moments with their stills, reflections and the coding around them, and the
attunement contingencies of one coder's micro-analysis; VERP follows a professional's own
practice cycle by cycle. See :class:`~workbench.report.base.ReportData` for what they share.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench import charts
from workbench.analysis.contingency import OUTCOMES
from workbench.annotations import AnnotationTable
from workbench.errors import NotFoundError
from workbench.model import Case, Moment, Recording, Session
from workbench.report.base import ReportData, frame_of, resolve_session, sessions_listing
from workbench.report.html import moment_html
from workbench.report.show import fmt_ms, table_html

if TYPE_CHECKING:
    import altair as alt

    from workbench.project import Project

__all__ = ["MicroAnalysis", "Verp"]

log = logging.getLogger(__name__)


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
                f"Sessions of the case: {sessions_listing(project.sessions(self.case))}."
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
        return self.annotations(rec, self.coder) if self.coder else self.annotations(rec)

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
        return frame_of(rows, ["recording", "session", "date", "cycle", "length", "coder", "annotations",
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
        start, end = self.context_span(rec, moment)
        coding = table_html(self.moment_coding(rec, moment), f"Coding from {fmt_ms(start)} to {fmt_ms(end)} "
                            f"({self.coder})", classes="wb-compact", empty="Nothing coded around this moment.")
        stills = self.still_images(self.project.stills(rec, moment=moment))
        return moment_html(number, moment, self.recording_label(rec), stills, coding=coding)

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
        return charts.outcome_bars(s if not s.empty else pd.DataFrame({"who": [], **{o: [] for o in OUTCOMES}}))

    def timeline(self, rec: Recording) -> alt.LayerChart:
        """The recording's coded timeline with its moments shaded."""
        moments = pd.DataFrame([{"onset_ms": m.onset_ms, "offset_ms": m.offset_ms, "title": m.title}
                                for m in self.project.moments(rec)], columns=["onset_ms", "offset_ms", "title"])
        return charts.report_timeline(self.table(rec), self.scheme, moments=moments, duration_ms=rec.duration_ms)


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
        out = frame_of(rows, ["cycle", "dates", "sessions", "recordings", "moments", "reflections",
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
        return charts.outcome_bars(p.assign(who=label)[["who", *OUTCOMES]])

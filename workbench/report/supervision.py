"""The supervision record: a trainee's micro-analysis beside the supervisor's.

Agreement between the two codings, where they differ, both contingency summaries, the trainee's
moments, the supervisor's comments in time order, the agreed goals and the sign-off. See
:class:`~workbench.report.base.ReportData` for what every report kind shares.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench import charts
from workbench.analysis.contingency import OUTCOMES
from workbench.errors import NotFoundError
from workbench.model import Case, Recording, Session, SessionKind
from workbench.report.base import ReportData, default_session, frame_of, resolve_session
from workbench.report.html import moment_html
from workbench.report.show import fmt_ms

if TYPE_CHECKING:
    import altair as alt

    from workbench.project import Project

__all__ = ["Supervision"]


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
            t = self.annotations(rec, self.trainee)
            s = self.annotations(rec, self.supervisor)
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
        return charts.agreement_by_code_chart(pc[["code", "agreement", "events"]])

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
        df = frame_of(rows, ["recording", "time_ms", "time", "who", "difference", self.trainee, self.supervisor])
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
        return charts.outcome_bars(t.assign(who=label)[["who", *OUTCOMES]])

    def moments_html(self) -> str:
        """The moments of the reviewed recordings, with stills (the trainee's chosen moments)."""
        blocks = []
        for rec in self.recordings:
            for m in sorted(self.project.moments(rec), key=lambda m: (m.onset_ms, m.id)):
                stills = self.still_images(self.project.stills(rec, moment=m))
                blocks.append(moment_html(len(blocks) + 1, m, self.recording_label(rec), stills))
        return "".join(blocks) or '<p class="wb-empty">No moments were chosen in these recordings.</p>'

    def timeline(self, rec: Recording) -> alt.LayerChart:
        """Both codings of a recording on one timeline (lanes per actor and coder), comments as ticks."""
        table = self.annotations(rec).filter(coder=[self.trainee, self.supervisor])
        comments = self.comments_frame([rec]).rename(columns={"comment": "text"})
        moments = pd.DataFrame([{"onset_ms": m.onset_ms, "offset_ms": m.offset_ms, "title": m.title}
                                for m in self.project.moments(rec)], columns=["onset_ms", "offset_ms", "title"])
        return charts.report_timeline(table, self.scheme, moments=moments, comments=comments, lanes="actor+coder",
                                      duration_ms=rec.duration_ms)

    def comments(self) -> pd.DataFrame:
        """The comments on the reviewed recordings, in time order, with status."""
        return self.comments_frame(self.recordings).drop(columns=["time_ms"])

    def goals(self) -> pd.DataFrame:
        """The case's agreed goals with first and latest ratings."""
        return self.goals_frame()

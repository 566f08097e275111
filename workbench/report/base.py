"""What every report kind shares: resolving the case and session named, and the base of the report data.

:class:`ReportData` holds the project, the case and the cover, and reads what a report shows
once per build: each recording's annotations are read (and validated) once and kept, keyed by
recording and coder, and so are the contingencies computed from them. The report kinds
(:mod:`workbench.report.micro`, :mod:`workbench.report.supervision`,
:mod:`workbench.report.research`) build on it; :mod:`workbench.report.data` gathers them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from workbench import charts
from workbench.analysis.contingency import OUTCOMES, contingencies_by_coder, contingency_summary
from workbench.annotations import AnnotationTable
from workbench.errors import NotFoundError
from workbench.model import Case, Comment, Recording, Session, SessionKind, Still
from workbench.report.show import fmt_ms
from workbench.report.stills import still_image

if TYPE_CHECKING:
    import altair as alt

    from workbench.project import Project

__all__ = [
    "KIND_LABELS",
    "ReportData",
    "default_session",
    "resolve_case",
    "resolve_session",
]

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


def sessions_listing(sessions: Sequence[Session]) -> str:
    """The sessions as an error message lists them: id (kind, date, label); ``"none"`` without any."""
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
            f"Its sessions: {sessions_listing(sessions)}."
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
                     f"{case.pseudonym!r} has no {kind.value} session. Its sessions: {sessions_listing(sessions)}.")


def frame_of(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A table of ``rows`` with exactly ``columns`` (in that order), empty or not."""
    return pd.DataFrame(list(rows), columns=list(columns))


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
        # read once per build: each recording's annotations (all coders, then each coder's), their contingencies
        self._tables: dict[int, AnnotationTable] = {}
        self._coded: dict[tuple[int, str], AnnotationTable] = {}
        self._found: dict[tuple[int, int], pd.DataFrame] = {}
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
        return self.scheme.label_of(code)

    def principle(self, code: str) -> str:
        """The category (principle) a code belongs to (:data:`workbench.scheme.NOT_IN_SCHEME` if unknown)."""
        return self.scheme.principle_of(code)

    def annotations(self, rec: Recording, coder: str | None = None) -> AnnotationTable:
        """A recording's annotations (all coders', or one coder's), read from the project once per report.

        Every table, chart and moment of the report shares the one read: the recording's rows are
        read and validated once, and each coder's are taken from them (and kept) when first asked for.
        """
        key = int(rec.id)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = self.project.annotations(rec)
        if coder is None:
            return table
        if (key, coder) not in self._coded:
            self._coded[(key, coder)] = table.filter(coder=coder)
        return self._coded[(key, coder)]

    def coded_frame(self, table: AnnotationTable) -> pd.DataFrame:
        """Annotations as a readable table: time, end, who, what, principle, contact, note."""
        df = table.to_dataframe().sort_values(["onset_ms", "actor", "id"], kind="mergesort")
        rows = []
        for r in df.itertuples():
            rows.append({
                "time": fmt_ms(r.onset_ms),
                "end": "" if r.offset_ms == r.onset_ms else fmt_ms(r.offset_ms),
                "who": r.actor,
                "what": self.scheme.label_of(r.code),
                "principle": self.scheme.principle_of(r.code),
                "contact": self.scheme.kind_of(r.code),
                "note": r.note or "",
            })
        return frame_of(rows, ["time", "end", "who", "what", "principle", "contact", "note"])

    def still_images(self, stills: Sequence[Still]) -> list[dict[str, Any]]:
        """Each still as PNG bytes (scaled, optionally face-blurred) with caption and time."""
        out = []
        for still in stills:
            image = still_image(self.project, still, blur_faces=self.blur_faces, max_width=self.still_width,
                                compression=6)
            self.faces_blurred += image.faces
            out.append({"png": image.png, "caption": still.caption, "time_ms": still.time_ms,
                        "width": image.width, "height": image.height, "blurred": image.blurred,
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
        return frame_of(rows, ["recording", "time", "time_ms", "author", "status", "comment"])

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
        return frame_of(rows, ["goal", "scale", "first rating", "first date", "latest rating", "latest date",
                               "change"])

    def goal_ratings(self, cases: Sequence[Case] | None = None) -> pd.DataFrame:
        """Tidy goal ratings of the cases (:func:`~workbench.analysis.outcomes.goal_trajectories`) for charts."""
        from workbench.analysis.outcomes import goal_trajectories  # scipy, only when a report draws goals

        cases = list(cases) if cases is not None else ([self.case] if self.case else self.project.cases())
        return goal_trajectories([g for c in cases for g in self.project.goals(c)], cases)

    def goal_chart(self, cases: Sequence[Case] | None = None) -> alt.LayerChart:
        """Goal ratings over time (coloured by case when there are several, else by goal)."""
        ratings = self.goal_ratings(cases)
        return charts.goal_chart(ratings, colour="case" if ratings["case"].nunique() > 1 else "goal",
                                 width=charts.REPORT_WIDTH, height=200)

    def coders_of(self, recordings: Sequence[Recording]) -> list[str]:
        """Coders with annotations on any of the recordings, sorted."""
        found: set[str] = set()
        for rec in recordings:
            found.update(self.annotations(rec).coders)
        return sorted(found)

    def contingency_rows(self, rec: Recording, coder: str, window_ms: int) -> pd.DataFrame:
        """Contingency summary of one coder's coding of a recording, one row per actor pair.

        The recording's contingencies are computed once per window for all its coders apart
        (:func:`~workbench.analysis.contingency.contingencies_by_coder`) and summarised per coder
        (:func:`~workbench.analysis.contingency.contingency_summary`); a report's table and its chart
        ask for the same one.
        """
        key = (int(rec.id), str(coder), int(window_ms))
        if key not in self._contingency:
            found = self._found.get((key[0], key[2]))
            if found is None:
                found = contingencies_by_coder(self.annotations(rec), self.scheme, window_ms=(0, key[2]))
                self._found[(key[0], key[2])] = found
            mine = found[found["coder"] == coder].drop(columns="coder")
            summary = contingency_summary(mine, duration_ms=rec.duration_ms)
            if summary.empty:
                summary = pd.DataFrame(columns=["recording", "coder", "who", *OUTCOMES, "initiatives"])
            else:
                summary = summary.assign(recording=self.recording_label(rec), coder=coder,
                                         who=summary["actor"] + " → " + summary["partner"])
            self._contingency[key] = summary
        return self._contingency[key].copy()

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



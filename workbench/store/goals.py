"""Goals with their ratings, and outcome measures: the repository of what a case works toward.

A goal (a working point) is rated on its own scale over time; a measure is an instrument's
score at a time point (``"pre"``, ``"post"``). Both belong to a case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Row

from workbench.errors import NotFoundError
from workbench.model import Case, Goal, GoalRating, Measure, Session
from workbench.store import schema as t
from workbench.store import values as checks
from workbench.store.kernel import Kernel, snapshot

__all__ = ["GoalRepository"]


def _rating(r: Row) -> GoalRating:
    return GoalRating(id=r.id, goal_id=r.goal_id, date=r.date, value=float(r.value), session_id=r.session_id)


def _measure(r: Row) -> Measure:
    return Measure(
        id=r.id,
        case_id=r.case_id,
        instrument=r.instrument,
        scale=r.scale,
        time_point=r.time_point,
        value=float(r.value),
        date=r.date,
        version=r.version,
    )


class GoalRepository:
    """Add, rate, read, change and delete goals; add, read, change and delete measures."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    # -- goals ----------------------------------------------------------------------------

    @staticmethod
    def _scale(scale_min: Any, scale_max: Any) -> tuple[float, float]:
        lo, hi = checks.number(scale_min, "scale_min"), checks.number(scale_max, "scale_max")
        if hi <= lo:
            raise ValueError(f"Expected scale_max > scale_min ({lo:g}), but got {hi:g}.")
        return lo, hi

    def add_goal(self, case: Case | int | str, text: str, scale_min: float = 0, scale_max: float = 10) -> Goal:
        """Add a goal (a working point) to a case, rated from ``scale_min`` to ``scale_max``."""
        text = checks.text(text, "text")
        lo, hi = self._scale(scale_min, scale_max)
        with self.kernel.write() as conn:
            cid = self.kernel.case_id(conn, case)
            row = conn.execute(
                sa.insert(t.goals).values(case_id=cid, text=text, scale_min=lo, scale_max=hi).returning(*t.goals.c)
            ).one()
            self.kernel.added(conn, "goal", row)
        return self._goal(row, ())

    @staticmethod
    def _goal(r: Row, ratings: Iterable[GoalRating]) -> Goal:
        return Goal(
            id=r.id,
            case_id=r.case_id,
            text=r.text,
            scale_min=float(r.scale_min),
            scale_max=float(r.scale_max),
            ratings=tuple(ratings),
            version=r.version,
        )

    def rate_goal(
        self, goal: Goal | int, date: dt.date | str, value: float, session: Session | int | None = None
    ) -> GoalRating:
        """Rate a goal on its scale at a date (optionally in a session of the same case).

        Raises
        ------
        ValueError
            If ``value`` is outside the goal's scale, or the session is of another case.
        """
        gid = Kernel.id_of(goal, "goal", Goal)
        day = checks.date(date, "date")
        rating = checks.number(value, "value")
        sid = None if session is None else Kernel.id_of(session, "session", Session)
        with self.kernel.write() as conn:
            g = Kernel.require(conn, t.goals, gid, "goal")
            if not g.scale_min <= rating <= g.scale_max:
                raise ValueError(
                    f"Expected a rating of goal {gid} between {g.scale_min:g} and {g.scale_max:g}, but got {rating:g}."
                )
            if sid is not None and Kernel.require(conn, t.sessions, sid, "session").case_id != g.case_id:
                raise ValueError(f"Expected a session of case {g.case_id}, but session {sid} is of another case.")
            row = conn.execute(
                sa.insert(t.goal_ratings)
                .values(goal_id=gid, date=day, value=rating, session_id=sid)
                .returning(*t.goal_ratings.c)
            ).one()
            self.kernel.added(conn, "goal rating", row)
        return _rating(row)

    def goals(self, case: Case | int | str | None = None) -> list[Goal]:
        """Goals of a case (or all), by id, each with its ratings by date."""
        with self.kernel.read() as conn:
            q = sa.select(t.goals).order_by(t.goals.c.id)
            if case is not None:
                q = q.where(t.goals.c.case_id == self.kernel.case_id(conn, case))
            goals = conn.execute(q).all()
            ratings: dict[int, list[GoalRating]] = {g.id: [] for g in goals}
            if goals:
                rq = (
                    sa.select(t.goal_ratings)
                    .where(t.goal_ratings.c.goal_id.in_(list(ratings)))
                    .order_by(t.goal_ratings.c.date, t.goal_ratings.c.id)
                )
                for r in conn.execute(rq):
                    ratings[r.goal_id].append(_rating(r))
        return [self._goal(g, ratings[g.id]) for g in goals]

    def goal(self, goal_id: Goal | int) -> Goal:
        """One goal by id, with its ratings by date."""
        gid = Kernel.id_of(goal_id, "goal", Goal)
        with self.kernel.read() as conn:
            g = Kernel.require(conn, t.goals, gid, "goal")
            rs = conn.execute(
                sa.select(t.goal_ratings)
                .where(t.goal_ratings.c.goal_id == gid)
                .order_by(t.goal_ratings.c.date, t.goal_ratings.c.id)
            )
            return self._goal(g, [_rating(r) for r in rs])

    def update_goal(self, goal_id: Goal | int, *, expected_version: int | None = None, **changes: Any) -> Goal:
        """Change a goal's ``text``, ``scale_min`` or ``scale_max`` (existing ratings must still fit)."""
        checks.check_changes(changes, ("text", "scale_min", "scale_max"), "goal")
        gid = Kernel.id_of(goal_id, "goal", Goal)
        values = dict(changes)
        if "text" in values:
            values["text"] = checks.text(values["text"], "text")
        with self.kernel.write() as conn:
            cur = Kernel.require(conn, t.goals, gid, "goal", lock=True)
            if "scale_min" in values or "scale_max" in values:
                lo, hi = self._scale(values.get("scale_min", cur.scale_min), values.get("scale_max", cur.scale_max))
                values["scale_min"], values["scale_max"] = lo, hi
                outside = (
                    conn.execute(
                        sa.select(t.goal_ratings.c.value)
                        .where(t.goal_ratings.c.goal_id == gid)
                        .where((t.goal_ratings.c.value < lo) | (t.goal_ratings.c.value > hi))
                    )
                    .scalars()
                    .all()
                )
                if outside:
                    raise ValueError(
                        f"Expected a scale holding every rating of goal {gid}, but {lo:g}..{hi:g} leaves out "
                        f"{', '.join(f'{x:g}' for x in outside)}."
                    )
            self.kernel.update(conn, t.goals, "goal", gid, expected_version, values)
        return self.goal(gid)

    def delete_goal(self, goal_id: Goal | int, *, expected_version: int | None = None) -> None:
        """Delete a goal with its ratings."""
        gid = Kernel.id_of(goal_id, "goal", Goal)
        with self.kernel.write() as conn:
            self.kernel.delete(conn, t.goals, "goal", gid, expected_version)

    def delete_rating(self, rating_id: GoalRating | int) -> None:
        """Delete one goal rating."""
        rid = Kernel.id_of(rating_id, "goal rating", GoalRating)
        with self.kernel.write() as conn:
            before = conn.execute(sa.select(t.goal_ratings).where(t.goal_ratings.c.id == rid)).first()
            gone = (
                before is None
                or conn.execute(sa.delete(t.goal_ratings).where(t.goal_ratings.c.id == rid)).rowcount == 0
            )
            if gone:
                raise NotFoundError(f"Expected an existing goal rating id, but got {rid}.")
            self.kernel.audit(
                conn, "delete", "goal rating", rid, Kernel.case_of(conn, "goal rating", before._mapping),
                snapshot(before._mapping),
            )  # fmt: skip

    # -- measures -------------------------------------------------------------------------

    def add_measure(
        self,
        case: Case | int | str,
        instrument: str,
        scale: str,
        time_point: str,
        value: float,
        date: dt.date | str | None = None,
    ) -> Measure:
        """Add an outcome measure: ``instrument``'s ``scale`` score at ``time_point`` (e.g. ``"pre"``)."""
        values = {
            "instrument": checks.text(instrument, "instrument").strip(),
            "scale": checks.text(scale, "scale").strip(),
            "time_point": checks.text(time_point, "time_point").strip(),
            "value": checks.number(value, "value"),
            "date": checks.optional_date(date, "date"),
        }
        with self.kernel.write() as conn:
            cid = self.kernel.case_id(conn, case)
            row = conn.execute(sa.insert(t.measures).values(case_id=cid, **values).returning(*t.measures.c)).one()
            self.kernel.added(conn, "measure", row)
        return _measure(row)

    def measures(self, case: Case | int | str | None = None) -> list[Measure]:
        """Measures of a case (or all), by id."""
        with self.kernel.read() as conn:
            q = sa.select(t.measures).order_by(t.measures.c.id)
            if case is not None:
                q = q.where(t.measures.c.case_id == self.kernel.case_id(conn, case))
            return [_measure(r) for r in conn.execute(q)]

    def measure(self, measure_id: Measure | int) -> Measure:
        """One measure by id."""
        return _measure(self.kernel.get(t.measures, Kernel.id_of(measure_id, "measure", Measure), "measure"))

    def update_measure(
        self, measure_id: Measure | int, *, expected_version: int | None = None, **changes: Any
    ) -> Measure:
        """Change a measure's ``instrument``, ``scale``, ``time_point``, ``value`` or ``date``."""
        checks.check_changes(changes, ("instrument", "scale", "time_point", "value", "date"), "measure")
        values = dict(changes)
        for key in ("instrument", "scale", "time_point"):
            if key in values:
                values[key] = checks.text(values[key], key).strip()
        if "value" in values:
            values["value"] = checks.number(values["value"], "value")
        if "date" in values:
            values["date"] = checks.optional_date(values["date"], "date")
        mid = Kernel.id_of(measure_id, "measure", Measure)
        with self.kernel.write() as conn:
            row = self.kernel.update(conn, t.measures, "measure", mid, expected_version, values)
        return _measure(row)

    def delete_measure(self, measure_id: Measure | int, *, expected_version: int | None = None) -> None:
        """Delete a measure."""
        mid = Kernel.id_of(measure_id, "measure", Measure)
        with self.kernel.write() as conn:
            self.kernel.delete(conn, t.measures, "measure", mid, expected_version)

    def measures_frame(self) -> pd.DataFrame:
        """All measures as a tidy DataFrame, one row per score, with the case's pseudonym (never its real name).

        Returns
        -------
        DataFrame
            Columns ``id, case_id, case, instrument, scale, time_point, value, date``
            (``date`` as datetime64, NaT when unknown).
        """
        m, c = t.measures, t.cases
        q = (
            sa.select(
                m.c.id,
                m.c.case_id,
                c.c.pseudonym.label("case"),
                m.c.instrument,
                m.c.scale,
                m.c.time_point,
                m.c.value,
                m.c.date,
            )
            .join(c, m.c.case_id == c.c.id)
            .order_by(c.c.pseudonym, m.c.instrument, m.c.scale, m.c.id)
        )
        with self.kernel.read() as conn:
            rows = conn.execute(q).all()
        columns = ["id", "case_id", "case", "instrument", "scale", "time_point", "value", "date"]
        df = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        df = df.astype({"id": "int64", "case_id": "int64", "value": "float64"})
        df["date"] = pd.to_datetime(df["date"])
        return df

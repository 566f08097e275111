"""Cases, with their participants and sessions: the repository of the case aggregate.

A case is a family, client or professional whose interactions are filmed; it is named by
its pseudonym everywhere outside the store. Its consent record and the project's word list
of protected terms are in :mod:`workbench.store.consent`.
"""

from __future__ import annotations

import datetime as dt
import numbers
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from workbench.errors import StoreError
from workbench.model import AgeBand, Case, Participant, Role, Session, SessionKind, parse_enum
from workbench.store import schema as t
from workbench.store import values as checks
from workbench.store.kernel import Kernel, now, utc

__all__ = ["CaseRepository"]


def _case(r: Row) -> Case:
    return Case(
        id=r.id,
        pseudonym=r.pseudonym,
        real_name=r.real_name,
        helping_question=r.helping_question,
        guider=r.guider,
        created_at=utc(r.created_at),
        version=r.version,
    )


def _participant(r: Row) -> Participant:
    return Participant(
        id=r.id,
        case_id=r.case_id,
        label=r.label,
        role=Role(r.role),
        age_band=AgeBand(r.age_band),
        version=r.version,
        real_name=r.real_name,
    )


def _session(r: Row) -> Session:
    return Session(
        id=r.id,
        case_id=r.case_id,
        kind=SessionKind(r.kind),
        date=r.date,
        cycle=r.cycle,
        label=r.label,
        version=r.version,
    )


class CaseRepository:
    """Add, read, change and delete cases, their participants and their sessions."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    # -- cases ----------------------------------------------------------------------------

    def add_case(
        self, pseudonym: str, real_name: str | None = None, *, helping_question: str = "", guider: str = ""
    ) -> Case:
        """Add a case.

        Parameters
        ----------
        pseudonym : str
            Unique, non-empty name used everywhere outside the store.
        real_name : str, optional
            Protected: stored for the guider's own records, never exported.
        helping_question, guider : str
            The family's helping question; the guider's name.

        Raises
        ------
        StoreError
            If another case has the same pseudonym.
        """
        pseudonym = checks.text(pseudonym, "pseudonym").strip()
        values = {
            "pseudonym": pseudonym,
            "real_name": None if real_name is None else checks.text(real_name, "real_name", required=False),
            "helping_question": checks.text(helping_question, "helping_question", required=False),
            "guider": checks.text(guider, "guider", required=False),
        }
        with self.kernel.write() as conn:
            self._pseudonym_free(conn, pseudonym)
            row = conn.execute(sa.insert(t.cases).values(**values, created_at=now()).returning(*t.cases.c)).one()
            self.kernel.added(conn, "case", row)
        return _case(row)

    @staticmethod
    def _pseudonym_free(conn: Connection, pseudonym: str, except_id: int | None = None) -> None:
        row = conn.execute(sa.select(t.cases.c.id).where(t.cases.c.pseudonym == pseudonym)).first()
        if row is not None and row.id != except_id:
            raise StoreError(
                f"Expected a pseudonym that no other case has, but case {row.id} is already called {pseudonym!r}."
            )

    def cases(self) -> list[Case]:
        """All cases, by id."""
        with self.kernel.read() as conn:
            return [_case(r) for r in conn.execute(sa.select(t.cases).order_by(t.cases.c.id))]

    def case(self, id_or_pseudonym: Case | int | str) -> Case:
        """One case, by id or pseudonym.

        The rule every method, report and command follows: a :class:`~workbench.model.Case` or
        an int is an id; a text is a pseudonym if a case has exactly that pseudonym, and
        otherwise, if it is made of digits (``"2"``), an id.

        Raises
        ------
        NotFoundError
            If there is no such case (near pseudonyms are suggested).
        StoreError
            If a text of digits is the pseudonym of one case and the id of another (both are named).
        """
        with self.kernel.read() as conn:
            return _case(Kernel.require(conn, t.cases, self.kernel.case_id(conn, id_or_pseudonym), "case"))

    def update_case(self, case_id: Case | int, *, expected_version: int | None = None, **changes: Any) -> Case:
        """Change a case's ``pseudonym``, ``real_name``, ``helping_question`` or ``guider``.

        Raises
        ------
        ConflictError
            If ``expected_version`` is given and the case changed since.
        NotFoundError
            If the case is gone.
        """
        checks.check_changes(changes, ("pseudonym", "real_name", "helping_question", "guider"), "case")
        cid = Kernel.id_of(case_id, "case", Case)
        values = dict(changes)
        if "pseudonym" in values:
            values["pseudonym"] = checks.text(values["pseudonym"], "pseudonym").strip()
        for key in ("helping_question", "guider"):
            if key in values:
                values[key] = checks.text(values[key], key, required=False)
        if values.get("real_name") is not None:
            values["real_name"] = checks.text(values["real_name"], "real_name", required=False)
        with self.kernel.write() as conn:
            if "pseudonym" in values:
                self._pseudonym_free(conn, values["pseudonym"], except_id=cid)
            row = self.kernel.update(conn, t.cases, "case", cid, expected_version, values)
        return _case(row)

    def delete_case(self, case_id: Case | int, *, expected_version: int | None = None) -> None:
        """Delete a case with everything in it: rows (cascade), stills and copied media files."""
        cid = Kernel.id_of(case_id, "case", Case)
        with self.kernel.write() as conn:
            files = Kernel.files_of(conn, t.sessions.c.case_id == cid)
            self.kernel.delete(conn, t.cases, "case", cid, expected_version)
        self.kernel.remove_files(files)

    # -- participants ---------------------------------------------------------------------

    def add_participant(
        self,
        case: Case | int | str,
        label: str,
        role: Role | str,
        age_band: AgeBand | str = "unknown",
        *,
        real_name: str | None = None,
    ) -> Participant:
        """Add a participant (an actor of the annotations) to a case.

        Parameters
        ----------
        case : Case, int or str
            The case (record, id or pseudonym).
        label : str
            Pseudonymous actor label, unique within the case (e.g. ``"mother"``).
        role : Role or str
            One of :class:`~workbench.model.Role`.
        age_band : AgeBand or str
            One of :class:`~workbench.model.AgeBand`.
        real_name : str, optional
            Protected: stored, never exported nor written to the audit log; every export is
            checked against each part of it (a child's first name alone included).
        """
        values = {
            "label": checks.text(label, "label").strip(),
            "role": parse_enum(Role, role, "role").value,
            "age_band": parse_enum(AgeBand, age_band, "age_band").value,
            "real_name": checks.protected_name(real_name),
        }
        with self.kernel.write() as conn:
            cid = self.kernel.case_id(conn, case)
            row = conn.execute(
                sa.insert(t.participants).values(case_id=cid, **values).returning(*t.participants.c)
            ).one()
            self.kernel.added(conn, "participant", row)
        return _participant(row)

    def participants(self, case: Case | int | str | None = None) -> list[Participant]:
        """Participants of one case (or of all cases), by id."""
        with self.kernel.read() as conn:
            q = sa.select(t.participants).order_by(t.participants.c.id)
            if case is not None:
                q = q.where(t.participants.c.case_id == self.kernel.case_id(conn, case))
            return [_participant(r) for r in conn.execute(q)]

    def participant(self, participant_id: int) -> Participant:
        """One participant by id."""
        return _participant(self.kernel.get(t.participants, Kernel.id_of(participant_id, "participant"), "participant"))

    def update_participant(
        self, participant_id: Participant | int, *, expected_version: int | None = None, **changes: Any
    ) -> Participant:
        """Change a participant's ``label``, ``role``, ``age_band`` or protected ``real_name`` (None clears it)."""
        checks.check_changes(changes, ("label", "role", "age_band", "real_name"), "participant")
        values = dict(changes)
        if "real_name" in values:
            values["real_name"] = checks.protected_name(values["real_name"])
        if "label" in values:
            values["label"] = checks.text(values["label"], "label").strip()
        if "role" in values:
            values["role"] = parse_enum(Role, values["role"], "role").value
        if "age_band" in values:
            values["age_band"] = parse_enum(AgeBand, values["age_band"], "age_band").value
        pid = Kernel.id_of(participant_id, "participant", Participant)
        with self.kernel.write() as conn:
            row = self.kernel.update(conn, t.participants, "participant", pid, expected_version, values)
        return _participant(row)

    def delete_participant(self, participant_id: Participant | int, *, expected_version: int | None = None) -> None:
        """Delete a participant (their annotations stay: actors are labels)."""
        pid = Kernel.id_of(participant_id, "participant", Participant)
        with self.kernel.write() as conn:
            self.kernel.delete(conn, t.participants, "participant", pid, expected_version)

    # -- sessions -------------------------------------------------------------------------

    def add_session(
        self,
        case: Case | int | str,
        kind: SessionKind | str,
        date: dt.date | str,
        cycle: int = 1,
        label: str | None = None,
    ) -> Session:
        """Add a session (filming, shared review or supervision) to a case.

        Parameters
        ----------
        case : Case, int or str
            The case (record, id or pseudonym).
        kind : SessionKind or str
            ``"filming"``, ``"shared review"`` or ``"supervision"``.
        date : datetime.date or str
            The date (``"YYYY-MM-DD"`` accepted).
        cycle : int
            The VIG cycle (film -> micro-analysis -> shared review) this belongs to.
        label : str, optional
            How reports and ``workbench info`` name the session, and one way to pick it
            (``workbench report --session LABEL``). Default: ``"<kind> <date>"``
            (``"filming 2026-03-02"``), numbered if the case has one of that name already.
        """
        values = {
            "kind": parse_enum(SessionKind, kind, "kind").value,
            "date": checks.date(date, "date"),
            "cycle": self._cycle(cycle),
            "label": checks.text(label or "", "label", required=False),
        }
        with self.kernel.write() as conn:
            cid = self.kernel.case_id(conn, case)
            if not values["label"].strip():
                taken = conn.execute(sa.select(t.sessions.c.label).where(t.sessions.c.case_id == cid)).scalars()
                values["label"] = checks.numbered(f"{values['kind']} {values['date'].isoformat()}", set(taken))
            row = conn.execute(sa.insert(t.sessions).values(case_id=cid, **values).returning(*t.sessions.c)).one()
            self.kernel.added(conn, "session", row)
        return _session(row)

    @staticmethod
    def _cycle(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"Expected cycle to be an integer >= 1, but got {value!r}.")
        return int(value)

    def sessions(self, case: Case | int | str | None = None) -> list[Session]:
        """Sessions of one case (or all), by date then id."""
        with self.kernel.read() as conn:
            q = sa.select(t.sessions).order_by(t.sessions.c.date, t.sessions.c.id)
            if case is not None:
                q = q.where(t.sessions.c.case_id == self.kernel.case_id(conn, case))
            return [_session(r) for r in conn.execute(q)]

    def session(self, session_id: Session | int) -> Session:
        """One session by id."""
        return _session(self.kernel.get(t.sessions, Kernel.id_of(session_id, "session", Session), "session"))

    def update_session(
        self, session_id: Session | int, *, expected_version: int | None = None, **changes: Any
    ) -> Session:
        """Change a session's ``kind``, ``date``, ``cycle`` or ``label``."""
        checks.check_changes(changes, ("kind", "date", "cycle", "label"), "session")
        values = dict(changes)
        if "kind" in values:
            values["kind"] = parse_enum(SessionKind, values["kind"], "kind").value
        if "date" in values:
            values["date"] = checks.date(values["date"], "date")
        if "cycle" in values:
            values["cycle"] = self._cycle(values["cycle"])
        if "label" in values:
            values["label"] = checks.text(values["label"], "label", required=False)
        sid = Kernel.id_of(session_id, "session", Session)
        with self.kernel.write() as conn:
            row = self.kernel.update(conn, t.sessions, "session", sid, expected_version, values)
        return _session(row)

    def delete_session(self, session_id: Session | int, *, expected_version: int | None = None) -> None:
        """Delete a session with its recordings, their rows, stills and copied media."""
        sid = Kernel.id_of(session_id, "session", Session)
        with self.kernel.write() as conn:
            files = Kernel.files_of(conn, t.sessions.c.id == sid)
            self.kernel.delete(conn, t.sessions, "session", sid, expected_version)
        self.kernel.remove_files(files)

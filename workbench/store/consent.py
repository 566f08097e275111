"""Consent and the words never to export: the repository of what a case's privacy rests on.

A case's consent record says who may see its films, for which purposes and until when; every
export checks it first (:meth:`ConsentRepository.check_consent`). The project's list of
protected words ("never export": a school, a street) is checked by every export too.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Iterable
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Row

from workbench.deidentify import MIN_PART, fold
from workbench.errors import ConsentError, NotFoundError
from workbench.model import Case, Consent, parse_consent_purpose
from workbench.store import schema as t
from workbench.store import values as checks
from workbench.store.kernel import Kernel, now, utc

__all__ = ["ConsentRepository", "consent_hint"]


def consent_hint(
    case: str,
    purpose: str,
    current: Consent | None,
    *,
    viewer: str | None = None,
    renew: bool = False,
    project: str = "PROJECT",
) -> str:
    """How to record consent for ``purpose`` of ``case``: the command line and, in brackets, the API call.

    With a ``current`` record, the command keeps what it allows and adds ``purpose`` (and ``viewer``);
    with ``renew``, it asks for a new retention date. ``project`` is what the command names the project.
    """
    purposes = [*current.purposes] if current else []
    purposes = list(dict.fromkeys([*purposes, purpose]))
    viewers = list(dict.fromkeys([*(current.viewers if current else ()), *([viewer] if viewer else [])]))
    until = "YYYY-MM-DD" if current is None or renew or current.until is None else current.until.isoformat()
    given_by = current.given_by if current is not None and current.given_by else "ROLE"
    flags = " ".join(f"--purpose {shlex.quote(p)}" for p in purposes)
    flags += " " + (" ".join(f"--viewer {shlex.quote(v)}" for v in viewers) if viewers else "--viewer ROLE")
    open_ended = current is not None and current.until is None and not renew
    flags += " --open-ended" if open_ended else f" --until {until}"
    flags += f" --given-by {shlex.quote(given_by)}"
    api_until = "None" if open_ended else repr(until)
    api = (
        f"project.set_consent({case!r}, purposes={purposes!r}, viewers={viewers or ['ROLE']!r}, "
        f"until={api_until}, given_by={given_by!r}"
        + (f", expected_version={current.version})" if current is not None else ")")
    )
    return f"workbench consent set {project} {shlex.quote(case)} {flags} (in Python: {api})"


def _consent(r: Row) -> Consent:
    # records made before the vocabulary was fixed: known spellings read as their purpose, others kept
    purposes = tuple(dict.fromkeys(parse_consent_purpose(p, strict=False) for p in r.purposes))
    return Consent(
        id=r.id,
        case_id=r.case_id,
        viewers=tuple(r.viewers),
        purposes=purposes,
        until=r.until,
        given_by=r.given_by,
        note=r.note,
        recorded_at=utc(r.recorded_at),
        recorded_by=r.recorded_by,
        version=r.version,
    )


class ConsentRepository:
    """Record, withdraw and check a case's consent; keep the project's protected words."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    # -- the "never export" word list ------------------------------------------------------

    def add_protected_word(self, word: str) -> int:
        """Add a term to the project's "never export" list (a school's name, a street, a town).

        Every export is checked against the list as a whole phrase, case-insensitively, however
        the words are joined (``"Oak Lane"``, ``"oak-lane"``). The term is protected itself:
        the audit log records that a term was added, never which.

        Parameters
        ----------
        word : str
            The term (two characters or more).

        Returns
        -------
        int
            The term's id (the id it already had, if the list holds it already, compared as
            exports compare it).
        """
        text = " ".join(checks.text(word, "word").split())
        if len(fold(text)) < MIN_PART:
            raise ValueError(f"Expected a protected word of {MIN_PART} characters or more, but got {len(text)}.")
        with self.kernel.write() as conn:
            for row in conn.execute(sa.select(t.protected_words.c.id, t.protected_words.c.word)):
                if fold(row.word) == fold(text):
                    return int(row.id)
            new_id = conn.execute(
                sa.insert(t.protected_words)
                .values(word=text, added_at=now(), added_by=self.kernel.coder)
                .returning(t.protected_words.c.id)
            ).scalar_one()
            self.kernel.audit(conn, "add", "protected word", int(new_id), None, None)
        return int(new_id)

    def protected_words(self) -> list[str]:
        """The project's "never export" list, in the order the terms were added."""
        with self.kernel.read() as conn:
            q = sa.select(t.protected_words.c.word).order_by(t.protected_words.c.id)
            return [str(w) for w in conn.execute(q).scalars()]

    def remove_protected_word(self, word: str) -> None:
        """Take a term off the "never export" list (compared as exports compare it).

        Raises
        ------
        NotFoundError
            If the list does not hold it (the message does not repeat it).
        """
        wanted = fold(" ".join(checks.text(word, "word").split()))
        with self.kernel.write() as conn:
            rows = conn.execute(sa.select(t.protected_words.c.id, t.protected_words.c.word)).all()
            ids = [int(r.id) for r in rows if fold(r.word) == wanted]
            if not ids:
                raise NotFoundError(
                    f"Expected a term of the protected word list, but the list ({len(rows)} terms) does not hold it."
                )
            conn.execute(sa.delete(t.protected_words).where(t.protected_words.c.id.in_(ids)))
            for i in ids:
                self.kernel.audit(conn, "delete", "protected word", i, None, None)

    # -- consent ----------------------------------------------------------------------------

    @staticmethod
    def _words(values: Any, name: str) -> list[str]:
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, Iterable):
            raise TypeError(f"Expected {name} to be a list of strings, but got {type(values).__name__}.")
        out = [checks.text(v, name).strip() for v in values]
        if not out:
            raise ValueError(f"Expected at least one of {name}, but got none.")
        return list(dict.fromkeys(out))

    def set_consent(
        self,
        case: Case | int | str,
        *,
        viewers: Iterable[str],
        purposes: Iterable[str],
        until: dt.date | str | None,
        given_by: str = "",
        note: str = "",
        expected_version: int | None = None,
    ) -> Consent:
        """Record (or replace) a case's consent: who may see the films, for which purposes, until when.

        Parameters
        ----------
        case : Case, int or str
            The case (record, id or pseudonym).
        viewers : list of str
            Who may see the films (roles or names), e.g. ``["guider", "supervisor"]``.
        purposes : list of str
            For what: among :data:`~workbench.model.CONSENT_PURPOSES` (``"supervision"``,
            ``"accreditation"``, ``"research"``, ``"shared review"``, ``"training"``); case, hyphens
            and underscores are ignored.
        until : date, 'YYYY-MM-DD' or None
            The retention date: after it :meth:`retention` lists the case for purging.
            None: until consent is withdrawn.
        given_by, note : str
            Who gave consent (a role, not a real name); a free note.
        expected_version : int, optional
            When replacing a record: the version you read (else ConflictError).

        Returns
        -------
        Consent

        Raises
        ------
        ValueError
            For an unknown purpose (the message lists the known ones) or no purpose at all.
        """
        values = {
            "viewers": self._words(viewers, "viewers"),
            "purposes": list(dict.fromkeys(parse_consent_purpose(p) for p in self._words(purposes, "purposes"))),
            "until": checks.optional_date(until, "until"),
            "given_by": checks.text(given_by, "given_by", required=False),
            "note": checks.text(note, "note", required=False),
            "recorded_at": now(),
            "recorded_by": self.kernel.coder,
        }
        with self.kernel.write() as conn:
            cid = self.kernel.case_id(conn, case)
            current = conn.execute(sa.select(t.consents).where(t.consents.c.case_id == cid)).first()
            if current is None:
                row = conn.execute(sa.insert(t.consents).values(case_id=cid, **values).returning(*t.consents.c)).one()
                self.kernel.added(conn, "consent", row)
            else:
                row = self.kernel.update(conn, t.consents, "consent", current.id, expected_version, values)
        return _consent(row)

    def withdraw_consent(self, case: Case | int | str, *, expected_version: int | None = None) -> Consent:
        """Remove a case's consent record: from now on every export of the case is refused.

        The case's films and everything derived from them stay until the case is purged
        (:meth:`purge_case`, ``workbench purge``): a withdrawal of consent calls for that.
        To withdraw only some purposes, record the consent again without them (:meth:`set_consent`).

        Returns
        -------
        Consent
            The record that was removed (the audit log keeps it too).

        Raises
        ------
        NotFoundError
            If the case has no consent record.
        """
        with self.kernel.write() as conn:
            cid = self.kernel.case_id(conn, case)
            current = conn.execute(sa.select(t.consents).where(t.consents.c.case_id == cid)).first()
            if current is None:
                raise NotFoundError(
                    f"Expected a consent record of case {Kernel.pseudonym(conn, cid)} to withdraw, "
                    "but none was recorded."
                )
            self.kernel.delete(conn, t.consents, "consent", current.id, expected_version)
        return _consent(current)

    def consent(self, case: Case | int | str) -> Consent | None:
        """The case's consent record, or None if none was recorded."""
        with self.kernel.read() as conn:
            cid = self.kernel.case_id(conn, case)
            row = conn.execute(sa.select(t.consents).where(t.consents.c.case_id == cid)).first()
        return None if row is None else _consent(row)

    def consents(self) -> list[Consent]:
        """Every consent record, by case id."""
        with self.kernel.read() as conn:
            return [_consent(r) for r in conn.execute(sa.select(t.consents).order_by(t.consents.c.case_id))]

    def check_consent(
        self,
        case: Case | int | str,
        purpose: str,
        *,
        viewer: str | None = None,
        on: dt.date | str | None = None,
        use: str | None = None,
    ) -> Consent:
        """Make sure the case's films may be used for ``purpose`` (and seen by ``viewer``) on a date.

        Every export calls this before it writes anything: reports (``"supervision"``; the research
        comparison ``"research"``, per case), accreditation packs (``"accreditation"``), films and
        handouts (``"shared review"`` or ``"training"``).

        Parameters
        ----------
        case : Case, int or str
            The case (record, id or pseudonym).
        purpose : str
            One of :data:`~workbench.model.CONSENT_PURPOSES`.
        viewer : str, optional
            Also require this viewer (role or name) among who may see the films.
        on : date or 'YYYY-MM-DD', optional
            The day of the use (default: today).
        use : str, optional
            What is being made, for the message (e.g. ``"the supervision report"``).

        Returns
        -------
        Consent
            The record that allows it.

        Raises
        ------
        ConsentError
            If there is no consent record, the purpose or viewer is not in it, or its retention date
            has passed. The message names the case (pseudonym), the use, what the record allows and
            how to record consent (``workbench consent set ...`` and :meth:`set_consent`).
        ValueError
            For a purpose outside the vocabulary.
        """
        purpose = parse_consent_purpose(purpose)
        day = checks.date(on, "on") if on is not None else dt.date.today()
        with self.kernel.read() as conn:
            cid = self.kernel.case_id(conn, case)
            name = Kernel.pseudonym(conn, cid)
            row = conn.execute(sa.select(t.consents).where(t.consents.c.case_id == cid)).first()
        found = None if row is None else _consent(row)
        what = f"{purpose!r}" + (f" ({use})" if use else "")
        given = "Once the family has given it, record it with: "
        ended = found is not None and found.until is not None and found.until < day

        def refuse(reason: str, message: str) -> NoReturn:
            raise ConsentError(message, case=name, purpose=purpose, reason=reason)

        if found is None:
            refuse(
                "no consent record",
                f"Expected a consent record of case {name} allowing {what}, but none was "
                f"recorded. {given}{consent_hint(name, purpose, None)}.",
            )
        if purpose not in found.purposes:
            hint = consent_hint(name, purpose, found, renew=ended)
            refuse(
                f"its consent does not cover {purpose} (it covers {', '.join(found.purposes)})",
                f"Expected consent for {what} from case {name}, but it covers only {', '.join(found.purposes)}. "
                f"{given}{hint}.",
            )
        if viewer is not None and viewer.strip() not in found.viewers:
            hint = consent_hint(name, purpose, found, viewer=viewer.strip(), renew=ended)
            refuse(
                f"{viewer.strip()!r} is not among who may see its films",
                f"Expected {viewer!r} among who may see the films of case {name}, but got "
                f"{', '.join(found.viewers)}. {given}{hint}.",
            )
        if found.until is not None and ended:
            refuse(
                f"its consent ended on {found.until.isoformat()}",
                f"Expected consent of case {name} for {what} valid on {day.isoformat()}, but it ended on "
                f"{found.until.isoformat()} (it covered {', '.join(found.purposes)}). If the family renewed it, "
                f"record it with: {consent_hint(name, purpose, found, renew=True)}. Otherwise remove the case "
                f"and everything derived from its films: workbench purge PROJECT --case {shlex.quote(name)}.",
            )
        return found

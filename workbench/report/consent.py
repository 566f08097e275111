"""Consent for every export: each one checks the case's consent for its use before it writes anything.

=================================  ==================  ===========================================
export                             purpose             a case without it
=================================  ==================  ===========================================
micro-analysis, supervision and    ``supervision``     refused (:class:`~workbench.errors.ConsentError`)
VERP reports (:func:`build`)
accreditation pack                 ``accreditation``   refused, for every case the pack includes
(:func:`build_pack`)
research comparison                ``research``        left out, with a note in the report and on
                                                       the command line (refused if none is left)
films and handouts                 ``shared review``   refused (:func:`check_film_consent`)
                                   or ``training``
=================================  ==================  ===========================================

A VERP report is the professional's written reflection on their own filmed practice, reviewed with a
VERP supervisor or facilitator: the same use as a supervision record, so it needs ``supervision``
(in an accreditation pack, ``accreditation`` too, as everything in the pack does).

The purposes are :data:`workbench.model.CONSENT_PURPOSES`; consent is recorded with
``workbench consent set`` or :meth:`Project.set_consent <workbench.project.Project.set_consent>`, and
checked by :meth:`Project.check_consent <workbench.project.Project.check_consent>`, whose refusal
names the case, the use, what its record allows and how to record consent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.errors import ConsentError

if TYPE_CHECKING:
    from workbench.model import Case, Consent
    from workbench.project import Project

__all__ = [
    "FILM_PURPOSES",
    "PACK_PURPOSE",
    "REPORT_PURPOSES",
    "LeftOut",
    "check_cases",
    "check_film_consent",
    "check_report_consent",
    "consenting_cases",
    "split_by_consent",
]

#: The consent purpose each report kind needs.
REPORT_PURPOSES: dict[str, str] = {
    "micro-analysis": "supervision",
    "supervision": "supervision",
    "verp": "supervision",
    "research": "research",
}
#: The consent purpose of an accreditation pack (for every case in it).
PACK_PURPOSE = "accreditation"
#: The purposes a film or handout can be made for: shown to the family, or to other practitioners.
FILM_PURPOSES: tuple[str, ...] = ("shared review", "training")

_REPORT_USES = {
    "micro-analysis": "the micro-analysis report",
    "supervision": "the supervision report",
    "verp": "the VERP report",
    "research": "the research report",
}


@dataclass(frozen=True)
class LeftOut:
    """A case an export across cases left out for want of consent.

    Attributes
    ----------
    case : str
        Its pseudonym.
    reason : str
        Why, in a few words (``"no consent record"``, ``"its consent ended on 2026-01-31"``): the note
        shown in the report.
    message : str
        The whole refusal, with how to record consent (for the command line).
    """

    case: str
    reason: str
    message: str

    def note(self) -> str:
        """The note for the report: ``"Case Birch is left out: no consent record."``"""
        return f"Case {self.case} is left out: {self.reason}."


def check_report_consent(
    project: Project, kind: str, case: Case | int | str, *, purpose: str | None = None, on: dt.date | None = None
) -> Consent:
    """Refuse a report on one case whose consent does not allow it (:data:`REPORT_PURPOSES`).

    Parameters
    ----------
    project : Project
    kind : {"micro-analysis", "supervision", "verp"}
        The report kind (canonical name).
    case : Case, int or str
    purpose : str, optional
        Another purpose than the kind's (a report built for an accreditation pack: ``"accreditation"``).
    on : date, optional
        The day (default: today).

    Raises
    ------
    ConsentError
    """
    need = purpose or REPORT_PURPOSES[kind]
    use = _REPORT_USES[kind] + (" for an accreditation pack" if need == PACK_PURPOSE else "")
    return project.check_consent(case, need, on=on, use=use)


def split_by_consent(
    project: Project, cases: Sequence[Case], purpose: str, *, use: str, on: dt.date | None = None
) -> tuple[list[Case], list[LeftOut]]:
    """The cases whose consent allows ``purpose``, and those left out (with why).

    For exports across cases that leave a case out rather than refuse (the research comparison).
    """
    kept: list[Case] = []
    left: list[LeftOut] = []
    for case in cases:
        try:
            project.check_consent(case, purpose, on=on, use=use)
        except ConsentError as exc:
            left.append(LeftOut(case.pseudonym, exc.reason or str(exc), str(exc)))
        else:
            kept.append(case)
    return kept, left


def consenting_cases(
    project: Project, cases: Sequence[Case], purpose: str, *, use: str, on: dt.date | None = None
) -> tuple[list[Case], list[LeftOut]]:
    """Like :func:`split_by_consent`, but refuse when no case is left.

    Raises
    ------
    ConsentError
        If no case's consent allows ``purpose``; the message lists each case and why.
    """
    kept, left = split_by_consent(project, cases, purpose, use=use, on=on)
    if left and not kept:
        _refuse_all(left, purpose, use, every=False)
    return kept, left


def _refuse_all(left: Sequence[LeftOut], purpose: str, use: str, *, every: bool) -> None:
    if len(left) == 1:
        raise ConsentError(left[0].message, case=left[0].case, purpose=purpose, reason=left[0].reason)
    lines = "\n".join(f"  - {x.message}" for x in left)
    names = ", ".join(x.case for x in left)
    which = "every case" if every else "at least one case"
    raise ConsentError(
        f"Expected consent for {purpose!r} ({use}) from {which}, but {len(left)} cases are refused ({names}):\n{lines}",
        case=names,
        purpose=purpose,
        reason="; ".join(f"{x.case}: {x.reason}" for x in left),
    )


def check_cases(project: Project, cases: Sequence[Case], purpose: str, *, use: str, on: dt.date | None = None) -> None:
    """Refuse an export unless every case's consent allows ``purpose``; the error names every case refused.

    Raises
    ------
    ConsentError
        One message listing each refused case with its reason and how to record consent.
    """
    _, left = split_by_consent(project, cases, purpose, use=use, on=on)
    if left:
        _refuse_all(left, purpose, use, every=True)


def check_film_consent(
    project: Project, case: Case | int | str, purpose: str, *, what: str = "film", on: dt.date | None = None
) -> Consent:
    """Refuse a film or handout of a case whose consent does not allow ``purpose``.

    What the film and handout exports call before they write anything.

    Parameters
    ----------
    project : Project
    case : Case, int or str
    purpose : {"shared review", "training"}
        Shown to the family in a shared review session, or to other practitioners to teach them.
    what : str
        What is being made, for the message (``"film"``, ``"handout"``).
    on : date, optional
        The day (default: today).

    Returns
    -------
    Consent
        The record that allows it.

    Raises
    ------
    ValueError
        For a purpose other than those of :data:`FILM_PURPOSES`.
    ConsentError
        Naming the case, the use, what its record allows and how to record consent.

    Examples
    --------
    >>> check_film_consent(project, "Aster", "shared review", what="film")  # doctest: +SKIP
    """
    from workbench.model import parse_consent_purpose

    need = parse_consent_purpose(purpose)
    if need not in FILM_PURPOSES:
        raise ValueError(
            f"Invalid value for the 'purpose' parameter of a {what}. Allowed values are "
            f"{', '.join(map(repr, FILM_PURPOSES))}, but got {purpose!r} instead."
        )
    use = f"a {what} for the family's shared review" if need == "shared review" else f"a {what} for training"
    return project.check_consent(case, need, on=on, use=use)

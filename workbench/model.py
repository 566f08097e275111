"""Domain records: cases, participants, sessions, recordings, annotations, moments,
stills, comments, goals and measures.

Records are frozen dataclasses returned by the store. Each stored record has an
``id`` and a ``version`` (incremented on every update: the store refuses an
update made from a stale version with :class:`~workbench.errors.ConflictError`).

Privacy: a :class:`Case` carries a ``pseudonym`` (used everywhere) and an
optional protected ``real_name``, which is kept in the store for the guider's
own records and never leaves it: ``repr`` hides it and exports never read it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

__all__ = [
    "CONSENT_PURPOSES",
    "AgeBand",
    "Annotation",
    "Case",
    "Comment",
    "CommentStatus",
    "Consent",
    "Goal",
    "GoalRating",
    "Measure",
    "Moment",
    "Participant",
    "Recording",
    "Role",
    "Session",
    "SessionKind",
    "Still",
    "parse_consent_purpose",
    "parse_enum",
]


class Role(StrEnum):
    """Who a participant is in the work."""

    PARENT = "parent"
    CHILD = "child"
    CARER = "carer"
    PROFESSIONAL = "professional"
    GUIDER = "guider"
    TRAINEE = "trainee"
    SUPERVISOR = "supervisor"


class AgeBand(StrEnum):
    """Coarse age bands (no birth dates are stored)."""

    INFANT = "0-1"
    TODDLER = "1-3"
    PRESCHOOL = "3-5"
    CHILD = "5-12"
    ADOLESCENT = "12-18"
    ADULT = "18+"
    UNKNOWN = "unknown"


class SessionKind(StrEnum):
    """What a session was."""

    FILMING = "filming"
    SHARED_REVIEW = "shared review"
    SUPERVISION = "supervision"


class CommentStatus(StrEnum):
    """A supervisor's verdict on a coded moment."""

    AGREE = "agree"
    DISCUSS = "discuss"
    REVISE = "revise"


E = TypeVar("E", bound=StrEnum)


def parse_enum(enum: type[E], value: Any, field_name: str) -> E:
    """Coerce ``value`` to ``enum`` or raise a ValueError listing the allowed values."""
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ValueError(
            f"Invalid value for the {field_name!r} parameter. Allowed values are {allowed}, but got {value!r} instead."
        ) from None


@dataclass(frozen=True, slots=True)
class Case:
    """A family, client or professional whose interactions are filmed.

    ``real_name`` is protected: stored, never exported, hidden in ``repr``.
    """

    id: int
    pseudonym: str
    real_name: str | None = field(default=None, repr=False)
    helping_question: str = ""
    guider: str = ""
    created_at: dt.datetime | None = None
    version: int = 1


@dataclass(frozen=True, slots=True)
class Participant:
    """A person in a case's recordings, by role and pseudonymous label (the actor name).

    ``real_name`` is protected like :attr:`Case.real_name`: stored, never exported, hidden in ``repr``;
    every export is checked against each part of it.
    """

    id: int
    case_id: int
    label: str
    role: Role
    age_band: AgeBand = AgeBand.UNKNOWN
    version: int = 1
    real_name: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Session:
    """A filming, a shared review session (SRS) or a supervision session."""

    id: int
    case_id: int
    kind: SessionKind
    date: dt.date
    cycle: int = 1
    label: str = ""
    version: int = 1


@dataclass(frozen=True, slots=True)
class Recording:
    """A video file registered in a session, with what probing it found.

    ``path`` is where the file is (absolute, or relative to the project folder
    for files copied into ``<project>/media/``); it never leaves the store.
    """

    id: int
    session_id: int
    path: str
    sha256: str
    duration_ms: int
    frame_count: int
    fps: float
    width: int
    height: int
    rotation: int = 0
    codec: str = ""
    label: str = ""
    version: int = 1


@dataclass(frozen=True, slots=True)
class Annotation:
    """One stored annotation: who (``actor``) did what (``code``) from ``onset_ms`` to ``offset_ms``.

    What :meth:`Project.annotation <workbench.project.Project.annotation>`,
    ``add_annotation`` and ``update_annotation`` return; many annotations at once come as an
    :class:`~workbench.annotations.AnnotationTable`. A point event has ``offset_ms == onset_ms``.
    ``extras`` holds the extra columns stored with the row (e.g. BORIS modifiers); ``version`` is
    what an edit passes as ``expected_version``.

    It also reads like the mapping ``annotation()`` returned before it had a record type:
    ``a["note"]`` is ``a.note``, and an extra column is found by its name (``a["modifier"]``).

    Examples
    --------
    >>> a = Annotation(id=7, recording_id=1, actor="child", code="waiting", onset_ms=500, offset_ms=500)
    >>> a.is_point, a["code"]
    (True, 'waiting')
    """

    id: int
    recording_id: int
    actor: str
    code: str
    onset_ms: int
    offset_ms: int
    coder: str = ""
    note: str = ""
    extras: dict[str, Any] = field(default_factory=dict, hash=False)
    version: int = 1
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def is_point(self) -> bool:
        """Whether it is a point event (``offset_ms == onset_ms``)."""
        return self.offset_ms == self.onset_ms

    def __getitem__(self, key: str) -> Any:
        if key != "extras" and key in self.__dataclass_fields__:
            return getattr(self, key)
        try:
            return self.extras[key]
        except KeyError:
            raise KeyError(f"Expected a field or extra column of annotation {self.id}, but got {key!r}.") from None


@dataclass(frozen=True, slots=True)
class Moment:
    """A selected segment of a recording ("a moment better than usual")."""

    id: int
    recording_id: int
    onset_ms: int
    offset_ms: int
    title: str
    reason: str = ""
    reflection: str = ""
    version: int = 1


@dataclass(frozen=True, slots=True)
class Still:
    """One exact frame of a recording, stored as an image file with a caption."""

    id: int
    recording_id: int
    time_ms: int
    image_path: str
    caption: str = ""
    moment_id: int | None = None
    version: int = 1


@dataclass(frozen=True, slots=True)
class Comment:
    """A supervisor's (or anyone's) comment at a time in a recording."""

    id: int
    recording_id: int
    time_ms: int
    author: str
    text: str
    status: CommentStatus = CommentStatus.DISCUSS
    created_at: dt.datetime | None = None
    version: int = 1


@dataclass(frozen=True, slots=True)
class GoalRating:
    """One rating of a goal on its scale, at a date (and optionally a session)."""

    id: int
    goal_id: int
    date: dt.date
    value: float
    session_id: int | None = None


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal or working point of a case, rated on a scale over time."""

    id: int
    case_id: int
    text: str
    scale_min: float = 0.0
    scale_max: float = 10.0
    ratings: tuple[GoalRating, ...] = ()
    version: int = 1


@dataclass(frozen=True, slots=True)
class Measure:
    """An outcome measure: an instrument's score at a time point (e.g. 'pre', 'post')."""

    id: int
    case_id: int
    instrument: str
    scale: str
    time_point: str
    value: float
    date: dt.date | None = None
    version: int = 1


#: The uses a consent record can allow (:attr:`Consent.purposes`), and what each one covers. Every export
#: checks the case's consent for its use before it writes anything (``docs/consent.md``):
CONSENT_PURPOSES: dict[str, str] = {
    "supervision": "supervision, micro-analysis and VERP reports: the work reviewed with a supervisor",
    "accreditation": "accreditation packs: the trainee's reports and stills shown to an assessment panel",
    "research": "the research comparison across cases (a case without it is left out)",
    "shared review": "films and handouts shown to the family itself in a shared review session",
    "training": "films and handouts shown to other practitioners to teach them",
}
#: Other spellings of a purpose, as records made before the vocabulary was fixed may hold them.
_PURPOSE_ALIASES: dict[str, str] = {
    "supervisions": "supervision",
    "srs": "shared review",
    "shared review session": "shared review",
    "teaching": "training",
}


def parse_consent_purpose(value: object, *, strict: bool = True) -> str:
    """The purpose of :data:`CONSENT_PURPOSES` that ``value`` names (case, hyphens and underscores ignored).

    Parameters
    ----------
    value : str
        A purpose, e.g. ``"Shared-Review"`` or ``"srs"`` (-> ``"shared review"``).
    strict : bool
        Refuse a purpose outside the vocabulary (default). ``False`` returns it, tidied, instead: how
        old stored records are read, so that they stay readable (an unknown purpose allows nothing).

    Raises
    ------
    ValueError
        For an unknown purpose (when ``strict``), listing the known ones.

    Examples
    --------
    >>> parse_consent_purpose("Shared_Review")
    'shared review'
    """
    if not isinstance(value, str):
        raise TypeError(f"Expected a consent purpose to be a string, but got {type(value).__name__}.")
    key = " ".join(value.replace("-", " ").replace("_", " ").lower().split())
    key = _PURPOSE_ALIASES.get(key, key)
    if key in CONSENT_PURPOSES or not strict:
        return key
    known = ", ".join(repr(p) for p in CONSENT_PURPOSES)
    raise ValueError(f"Invalid consent purpose. Allowed purposes are {known}, but got {value!r} instead.")


@dataclass(frozen=True, slots=True)
class Consent:
    """A case's consent record: who may see the films, for which purposes, until when.

    ``purposes`` are among :data:`CONSENT_PURPOSES` (a record stored before the vocabulary was fixed
    may hold another word: it is kept, and allows nothing). ``until`` is the retention date (None: until
    consent is withdrawn); after it the case is listed by ``workbench retention`` and should be purged
    (``workbench purge``).
    """

    id: int
    case_id: int
    viewers: tuple[str, ...]
    purposes: tuple[str, ...]
    until: dt.date | None = None
    given_by: str = ""
    note: str = ""
    recorded_at: dt.datetime | None = None
    recorded_by: str = ""
    version: int = 1

"""The store as one object: every repository behind the methods a project offers.

:class:`Store` composes the kernel and the repositories (cases, consent, recordings,
annotations, moments, goals, the audit log) and adds the store-level services (backups,
purges, retention). Users open a :class:`workbench.project.Project`, which is a ``Store`` that
can also register films and write stills (it sits above the store and :mod:`workbench.media`);
code that only reads the store (batch jobs, tools) may open a ``Store`` with :func:`open_store`.

Forwarding
----------
Most methods are a repository's methods, unchanged. Writing each one again as
``def add_case(self, ...): return self.repos.cases.add_case(...)`` would repeat 68 signatures and
docstrings in a class of some 700 lines, and let the copies drift apart. Instead each is a
:class:`forward` descriptor naming the repository's function: ``Store.add_case`` *is*
``CaseRepository.add_case`` (so ``help()``, :func:`inspect.signature` and IDEs show its real
signature and docstring), and ``store.add_case`` is that function bound to the store's
repository, with no wrapper frame in between. The descriptor is typed (``ParamSpec``), so type
checkers see each forwarded method's own parameters and return type. Methods that are more than
a repository's method (closing, properties, the services) are written out below.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import os
from collections.abc import Callable
from pathlib import Path
from types import MethodType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from workbench.model import Case
from workbench.scheme import CodingScheme
from workbench.store.annotations import AnnotationRepository
from workbench.store.audit import AuditRepository
from workbench.store.backup import BackupEntry, BackupInfo, backup_project, list_backups
from workbench.store.cases import CaseRepository
from workbench.store.consent import ConsentRepository
from workbench.store.goals import GoalRepository
from workbench.store.kernel import Kernel, open_kernel
from workbench.store.moments import MomentRepository
from workbench.store.purge import (
    DEFAULT_WAIT_S,
    PurgeReport,
    RetentionItem,
    finish_purges,
    pending_purges,
    purge_case,
    retention,
)
from workbench.store.recordings import RecordingRepository

__all__ = ["Repositories", "Store", "forward", "open_store"]

P = ParamSpec("P")
R = TypeVar("R")


class forward(Generic[P, R]):  # lower case: it reads as a method definition in a class body
    """A method that is a repository's method: ``add_case = forward("repos.cases", CaseRepository.add_case)``.

    On the class it is the repository's function itself (its signature and docstring for
    ``help()``, :func:`inspect.signature`, Sphinx); on an instance, that function bound to the
    repository found at the (dotted) attribute ``via``. The method keeps its own name: the
    attribute it is assigned to must be the function's name.
    """

    def __init__(self, via: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.via = via
        self._repository = operator.attrgetter(via)
        self.method = method
        self.name: str = getattr(method, "__name__", "")
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.name:
            raise TypeError(
                f"Expected {owner.__name__}.{name} to forward a method named {name!r}, but got {self.name!r}."
            )

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Callable[Concatenate[Any, P], R]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[P, R]: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Callable[..., R]:
        if obj is None:
            return self.method
        return MethodType(self.method, self._repository(obj))


@dataclasses.dataclass(frozen=True)
class Repositories:
    """The repositories of one store, one per aggregate, all on the same kernel."""

    cases: CaseRepository
    consent: ConsentRepository
    recordings: RecordingRepository
    annotations: AnnotationRepository
    moments: MomentRepository
    goals: GoalRepository
    audit: AuditRepository

    @classmethod
    def on(cls, kernel: Kernel) -> Repositories:
        """A repository of each kind on ``kernel``."""
        return cls(
            cases=CaseRepository(kernel),
            consent=ConsentRepository(kernel),
            recordings=RecordingRepository(kernel),
            annotations=AnnotationRepository(kernel),
            moments=MomentRepository(kernel),
            goals=GoalRepository(kernel),
            audit=AuditRepository(kernel),
        )


class Store:
    """An open project's store: its database and its folder of files.

    Open a project with :func:`workbench.open_project` (a :class:`~workbench.project.Project`,
    which is a ``Store`` that also registers films and writes stills). Every ``add_*``,
    ``update_*`` and ``delete_*`` call is one transaction, committed when it returns.

    Attributes
    ----------
    kernel : Kernel
        The database, its transactions and the audit log (for the store's own modules and tests).
    repos : Repositories
        The repositories behind the methods (for code that builds on the store, like
        :class:`~workbench.project.Project`).
    folder : Path or None
        Where copied media (``media/``) and stills (``stills/``) are kept.
    url : str
        The database URL (password hidden).
    coder : str
        Default coder name for new annotations, and the name in the audit log.
    """

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.repos = Repositories.on(kernel)

    # -- life cycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connections (and remove the temporary folder of ``":memory:"``)."""
        self.kernel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.kernel.closed else self.dialect
        where = self.folder if self.folder is not None and not self.url.startswith("sqlite") else self.url
        return f"<{type(self).__name__} {where} | {state}>"

    @property
    def folder(self) -> Path | None:
        """Where copied media (``media/``) and stills (``stills/``) are kept."""
        return self.kernel.folder

    @folder.setter
    def folder(self, value: Path | None) -> None:
        self.kernel.folder = value

    @property
    def url(self) -> str:
        """The database URL (password hidden)."""
        return self.kernel.url

    @property
    def coder(self) -> str:
        """Who is editing: the default coder of new annotations and the name in the audit log."""
        return self.kernel.coder

    @coder.setter
    def coder(self, value: str) -> None:
        self.kernel.coder = value

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for advanced use and tests; edits should go through methods)."""
        return self.kernel.engine

    @property
    def dialect(self) -> str:
        """The database kind: ``"sqlite"`` or ``"postgresql"`` (or another SQLAlchemy dialect)."""
        return self.kernel.dialect

    @property
    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self.kernel.read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @property
    def read_only(self) -> bool:
        """Whether the project was opened read-only (its folder, file or disk is not writable): edits are refused."""
        return self.kernel.read_only

    @property
    def scheme(self) -> CodingScheme:
        """The project's coding scheme (stored in the database)."""
        return self.repos.annotations.scheme

    set_scheme = forward("repos.annotations", AnnotationRepository.set_scheme)

    # -- cases, participants, sessions --------------------------------------------------------

    add_case = forward("repos.cases", CaseRepository.add_case)
    cases = forward("repos.cases", CaseRepository.cases)
    case = forward("repos.cases", CaseRepository.case)
    update_case = forward("repos.cases", CaseRepository.update_case)
    delete_case = forward("repos.cases", CaseRepository.delete_case)
    add_participant = forward("repos.cases", CaseRepository.add_participant)
    participants = forward("repos.cases", CaseRepository.participants)
    participant = forward("repos.cases", CaseRepository.participant)
    update_participant = forward("repos.cases", CaseRepository.update_participant)
    delete_participant = forward("repos.cases", CaseRepository.delete_participant)
    add_session = forward("repos.cases", CaseRepository.add_session)
    sessions = forward("repos.cases", CaseRepository.sessions)
    session = forward("repos.cases", CaseRepository.session)
    update_session = forward("repos.cases", CaseRepository.update_session)
    delete_session = forward("repos.cases", CaseRepository.delete_session)
    case_folder = forward("kernel", Kernel.case_folder)

    # -- consent and protected words ------------------------------------------------------------

    set_consent = forward("repos.consent", ConsentRepository.set_consent)
    withdraw_consent = forward("repos.consent", ConsentRepository.withdraw_consent)
    consent = forward("repos.consent", ConsentRepository.consent)
    consents = forward("repos.consent", ConsentRepository.consents)
    check_consent = forward("repos.consent", ConsentRepository.check_consent)
    add_protected_word = forward("repos.consent", ConsentRepository.add_protected_word)
    protected_words = forward("repos.consent", ConsentRepository.protected_words)
    remove_protected_word = forward("repos.consent", ConsentRepository.remove_protected_word)

    # -- recordings -----------------------------------------------------------------------------

    recordings = forward("repos.recordings", RecordingRepository.recordings)
    recording = forward("repos.recordings", RecordingRepository.recording)
    update_recording = forward("repos.recordings", RecordingRepository.update_recording)
    delete_recording = forward("repos.recordings", RecordingRepository.delete_recording)
    frame_times = forward("repos.recordings", RecordingRepository.frame_times)
    media_path = forward("repos.recordings", RecordingRepository.media_path)

    # -- annotations ----------------------------------------------------------------------------

    add_annotation = forward("repos.annotations", AnnotationRepository.add_annotation)
    add_annotations = forward("repos.annotations", AnnotationRepository.add_annotations)
    import_annotations = forward("repos.annotations", AnnotationRepository.import_annotations)
    annotation_problems = forward("repos.annotations", AnnotationRepository.annotation_problems)
    annotations = forward("repos.annotations", AnnotationRepository.annotations)
    annotation = forward("repos.annotations", AnnotationRepository.annotation)
    update_annotation = forward("repos.annotations", AnnotationRepository.update_annotation)
    delete_annotation = forward("repos.annotations", AnnotationRepository.delete_annotation)

    # -- moments, stills, comments --------------------------------------------------------------

    add_moment = forward("repos.moments", MomentRepository.add_moment)
    moments = forward("repos.moments", MomentRepository.moments)
    moment = forward("repos.moments", MomentRepository.moment)
    update_moment = forward("repos.moments", MomentRepository.update_moment)
    delete_moment = forward("repos.moments", MomentRepository.delete_moment)
    stills = forward("repos.moments", MomentRepository.stills)
    still = forward("repos.moments", MomentRepository.still)
    still_path = forward("repos.moments", MomentRepository.still_path)
    delete_still = forward("repos.moments", MomentRepository.delete_still)
    add_comment = forward("repos.moments", MomentRepository.add_comment)
    comments = forward("repos.moments", MomentRepository.comments)
    comment = forward("repos.moments", MomentRepository.comment)
    update_comment = forward("repos.moments", MomentRepository.update_comment)
    delete_comment = forward("repos.moments", MomentRepository.delete_comment)

    # -- goals and measures -----------------------------------------------------------------------

    add_goal = forward("repos.goals", GoalRepository.add_goal)
    rate_goal = forward("repos.goals", GoalRepository.rate_goal)
    goals = forward("repos.goals", GoalRepository.goals)
    goal = forward("repos.goals", GoalRepository.goal)
    update_goal = forward("repos.goals", GoalRepository.update_goal)
    delete_goal = forward("repos.goals", GoalRepository.delete_goal)
    delete_rating = forward("repos.goals", GoalRepository.delete_rating)
    add_measure = forward("repos.goals", GoalRepository.add_measure)
    measures = forward("repos.goals", GoalRepository.measures)
    measure = forward("repos.goals", GoalRepository.measure)
    update_measure = forward("repos.goals", GoalRepository.update_measure)
    delete_measure = forward("repos.goals", GoalRepository.delete_measure)
    measures_frame = forward("repos.goals", GoalRepository.measures_frame)

    # -- audit log ------------------------------------------------------------------------------

    audit_log = forward("repos.audit", AuditRepository.audit_log)

    # -- backups, purge, retention ----------------------------------------------------------------

    def backup(self, out: str | os.PathLike[str]) -> BackupInfo:
        """Make a consistent copy of the project while it is in use (see :func:`workbench.store.backup_project`)."""
        return backup_project(self.kernel, out)

    def backups(self) -> list[BackupEntry]:
        """The backups this workbench made of the project (oldest first), as :class:`~workbench.store.BackupEntry`."""
        return list_backups(self.kernel)

    def purge_case(
        self, case: Case | int | str, *, purge_backups: bool = False, wait_s: float = DEFAULT_WAIT_S
    ) -> PurgeReport:
        """Remove a case completely and verify it (see :func:`workbench.store.purge_case`)."""
        return purge_case(self.kernel, case, purge_backups=purge_backups, wait_s=wait_s)

    def pending_purges(self) -> list[int]:
        """Ids of cases whose purge was interrupted (see :func:`workbench.store.pending_purges`)."""
        return pending_purges(self.kernel)

    def finish_purges(self, *, wait_s: float = DEFAULT_WAIT_S) -> list[PurgeReport]:
        """Finish every interrupted purge (see :func:`workbench.store.finish_purges`)."""
        return finish_purges(self.kernel, wait_s=wait_s)

    def retention(self, today: dt.date | str | None = None) -> list[RetentionItem]:
        """Cases past their retention date or without consent (see :func:`workbench.store.retention`)."""
        return retention(self.kernel, today)


def open_store(
    path_or_url: str | os.PathLike[str] | sa.URL,
    create: bool = False,
    *,
    folder: str | os.PathLike[str] | None = None,
    coder: str | None = None,
    scheme: CodingScheme | None = None,
) -> Store:
    """Open a project's store, without what needs :mod:`workbench.media` (registering films, stills).

    For code that reads or edits the store only (batch jobs, tools); users open a project with
    :func:`workbench.open_project`, which takes the same parameters and documents them.
    """
    return Store(open_kernel(path_or_url, create, folder=folder, coder=coder, scheme=scheme))

"""Persistence: SQLAlchemy Core tables, Alembic migrations, SQLite by default, PostgreSQL by URL.

Users open a project with :func:`workbench.open_project`; it returns a
:class:`workbench.project.Project`, whose methods add, read, update and delete the
workbench's records, each edit in one transaction (and one entry in the audit log).

Inside, a small kernel (:mod:`~workbench.store.engine` opens the database,
:mod:`~workbench.store.kernel` runs transactions, the audit log and the case rule) and one
repository per aggregate: :mod:`~workbench.store.cases` (with participants and sessions),
:mod:`~workbench.store.consent` (with the protected words), :mod:`~workbench.store.recordings`,
:mod:`~workbench.store.annotations`, :mod:`~workbench.store.moments` (with stills and comments),
:mod:`~workbench.store.goals` (with ratings and measures) and :mod:`~workbench.store.audit`.
:class:`Store` puts them behind one object (:func:`open_store` opens one without media).

Trust: :func:`backup_project` / :func:`restore_backup` copy a project while it is in use
and bring it back; :func:`purge_case` removes a case completely and verifies it;
:func:`retention` lists cases past their consent's retention date.

The store imports nothing above it (media, reports, the user interface, batch jobs).
"""

from __future__ import annotations

from workbench.store.annotations import ImportReport
from workbench.store.backup import BackupEntry, BackupInfo, backup_project, restore_backup
from workbench.store.consent import consent_hint
from workbench.store.engine import DB_FILENAME, alembic_config
from workbench.store.kernel import Kernel, open_kernel
from workbench.store.purge import PurgeReport, RetentionItem, finish_purges, pending_purges, purge_case, retention
from workbench.store.recordings import RecordingFacts
from workbench.store.store import Store, open_store

__all__ = [
    "DB_FILENAME",
    "BackupEntry",
    "BackupInfo",
    "ImportReport",
    "Kernel",
    "PurgeReport",
    "RecordingFacts",
    "RetentionItem",
    "Store",
    "alembic_config",
    "backup_project",
    "consent_hint",
    "finish_purges",
    "open_kernel",
    "open_store",
    "pending_purges",
    "purge_case",
    "restore_backup",
    "retention",
]

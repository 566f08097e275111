"""Persistence: SQLAlchemy Core tables, Alembic migrations, SQLite by default, PostgreSQL by URL.

Open a project with :func:`open_project` (also available as
:func:`workbench.open_project`); it returns a :class:`Project`, whose methods
add, read, update and delete the workbench's records, each edit in one
transaction (and one entry in the audit log).

Trust: :func:`backup_project` / :func:`restore_backup` copy a project while it is in use
and bring it back; :func:`purge_case` removes a case completely and verifies it;
:func:`retention` lists cases past their consent's retention date.
"""

from __future__ import annotations

from workbench.store.backup import BackupEntry, BackupInfo, backup_project, restore_backup
from workbench.store.project import DB_FILENAME, ImportReport, Project, alembic_config, open_project
from workbench.store.purge import PurgeReport, RetentionItem, finish_purges, pending_purges, purge_case, retention

__all__ = [
    "DB_FILENAME",
    "BackupEntry",
    "BackupInfo",
    "ImportReport",
    "Project",
    "PurgeReport",
    "RetentionItem",
    "alembic_config",
    "backup_project",
    "finish_purges",
    "open_project",
    "pending_purges",
    "purge_case",
    "restore_backup",
    "retention",
]

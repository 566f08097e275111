"""Persistence: SQLAlchemy Core tables, Alembic migrations, SQLite by default, PostgreSQL by URL.

Open a project with :func:`open_project` (also available as
:func:`workbench.open_project`); it returns a :class:`Project`, whose methods
add, read, update and delete the workbench's records, each edit in one
transaction.
"""

from __future__ import annotations

from workbench.store.project import DB_FILENAME, Project, alembic_config, open_project

__all__ = ["DB_FILENAME", "Project", "alembic_config", "open_project"]

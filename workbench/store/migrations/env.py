"""Alembic environment of the workbench store.

The store runs migrations in code (:func:`workbench.store.engine.alembic_config`)
and hands Alembic an open connection in ``config.attributes["connection"]``, so
that the migration runs inside the store's own transaction, on its engine (with
its SQLite pragmas, and on in-memory databases too). Without a connection, the
URL in the ``sqlalchemy.url`` option is used; ``--sql`` (offline) mode renders
the SQL for a database administrator.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from workbench.store.schema import metadata

try:
    config = context.config
except AttributeError:  # imported outside an Alembic command (e.g. by doctest collection): do nothing
    config = None


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit the migration as SQL text, without a database."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migration on the given connection, or on a new one from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if config is None:
    pass
elif context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""Consent records, the audit log and the list of backups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

- ``consents``: one per case: who may see the films, for which purposes, until when.
- ``audit_log``: who changed what and when (``case_id`` without a foreign key, so that the
  entry of a deletion outlives the row).
- ``backups``: the backups the workbench made (a purge lists those still holding a case).

Written out in full, like 0001, so that it stays what it was when later revisions change
the schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_NO_REUSE = {"sqlite_autoincrement": True}


def upgrade() -> None:
    """Create ``consents``, ``audit_log`` and ``backups``."""
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("viewers", sa.JSON, nullable=False),
        sa.Column("purposes", sa.JSON, nullable=False),
        sa.Column("until", sa.Date, nullable=True),
        sa.Column("given_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_consents_case_id_cases"), ondelete="CASCADE"),
        sa.UniqueConstraint("case_id", name=op.f("uq_consents_case_id")),
        **_NO_REUSE,
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("coder", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("row_id", sa.Integer, nullable=True),
        sa.Column("case_id", sa.Integer, nullable=True),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_audit_log_case_id"), "audit_log", ["case_id"])
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_table(
        "backups",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("made_at", _TS, nullable=False),
        sa.Column("made_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("bytes", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backups")),
        **_NO_REUSE,
    )


def downgrade() -> None:
    """Drop the three tables."""
    for table in ("backups", "audit_log", "consents"):
        op.drop_table(table)

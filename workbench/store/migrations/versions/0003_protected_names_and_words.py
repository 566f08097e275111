"""Protected names of participants, original film names, and the project's word list.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

- ``participants.real_name``: a participant's protected real name (nullable; stored, never
  exported, never written to the audit log), like ``cases.real_name``.
- ``recordings.original_name``: the file name a film had before it was copied into the project
  (protected: exports are checked against it, nothing shows it).
- ``protected_words``: the project's "never export" list (a school's name, a street).

Written out in full, like 0001 and 0002, so that it stays what it was when later revisions
change the schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_NO_REUSE = {"sqlite_autoincrement": True}


def upgrade() -> None:
    """Add the two protected columns and the ``protected_words`` table."""
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("real_name", sa.String(400), nullable=True))
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("original_name", sa.Text, nullable=True))
    op.create_table(
        "protected_words",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("word", sa.String(400), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protected_words")),
        sa.UniqueConstraint("word", name=op.f("uq_protected_words_word")),
        sa.CheckConstraint("word <> ''", name=op.f("ck_protected_words_word_not_empty")),
        **_NO_REUSE,
    )


def downgrade() -> None:
    """Drop the word list and the two columns."""
    op.drop_table("protected_words")
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("original_name")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("real_name")

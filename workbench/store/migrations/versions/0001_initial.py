"""Initial schema: every table of the first release.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written out in full (not generated from ``workbench.store.schema`` at run time) so
that this revision stays what it was when later revisions change the schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


# Integer ids are never reused (SQLite AUTOINCREMENT; PostgreSQL sequences never reuse): a stale
# client holding the id of a deleted row must not edit a new row that happens to get the same id.
_NO_REUSE = {"sqlite_autoincrement": True}


def _id(table: str) -> list[sa.SchemaItem]:
    return [sa.Column("id", sa.Integer, nullable=False), sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))]


def _fk(table: str, column: str, target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> list:
    return [
        sa.Column(column, sa.Integer, nullable=nullable),
        sa.ForeignKeyConstraint(
            [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
        ),
    ]


def _version() -> sa.Column:
    return sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1"))


def upgrade() -> None:
    """Create every table, index and constraint."""
    op.create_table(
        "schemes",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schemes")),
    )
    op.create_table(
        "cases",
        *_id("cases"),
        sa.Column("pseudonym", sa.String(200), nullable=False),
        sa.Column("real_name", sa.String(400), nullable=True),
        sa.Column("helping_question", sa.Text, nullable=False, server_default=""),
        sa.Column("guider", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", _TS, nullable=False),
        _version(),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_cases_pseudonym")),
        sa.CheckConstraint("pseudonym <> ''", name=op.f("ck_cases_pseudonym_not_empty")),
        **_NO_REUSE,
    )
    op.create_table(
        "participants",
        *_id("participants"),
        *_fk("participants", "case_id", "cases"),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("age_band", sa.String(50), nullable=False, server_default="unknown"),
        _version(),
        sa.UniqueConstraint("case_id", "label", name=op.f("uq_participants_case_id_label")),
        **_NO_REUSE,
    )
    op.create_table(
        "sessions",
        *_id("sessions"),
        *_fk("sessions", "case_id", "cases"),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("label", sa.String(400), nullable=False, server_default=""),
        _version(),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_sessions_case_id"), "sessions", ["case_id"])
    op.create_table(
        "recordings",
        *_id("recordings"),
        *_fk("recordings", "session_id", "sessions"),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("duration_ms", sa.BigInteger, nullable=False),
        sa.Column("frame_count", sa.Integer, nullable=False),
        sa.Column("fps", sa.Float, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("rotation", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("codec", sa.String(100), nullable=False, server_default=""),
        sa.Column("label", sa.String(400), nullable=False, server_default=""),
        sa.Column("frame_times", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _version(),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_recordings_session_id"), "recordings", ["session_id"])
    op.create_table(
        "annotations",
        *_id("annotations"),
        *_fk("annotations", "recording_id", "recordings"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("onset_ms", sa.BigInteger, nullable=False),
        sa.Column("offset_ms", sa.BigInteger, nullable=False),
        sa.Column("coder", sa.String(200), nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("extra", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _version(),
        sa.CheckConstraint("onset_ms >= 0", name=op.f("ck_annotations_onset_not_negative")),
        sa.CheckConstraint("offset_ms >= onset_ms", name=op.f("ck_annotations_offset_not_before_onset")),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_annotations_recording_id_onset_ms"), "annotations", ["recording_id", "onset_ms"])
    op.create_index(op.f("ix_annotations_coder"), "annotations", ["coder"])
    op.create_table(
        "moments",
        *_id("moments"),
        *_fk("moments", "recording_id", "recordings"),
        sa.Column("onset_ms", sa.BigInteger, nullable=False),
        sa.Column("offset_ms", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("reflection", sa.Text, nullable=False, server_default=""),
        _version(),
        sa.CheckConstraint("onset_ms >= 0", name=op.f("ck_moments_onset_not_negative")),
        sa.CheckConstraint("offset_ms >= onset_ms", name=op.f("ck_moments_offset_not_before_onset")),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_moments_recording_id_onset_ms"), "moments", ["recording_id", "onset_ms"])
    op.create_table(
        "stills",
        *_id("stills"),
        *_fk("stills", "recording_id", "recordings"),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("image_path", sa.Text, nullable=False),
        sa.Column("caption", sa.Text, nullable=False, server_default=""),
        *_fk("stills", "moment_id", "moments", nullable=True, ondelete="SET NULL"),
        _version(),
        sa.CheckConstraint("time_ms >= 0", name=op.f("ck_stills_time_not_negative")),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_stills_recording_id_time_ms"), "stills", ["recording_id", "time_ms"])
    op.create_table(
        "comments",
        *_id("comments"),
        *_fk("comments", "recording_id", "recordings"),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(50), nullable=False, server_default="discuss"),
        sa.Column("created_at", _TS, nullable=False),
        _version(),
        sa.CheckConstraint("time_ms >= 0", name=op.f("ck_comments_time_not_negative")),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_comments_recording_id_time_ms"), "comments", ["recording_id", "time_ms"])
    op.create_table(
        "goals",
        *_id("goals"),
        *_fk("goals", "case_id", "cases"),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("scale_min", sa.Float, nullable=False, server_default=sa.text("0")),
        sa.Column("scale_max", sa.Float, nullable=False, server_default=sa.text("10")),
        _version(),
        sa.CheckConstraint("scale_max > scale_min", name=op.f("ck_goals_scale_not_empty")),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_goals_case_id"), "goals", ["case_id"])
    op.create_table(
        "goal_ratings",
        *_id("goal_ratings"),
        *_fk("goal_ratings", "goal_id", "goals"),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        *_fk("goal_ratings", "session_id", "sessions", nullable=True, ondelete="SET NULL"),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_goal_ratings_goal_id_date"), "goal_ratings", ["goal_id", "date"])
    op.create_table(
        "measures",
        *_id("measures"),
        *_fk("measures", "case_id", "cases"),
        sa.Column("instrument", sa.String(200), nullable=False),
        sa.Column("scale", sa.String(200), nullable=False),
        sa.Column("time_point", sa.String(100), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("date", sa.Date, nullable=True),
        _version(),
        **_NO_REUSE,
    )
    op.create_index(op.f("ix_measures_case_id"), "measures", ["case_id"])


def downgrade() -> None:
    """Drop every table (children first)."""
    for table in (
        "measures",
        "goal_ratings",
        "goals",
        "comments",
        "stills",
        "moments",
        "annotations",
        "recordings",
        "sessions",
        "participants",
        "cases",
        "schemes",
    ):
        op.drop_table(table)

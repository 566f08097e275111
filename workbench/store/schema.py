"""The store's tables, as SQLAlchemy Core metadata.

This module describes the schema at the newest migration. The migrations in
``workbench/store/migrations/versions/`` create and change the real tables;
``tests/test_store.py`` checks that the two agree (Alembic's autogenerate
comparison finds no difference on SQLite and PostgreSQL).

Conventions
-----------
- Every editable table has an integer ``version``, 1 on insert and bumped by
  every update: the store refuses updates made from a stale version.
- Times inside a recording are integer milliseconds (``BigInteger``).
- Every foreign key deletes with its parent (``ON DELETE CASCADE``), except the
  optional links ``stills.moment_id`` and ``goal_ratings.session_id``, which are
  cleared (``SET NULL``): a still outlives the moment it illustrated.
- ``cases.real_name`` and ``participants.real_name`` are protected: the store keeps them, nothing
  exports them; ``recordings.original_name`` (the film's file name before it was copied in) and
  the project's word list ``protected_words`` ("never export": a school, a street) are protected
  too. Exports are checked against all of them (:mod:`workbench.report.privacy`).
- ``consents`` holds one consent record per case (who may see the films, for which
  purposes, until when); ``audit_log`` records who changed what and when (its
  ``case_id`` is a plain column, not a foreign key, so that the entry of a deletion
  outlives the row; purging a case deletes the case's entries); ``backups`` lists the
  backups the workbench made, so that a purge can name the ones still holding a case.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "annotations",
    "audit_log",
    "backups",
    "cases",
    "comments",
    "consents",
    "goal_ratings",
    "goals",
    "measures",
    "metadata",
    "moments",
    "participants",
    "protected_words",
    "recordings",
    "schemes",
    "sessions",
    "stills",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

_TS = sa.DateTime(timezone=True)
# Integer ids are never reused (SQLite AUTOINCREMENT; PostgreSQL sequences never reuse): a stale
# client holding the id of a deleted row must not edit a new row that happens to get the same id.
_NO_REUSE = {"sqlite_autoincrement": True}


def _version() -> sa.Column:
    return sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1"))


def _fk(column: str, target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> sa.Column:
    return sa.Column(column, sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


schemes = sa.Table(
    "schemes",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", _TS, nullable=False),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pseudonym", sa.String(200), nullable=False, unique=True),
    sa.Column("real_name", sa.String(400), nullable=True),
    sa.Column("helping_question", sa.Text, nullable=False, server_default=""),
    sa.Column("guider", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", _TS, nullable=False),
    _version(),
    sa.CheckConstraint("pseudonym <> ''", name="pseudonym_not_empty"),
    **_NO_REUSE,
)

participants = sa.Table(
    "participants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("case_id", "cases.id"),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("role", sa.String(50), nullable=False),
    sa.Column("age_band", sa.String(50), nullable=False, server_default="unknown"),
    _version(),
    sa.Column("real_name", sa.String(400), nullable=True),
    sa.UniqueConstraint("case_id", "label"),
    **_NO_REUSE,
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("case_id", "cases.id"),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("cycle", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("label", sa.String(400), nullable=False, server_default=""),
    _version(),
    sa.Index(None, "case_id"),
    **_NO_REUSE,
)

recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("session_id", "sessions.id"),
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
    # zlib-compressed little-endian int64 differences of the frame times (ms); see Project.frame_times
    sa.Column("frame_times", sa.LargeBinary, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    _version(),
    sa.Column("original_name", sa.Text, nullable=True),
    sa.Index(None, "session_id"),
    **_NO_REUSE,
)

annotations = sa.Table(
    "annotations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("recording_id", "recordings.id"),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("code", sa.String(200), nullable=False),
    sa.Column("onset_ms", sa.BigInteger, nullable=False),
    sa.Column("offset_ms", sa.BigInteger, nullable=False),
    sa.Column("coder", sa.String(200), nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    # extra columns of an AnnotationTable (e.g. BORIS modifiers), as a JSON object
    sa.Column("extra", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    _version(),
    sa.CheckConstraint("onset_ms >= 0", name="onset_not_negative"),
    sa.CheckConstraint("offset_ms >= onset_ms", name="offset_not_before_onset"),
    sa.Index(None, "recording_id", "onset_ms"),
    sa.Index(None, "coder"),
    **_NO_REUSE,
)

moments = sa.Table(
    "moments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("recording_id", "recordings.id"),
    sa.Column("onset_ms", sa.BigInteger, nullable=False),
    sa.Column("offset_ms", sa.BigInteger, nullable=False),
    sa.Column("title", sa.String(400), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("reflection", sa.Text, nullable=False, server_default=""),
    _version(),
    sa.CheckConstraint("onset_ms >= 0", name="onset_not_negative"),
    sa.CheckConstraint("offset_ms >= onset_ms", name="offset_not_before_onset"),
    sa.Index(None, "recording_id", "onset_ms"),
    **_NO_REUSE,
)

stills = sa.Table(
    "stills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("recording_id", "recordings.id"),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("image_path", sa.Text, nullable=False),
    sa.Column("caption", sa.Text, nullable=False, server_default=""),
    _fk("moment_id", "moments.id", nullable=True, ondelete="SET NULL"),
    _version(),
    sa.CheckConstraint("time_ms >= 0", name="time_not_negative"),
    sa.Index(None, "recording_id", "time_ms"),
    **_NO_REUSE,
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("recording_id", "recordings.id"),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(50), nullable=False, server_default="discuss"),
    sa.Column("created_at", _TS, nullable=False),
    _version(),
    sa.CheckConstraint("time_ms >= 0", name="time_not_negative"),
    sa.Index(None, "recording_id", "time_ms"),
    **_NO_REUSE,
)

goals = sa.Table(
    "goals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("case_id", "cases.id"),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("scale_min", sa.Float, nullable=False, server_default=sa.text("0")),
    sa.Column("scale_max", sa.Float, nullable=False, server_default=sa.text("10")),
    _version(),
    sa.CheckConstraint("scale_max > scale_min", name="scale_not_empty"),
    sa.Index(None, "case_id"),
    **_NO_REUSE,
)

goal_ratings = sa.Table(
    "goal_ratings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("goal_id", "goals.id"),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    _fk("session_id", "sessions.id", nullable=True, ondelete="SET NULL"),
    sa.Index(None, "goal_id", "date"),
    **_NO_REUSE,
)

measures = sa.Table(
    "measures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("case_id", "cases.id"),
    sa.Column("instrument", sa.String(200), nullable=False),
    sa.Column("scale", sa.String(200), nullable=False),
    sa.Column("time_point", sa.String(100), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("date", sa.Date, nullable=True),
    _version(),
    sa.Index(None, "case_id"),
    **_NO_REUSE,
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _fk("case_id", "cases.id"),
    # who may see the films (roles or names) and for which purposes: JSON lists of strings
    sa.Column("viewers", sa.JSON, nullable=False),
    sa.Column("purposes", sa.JSON, nullable=False),
    # the retention date: after it, the case is listed by `workbench retention` (NULL: until withdrawn)
    sa.Column("until", sa.Date, nullable=True),
    sa.Column("given_by", sa.String(200), nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("recorded_at", _TS, nullable=False),
    sa.Column("recorded_by", sa.String(200), nullable=False, server_default=""),
    _version(),
    sa.UniqueConstraint("case_id"),
    **_NO_REUSE,
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("coder", sa.String(200), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("row_id", sa.Integer, nullable=True),
    sa.Column("case_id", sa.Integer, nullable=True),
    sa.Column("details", sa.JSON(none_as_null=True), nullable=True),
    sa.Index(None, "case_id"),
    sa.Index(None, "at"),
    **_NO_REUSE,
)

backups = sa.Table(
    "backups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("made_at", _TS, nullable=False),
    sa.Column("made_by", sa.String(200), nullable=False, server_default=""),
    sa.Column("bytes", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    **_NO_REUSE,
)

protected_words = sa.Table(
    "protected_words",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("word", sa.String(400), nullable=False, unique=True),
    sa.Column("added_at", _TS, nullable=False),
    sa.Column("added_by", sa.String(200), nullable=False, server_default=""),
    sa.CheckConstraint("word <> ''", name="word_not_empty"),
    **_NO_REUSE,
)

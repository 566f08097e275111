"""The audit log, read: who changed what and when.

Every edit writes its entry inside its own transaction (:meth:`Kernel.audit
<workbench.store.kernel.Kernel.audit>`); this repository reads them back as a table.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from workbench.model import Case
from workbench.store import schema as t
from workbench.store import values as checks
from workbench.store.kernel import Kernel, utc

__all__ = ["AuditRepository"]


class AuditRepository:
    """Read the project's audit log."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def audit_log(
        self, case: Case | int | str | None = None, *, since: dt.datetime | dt.date | str | None = None
    ) -> pd.DataFrame:
        """Who changed what and when: one row per edit, oldest first.

        Parameters
        ----------
        case : Case, int or str, optional
            Only the entries of this case.
        since : datetime, date or 'YYYY-MM-DD', optional
            Only entries at or after this time (UTC).

        Returns
        -------
        DataFrame
            Columns ``id, at, coder, action, kind, row_id, case_id, case, details``: ``action``
            is ``add``, ``update``, ``delete``, ``purge``, ``backup`` or ``restore``; ``kind`` the
            record kind; ``case`` the case's pseudonym (never its real name; empty when the case
            is gone); ``details`` a dict (the row as added or deleted, or the changed fields).
        """
        a, c = t.audit_log, t.cases
        q = (
            sa.select(a, c.c.pseudonym.label("case"))
            .select_from(a.outerjoin(c, a.c.case_id == c.c.id))
            .order_by(a.c.at, a.c.id)
        )
        with self.kernel.read() as conn:
            if case is not None:
                q = q.where(a.c.case_id == self.kernel.case_id(conn, case))
            if since is not None:
                when = (
                    since
                    if isinstance(since, dt.datetime)
                    else dt.datetime.combine(checks.date(since, "since"), dt.time())
                )
                q = q.where(a.c.at >= utc(when))
            rows = conn.execute(q).all()
        columns = ["id", "at", "coder", "action", "kind", "row_id", "case_id", "case", "details"]
        df = pd.DataFrame(
            [
                (r.id, utc(r.at), r.coder, r.action, r.kind, r.row_id, r.case_id, r.case or "", r.details or {})
                for r in rows
            ],
            columns=columns,
        )
        df["at"] = pd.to_datetime(df["at"], utc=True)
        return df.astype({"id": "int64", "row_id": "Int64", "case_id": "Int64"})

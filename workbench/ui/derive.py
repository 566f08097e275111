"""The annotations a review shows and everything derived from them, kept up to date edit by edit.

:class:`ReviewData` holds the shown annotations (the coder's own, or every coder's in supervision) and what
the widgets draw of them: the table's rows, the timeline's bars, the contingency links of each coder, the
agreement of the two main coders and where they disagree, the timeline's lanes and categories. It is built
once from the store's table (:meth:`ReviewData.load`) and then told of each stored edit
(:meth:`ReviewData.apply`): one annotation before and after. It writes what changed into a
:class:`Changes`, which the controller hands to the widgets.

What one edit recomputes (``t`` the annotation's onset before and after the edit, ``[lo, hi]`` the
contingency window, ``tol`` the agreement tolerance):

- its table row and its bar (one :func:`~workbench.ui.rows.bar_rows` call);
- its coder's contingencies of the initiatives whose onset lies in ``[min(t) - hi, max(t)]`` - the only ones
  whose window can hold it - from the coder's annotations with an onset in ``[min(t) - hi, max(t) + hi]``
  (plus one annotation of each of the coder's actors not among them, so that every initiative has the same
  partners as in the whole coding); all of the coder's contingencies when the edit changes which actors the
  coder coded;
- the agreement's event matching for the runs of onsets (of both coders, one actor) that chain within ``tol``
  of ``t`` - :func:`~workbench.analysis.agreement.match_events` solves each such run on its own - and the
  agreement's totals and per-code table; all of the matching when the two main coders change;
- the disagreement mark of the rows whose mark changed, and the lanes and categories when one appears or goes.

``tests/test_review_state.py`` checks that any sequence of edits leaves the same rows, bars, links and
agreement as loading the result afresh.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from workbench.analysis.agreement import match_events, per_code_agreement
from workbench.analysis.contingency import contingencies, contingencies_by_coder
from workbench.annotations import AnnotationTable
from workbench.charts import review_categories
from workbench.scheme import CodingScheme
from workbench.ui.rows import AnnotationLike, annotation_fields, bar_rows, link_rows, stored_annotations, table_row

__all__ = ["Agreement", "Changes", "Mode", "ReviewData"]

Mode = Literal["micro", "supervision"]
#: The keyed datasets of the timeline that follow the annotations (moments and comments follow the notes).
KEYED = ("bars", "links", "missed")

_Pair = tuple[str, int | None, int | None, str, str, str]  # actor, id_a, id_b, code_a, code_b, status


@dataclass(frozen=True, slots=True)
class Agreement:
    """The agreement of the two coders with the most annotations (``coder_a`` before ``coder_b`` by name).

    ``agree`` of ``events`` matched events agree (the same actor and code, onsets within the tolerance);
    ``per_code`` is :func:`~workbench.analysis.agreement.per_code_agreement` of the matching.
    """

    coder_a: str
    coder_b: str
    agree: int
    events: int
    per_code: pd.DataFrame = field(compare=False)


@dataclass
class Changes:
    """What changed in a review's state since its widgets were last given it.

    ``full``: everything (the rows were loaded again). ``rows``: table rows by id (None: gone). ``datasets``:
    rows of the timeline's keyed datasets (``bars`` by id, ``links`` and ``missed`` by key; None: gone).
    ``shape``: the lanes or the categories (the chart's spec). ``notes``: the moments or the comments.
    The rest are one-off effects on the player and the notes panel.
    """

    full: bool = False
    rows: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    datasets: dict[str, dict[Any, dict[str, Any] | None]] = field(default_factory=lambda: {k: {} for k in KEYED})
    shape: bool = False
    agreement: bool = False
    notes: bool = False
    status: bool = False
    selection: bool = False
    filters: bool = False
    seek_ms: int | None = None
    loop_ms: tuple[int, int] | None = None
    looping: bool | None = None
    playing: bool | None = None
    notes_tab: str | None = None

    def __bool__(self) -> bool:
        return self != Changes()


class ReviewData:
    """The shown annotations of one recording and what the widgets draw of them (see the module docstring).

    Parameters
    ----------
    scheme : CodingScheme
        Names, colours and contact kinds of the codes.
    recording_id : int
        The recording shown.
    coder : str
        Who reviews: the only coder shown in ``"micro"`` mode, the first lanes in ``"supervision"``.
    mode : {"micro", "supervision"}
        Whose annotations are shown.
    window_ms : (int, int)
        The contingency window after an initiative's onset.
    tolerance_ms : int
        The onset tolerance for matching the two coders' events.
    """

    def __init__(
        self,
        scheme: CodingScheme,
        *,
        recording_id: int,
        coder: str,
        mode: Mode,
        window_ms: tuple[int, int],
        tolerance_ms: int,
    ) -> None:
        self.scheme = scheme
        self.recording_id = int(recording_id)
        self.coder = coder
        self.mode: Mode = mode
        self.window_ms = (int(window_ms[0]), int(window_ms[1]))
        self.tolerance_ms = int(tolerance_ms)
        self.lane_mode: Literal["actor", "actor+coder"] = "actor+coder" if mode == "supervision" else "actor"
        self._reset()

    def _reset(self) -> None:
        self.annotations: dict[int, AnnotationLike] = {}
        self._by_coder: dict[str, dict[int, AnnotationLike]] = {}
        self._actors: dict[str, Counter[str]] = {}
        self._lanes: Counter[tuple[str, str, str]] = Counter()  # (coder, actor, lane)
        self._categories: Counter[str] = Counter()
        #: The table's rows by id.
        self.rows: dict[int, dict[str, Any]] = {}
        #: The timeline's keyed datasets: bars by id, links and missed by key.
        self.datasets: dict[str, dict[Any, dict[str, Any]]] = {k: {} for k in KEYED}
        self._link_keys: dict[str, dict[int, list[tuple[str, str]]]] = {}  # coder -> initiative -> (dataset, key)
        self._pair: tuple[str, str] | None = None
        self._pairs: dict[tuple[int | None, int | None], _Pair] = {}
        self._pair_of: dict[int, tuple[int | None, int | None]] = {}
        self.disagree: set[int] = set()
        self.agreement: Agreement | None = None
        self.lanes: tuple[str, ...] = ()
        self.categories: tuple[str, ...] = ()

    # -- what is shown ---------------------------------------------------------------------------------

    def shows(self, a: AnnotationLike) -> bool:
        """Whether ``a`` is shown: of this recording, and this coder's unless in supervision."""
        return int(a.recording_id) == self.recording_id and (self.mode == "supervision" or a.coder == self.coder)

    def load(self, table: AnnotationTable, changes: Changes) -> None:
        """Show the annotations of ``table`` (as the store returned them, with versions) instead of any before."""
        self._reset()
        shown = [a for a in stored_annotations(table) if self.shows(a)]
        for a in shown:
            self._add(a)
        if len(shown) != len(table):  # rows of other recordings or coders: not drawn either
            table = table.filter(recording_id=self.recording_id)
            table = table if self.mode == "supervision" else table.filter(coder=self.coder)
        coders = sorted(self._by_coder)
        self._match_all({c: table.filter(coder=c) for c in coders} if len(coders) >= 2 else {})
        self.datasets["bars"] = bar_rows(table, self.scheme, lanes=self.lane_mode, disagree=self.disagree)
        self.rows = {a.id: table_row(a, self.scheme, a.id in self.disagree) for a in shown}
        found = contingencies_by_coder(table, self.scheme, window_ms=self.window_ms) if shown else pd.DataFrame()
        for coder in coders:
            self._set_links(coder, found[found["coder"] == coder], None)
        self._shape()
        changes.full = changes.shape = changes.agreement = True

    def apply(self, old: AnnotationLike | None, new: AnnotationLike | None, changes: Changes) -> None:
        """Show a stored edit: ``old`` became ``new`` (None before: added; None after: deleted)."""
        ref = new if new is not None else old
        if ref is None:
            return
        old = self.annotations.get(int(ref.id))  # what is shown, whatever the caller last saw
        new = new if new is not None and self.shows(new) else None
        if old is None and new is None:
            return
        actors_before = {c: set(n) for c, n in self._actors.items()}
        if old is not None:
            self._remove(old)
        if new is not None:
            self._add(new)
        touched = [a for a in (old, new) if a is not None]
        was, agreement = set(self.disagree), self.agreement
        # links and agreement read who, what and when (not the offset, not the note)
        if old is None or new is None or _matched_on(old) != _matched_on(new):
            # contingencies: the coders whose coding changed (the one it left first: link keys follow the initiative)
            for coder in dict.fromkeys(a.coder for a in touched):
                onsets = [a.onset_ms for a in touched if a.coder == coder]
                if coder not in self._by_coder:
                    self._set_links(coder, pd.DataFrame(), changes)
                elif set(self._actors[coder]) != actors_before.get(coder, set()):
                    self._set_links(coder, self._contingencies(self._by_coder[coder].values()), changes)
                else:
                    self._local_links(coder, onsets, changes)
            # agreement: the runs around the edit, or all of it when the two main coders are others now
            if self._main_pair() != self._pair:
                self._match_all(None)
            elif self._pair is not None and any(a.coder in self._pair for a in touched):
                self._match_local([(a.actor, a.onset_ms) for a in touched], {a.id for a in touched})
            after = self.agreement
            changes.agreement |= agreement != after or (
                agreement is not None and after is not None and not agreement.per_code.equals(after.per_code)
            )
        # rows and bars: the edited one, and those whose disagreement mark changed
        if old is not None and new is None:
            self.rows.pop(old.id, None)
            self.datasets["bars"].pop(old.id, None)
            changes.rows[old.id] = None
            changes.datasets["bars"][old.id] = None
        if new is not None:
            row = table_row(new, self.scheme, new.id in self.disagree)
            bar = bar_rows([new], self.scheme, lanes=self.lane_mode, disagree=self.disagree)[new.id]
            self.rows[new.id] = changes.rows[new.id] = row
            self.datasets["bars"][new.id] = changes.datasets["bars"][new.id] = bar
        for i in (was ^ self.disagree) - {a.id for a in touched}:
            if i in self.rows:
                flag = i in self.disagree
                self.rows[i] = changes.rows[i] = {**self.rows[i], "disagree": flag}
                self.datasets["bars"][i] = changes.datasets["bars"][i] = {**self.datasets["bars"][i], "disagree": flag}
        changes.shape |= self._shape()

    # -- the annotations and their counts --------------------------------------------------------------

    def _add(self, a: AnnotationLike) -> None:
        self.annotations[a.id] = a
        self._by_coder.setdefault(a.coder, {})[a.id] = a
        self._actors.setdefault(a.coder, Counter())[a.actor] += 1
        self._lanes[(a.coder, a.actor, self._lane_of(a))] += 1
        self._categories[self.scheme.principle_of(a.code)] += 1

    def _remove(self, a: AnnotationLike) -> None:
        del self.annotations[a.id]
        del self._by_coder[a.coder][a.id]
        if not self._by_coder[a.coder]:
            del self._by_coder[a.coder], self._actors[a.coder]
        else:
            self._actors[a.coder][a.actor] -= 1
            if not self._actors[a.coder][a.actor]:
                del self._actors[a.coder][a.actor]
        self._lanes[(a.coder, a.actor, self._lane_of(a))] -= 1
        self._lanes += Counter()  # drops zero counts
        self._categories[self.scheme.principle_of(a.code)] -= 1
        self._categories += Counter()

    def _shape(self) -> bool:
        """Lanes (the reviewing coder's first, each coder's together, actors by name) and categories; changed?"""
        order = sorted(self._lanes, key=lambda k: (k[0] != self.coder, k[0], k[1]))
        lanes = tuple(dict.fromkeys(lane for _, _, lane in order))
        categories = review_categories(pd.DataFrame({"category": list(self._categories)}), self.scheme)
        changed = (lanes, categories) != (self.lanes, self.categories)
        self.lanes, self.categories = lanes, categories
        return changed

    def _lane_of(self, a: AnnotationLike) -> str:
        return a.actor if self.lane_mode == "actor" else f"{a.actor} · {a.coder}"

    # -- contingency links ---------------------------------------------------------------------------------

    def _contingencies(self, annotations: Iterable[AnnotationLike]) -> pd.DataFrame:
        table = AnnotationTable([annotation_fields(a) for a in annotations])
        return contingencies(table, self.scheme, window_ms=self.window_ms)

    def _set_links(self, coder: str, found: pd.DataFrame, changes: Changes | None,
                   replaced: Iterable[int] | None = None) -> None:  # fmt: skip
        """Put the link rows of ``found`` in place of the coder's (of the initiatives ``replaced``; default all)."""
        mine = self._link_keys.setdefault(coder, {})
        before: dict[tuple[str, str], dict[str, Any] | None] = {}
        for ini in list(mine) if replaced is None else [i for i in replaced if i in mine]:
            for name, key in mine.pop(ini):
                before[(name, key)] = self.datasets[name].pop(key, None)
        if not found.empty:
            shown = self._by_coder.get(coder, {})
            rows = link_rows(found, {i: self._lane_of(a) for i, a in shown.items()},
                             {i: a.onset_ms for i, a in shown.items()}, self.scheme)  # fmt: skip
            for name, part in rows.items():
                for key, row in part.items():
                    mine.setdefault(int(key.split("/")[0]), []).append((name, key))
                    before.setdefault((name, key), self.datasets[name].get(key))
                    self.datasets[name][key] = row
        if not mine:
            del self._link_keys[coder]
        if changes is not None:  # only what differs from before (the same links again are not sent)
            for (name, key), was in before.items():
                now = self.datasets[name].get(key)
                if now != was:
                    changes.datasets[name][key] = now

    def _local_links(self, coder: str, onsets: list[int], changes: Changes) -> None:
        """Recompute the links of the coder's initiatives that an annotation at ``onsets`` can touch."""
        hi = self.window_ms[1]
        first, last = min(onsets) - hi, max(onsets)  # initiatives whose window [s + lo, s + hi] may hold t
        shown = self._by_coder[coder]
        near = [a for a in shown.values() if first <= a.onset_ms <= last + hi]
        missing = set(self._actors[coder]) - {a.actor for a in near}
        # one annotation of every other actor of the coding, outside the span: the same partners as in the whole
        near += [next(a for a in shown.values() if a.actor == actor) for actor in sorted(missing)]
        found = self._contingencies(near)
        found = found[(found["onset_ms"] >= first) & (found["onset_ms"] <= last)]
        replaced = [i for i in self._link_keys.get(coder, {}) if i not in shown or first <= shown[i].onset_ms <= last]
        self._set_links(coder, found, changes, replaced)

    # -- agreement ---------------------------------------------------------------------------------------

    def _main_pair(self) -> tuple[str, str] | None:
        """The two coders with the most shown annotations (ties by name), by name; None outside supervision."""
        if self.mode != "supervision" or len(self._by_coder) < 2:
            return None
        top = sorted(self._by_coder, key=lambda c: (-len(self._by_coder[c]), c))[:2]
        return (min(top), max(top))

    def _match_all(self, tables: dict[str, AnnotationTable] | None) -> None:
        """Match the two main coders' events anew (from ``tables`` by coder when given)."""
        self._pair = self._main_pair()
        self._pairs, self._pair_of = {}, {}
        if self._pair is None:
            self.disagree, self.agreement = set(), None
            return
        a, b = self._pair
        if tables is None:
            tables = {c: AnnotationTable([annotation_fields(x) for x in self._by_coder[c].values()]) for c in (a, b)}
        self._add_pairs(match_events(tables[a], tables[b], tolerance_ms=self.tolerance_ms))
        self._summarise()

    def _match_local(self, points: list[tuple[str, int]], edited: set[int]) -> None:
        """Match again the events of the runs of onsets (both coders, one actor) that chain to ``points``."""
        assert self._pair is not None
        a, b = self._pair
        tol = self.tolerance_ms
        events: dict[int, AnnotationLike] = {}
        for actor in {p[0] for p in points}:
            mine = [x for c in (a, b) for x in self._by_coder.get(c, {}).values() if x.actor == actor]
            onsets = sorted(x.onset_ms for x in mine)
            for _, t in (p for p in points if p[0] == actor):
                start = end = t
                i = bisect.bisect_left(onsets, t) - 1
                while i >= 0 and onsets[i] >= start - tol:
                    start, i = onsets[i], i - 1
                i = bisect.bisect_right(onsets, t)
                while i < len(onsets) and onsets[i] <= end + tol:
                    end, i = onsets[i], i + 1
                events.update({x.id: x for x in mine if start <= x.onset_ms <= end})
        for i in set(events) | edited:
            pair = self._pair_of.get(i)
            if pair is not None and pair in self._pairs:
                del self._pairs[pair]
                for j in pair:
                    if j is not None:
                        self._pair_of.pop(j, None)
                        self.disagree.discard(j)

        def table(coder: str) -> AnnotationTable:
            return AnnotationTable([annotation_fields(x) for x in events.values() if x.coder == coder])

        if events:
            self._add_pairs(match_events(table(a), table(b), tolerance_ms=tol))
        self._summarise()

    def _add_pairs(self, matched: pd.DataFrame) -> None:
        for r in matched.itertuples(index=False):
            ia = None if pd.isna(r.id_a) else int(r.id_a)
            ib = None if pd.isna(r.id_b) else int(r.id_b)
            self._pairs[(ia, ib)] = (r.actor, ia, ib, r.code_a, r.code_b, r.status)
            for i in (ia, ib):
                if i is not None:
                    self._pair_of[i] = (ia, ib)
                    if r.status != "agree":
                        self.disagree.add(i)

    def _summarise(self) -> None:
        assert self._pair is not None
        pairs = list(self._pairs.values())
        matched = pd.DataFrame({"code_a": [p[3] for p in pairs], "code_b": [p[4] for p in pairs],
                                "status": [p[5] for p in pairs]}, dtype=object)  # fmt: skip
        self.agreement = Agreement(
            *self._pair,
            agree=sum(p[5] == "agree" for p in pairs),
            events=len(pairs),
            per_code=per_code_agreement(matched),
        )


def _matched_on(a: AnnotationLike) -> tuple[Any, ...]:
    """What contingencies and agreement read of an annotation."""
    return (a.coder, a.actor, a.code, a.onset_ms)

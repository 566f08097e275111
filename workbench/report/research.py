"""The research comparison: cases side by side, pre vs post, outcomes and contingencies.

Outcomes come from :func:`~workbench.analysis.outcomes.pre_post` and
:func:`~workbench.analysis.outcomes.effect_sizes`, contingencies per case and phase from
:func:`~workbench.analysis.outcomes.contingency_by_phase`, and the charts from
:mod:`workbench.charts`: the research notebook and this report compute and draw them alike.
Only cases whose consent covers research are compared.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench import charts
from workbench.charts import better_phrase
from workbench.errors import NotFoundError
from workbench.model import Case, Recording, SessionKind
from workbench.report.base import KIND_LABELS, ReportData, frame_of, resolve_case

if TYPE_CHECKING:
    import altair as alt

    from workbench.project import Project

__all__ = ["Research"]


def _instrument_names(name: str, value: Any, instruments: Sequence[str]) -> tuple[str, ...]:
    """A report parameter that lists instruments: a list of names, each among ``instruments`` (any case).

    Raises
    ------
    ValueError
        Naming the parameter and what was expected (a bare string is refused: it is not a list).
    """
    from workbench.instruments import normalise_name

    example = f'{name}=\'["{instruments[0] if instruments else "PSI-SF"}"]\''
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        got = f"the string {value!r}" if isinstance(value, str) else repr(value)
        raise ValueError(f"Invalid value for the '{name}' parameter: expected a list of instrument names (on the "
                         f"command line, JSON: --param {example}), but got {got}.")
    by_key = {normalise_name(i): i for i in instruments}
    unknown = [v for v in value if normalise_name(v) not in by_key]
    if unknown:
        raise ValueError(f"Invalid value for the '{name}' parameter: expected instruments among the measures "
                         f"({', '.join(instruments) or 'none'}), but got {', '.join(map(repr, unknown))}.")
    return tuple(dict.fromkeys(by_key[normalise_name(v)] for v in value))


def _instrument_numbers(name: str, value: Any, instruments: Sequence[str], what: str,
                        ok: Callable[[float], bool]) -> dict[str, float]:
    """A report parameter that maps instruments to numbers (``{"PSI-SF": 0.84}``), each checked with ``ok``."""
    from workbench.instruments import normalise_name

    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"Invalid value for the '{name}' parameter: expected a mapping of instrument to number (on "
                         f"the command line, JSON: --param '{name}={{\"PSI-SF\": ...}}'), but got {value!r}.")
    by_key = {normalise_name(i): i for i in instruments}
    out: dict[str, float] = {}
    for key, number in value.items():
        if not isinstance(key, str) or normalise_name(key) not in by_key:
            raise ValueError(f"Invalid value for the '{name}' parameter: expected instruments among the measures "
                             f"({', '.join(instruments) or 'none'}), but got {key!r}.")
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number) \
                or not ok(number):
            raise ValueError(f"Invalid value for the '{name}' parameter: expected {what} for {key!r}, but got "
                             f"{number!r}.")
        out[by_key[normalise_name(key)]] = float(number)
    return out


def _change_word(improvement: float, better: str) -> str:
    """What a change is, from :func:`~workbench.analysis.outcomes.pre_post`'s ``improvement`` and ``better``:
    improvement, deterioration, no change, incomplete (a score missing) or direction unknown."""
    if better not in ("higher", "lower"):
        return "direction unknown"
    if math.isnan(improvement):
        return "incomplete"
    return "improvement" if improvement > 0 else "deterioration" if improvement < 0 else "no change"


def _with_ci(value: float, low: float, high: float) -> str | None:
    """``"-1.91 (-3.94 to 0.17)"``; the value alone without an interval; None without a value."""
    if value is None or math.isnan(value):
        return None
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{value:.2f}"
    return f"{value:.2f} ({low:.2f} to {high:.2f})"


# -- the report --------------------------------------------------------------------------------------


class Research(ReportData):
    """Research comparison: cases side by side, pre vs post, outcome and contingency tables and charts.

    Parameters
    ----------
    project
        The open project.
    cases : sequence of str, optional
        Pseudonyms (or ids) of the cases to compare (default: all).
    coder : str, optional
        Whose coding the contingencies use (default: the coder with the most annotations).
    pre, post : str
        The measure time points to compare.
    lower_is_better, higher_is_better : list of str, optional
        Instruments on which a decrease (an increase) is an improvement. Which way is better
        comes from each instrument's data (:mod:`workbench.instruments`); these declare it for
        an instrument it does not know, or override it (research use). Each must name an
        instrument among the measures.
    reliability, normative_sd : dict, optional
        Test-retest reliability (0 <= r < 1) and normative SD (> 0) per instrument, from its
        manual, for the reliable change index (Jacobson & Truax, 1991).
    window_ms : int
        Answer window for the contingencies.

    Only cases whose consent allows ``"research"`` are compared; the others are left out and named,
    with why, in :attr:`left_out` (a note in the report, and ``left_out`` on the cover info).

    Raises
    ------
    ValueError
        For a parameter of the wrong shape (a bare string where a list is expected, a value out
        of range) or naming an instrument that is not among the measures; the message names the
        parameter and what was expected.
    """

    kind = "research"

    def __init__(
        self,
        project: Project,
        cases: Sequence[Case | int | str] | str | None = None,
        *,
        coder: str | None = None,
        pre: str = "pre",
        post: str = "post",
        lower_is_better: Sequence[str] = (),
        higher_is_better: Sequence[str] = (),
        reliability: Mapping[str, float] | None = None,
        normative_sd: Mapping[str, float] | None = None,
        window_ms: int = 3000,
        **kwargs: Any,
    ) -> None:
        super().__init__(project, None, **kwargs)
        if isinstance(cases, str):
            cases = [c.strip() for c in cases.split(",") if c.strip()]
        chosen = [resolve_case(project, c) for c in cases] if cases else project.cases()
        if not chosen:
            raise NotFoundError("Expected cases to compare, but the project has none.")
        from workbench.report.consent import consenting_cases

        self.cases, self.left_out = consenting_cases(project, chosen, "research", use="the research report")
        self.pre, self.post = pre, post
        instruments = sorted(set(self.measures()["instrument"]))
        self.lower_is_better = _instrument_names("lower_is_better", lower_is_better, instruments)
        self.higher_is_better = _instrument_names("higher_is_better", higher_is_better, instruments)
        both = set(self.lower_is_better) & set(self.higher_is_better)
        if both:
            raise ValueError(f"Expected an instrument in 'lower_is_better' or in 'higher_is_better', not in both, but "
                             f"got {', '.join(map(repr, sorted(both)))} in both.")
        self.reliability = _instrument_numbers("reliability", reliability, instruments, "a reliability r in [0, 1)",
                                               lambda r: 0 <= r < 1)
        self.normative_sd = _instrument_numbers("normative_sd", normative_sd, instruments, "a positive SD",
                                                lambda sd: sd > 0)
        self.window_ms = int(window_ms)
        counts: dict[str, int] = {}
        for c in self.cases:
            for rec in project.recordings(case=c):
                for coder_name, n in self.annotations(rec).to_dataframe()["coder"].value_counts().items():
                    counts[str(coder_name)] = counts.get(str(coder_name), 0) + int(n)
        self.coder = coder or (sorted(counts, key=lambda k: (-counts[k], k))[0] if counts else "")

    def cover_info(self, **extra: Any) -> dict[str, Any]:
        names = ", ".join(c.pseudonym for c in self.cases)
        info = super().cover_info(**extra)
        info["case"] = names
        info["title"] = f"{KIND_LABELS[self.kind]} — {len(self.cases)} case{'s' if len(self.cases) != 1 else ''}"
        info["left_out"] = [{"case": x.case, "reason": x.reason} for x in self.left_out]
        return info

    def left_out_note(self) -> str:
        """The note naming the cases left out for want of research consent, and why ("" if none)."""
        if not self.left_out:
            return ""
        which = " ".join(x.note() for x in self.left_out)
        n = len(self.cases)
        return (f"{which} Only cases whose consent covers research are compared: {n} of {n + len(self.left_out)} "
                f"{'is' if n == 1 else 'are'}.")

    def report_date(self) -> str:
        dates = [s.date for c in self.cases for s in self.project.sessions(c)]
        if not dates:
            return super().report_date()
        lo, hi = min(dates).isoformat(), max(dates).isoformat()
        return lo if lo == hi else f"{lo} to {hi}"

    def measures(self) -> pd.DataFrame:
        """Tidy measures of the chosen cases (pseudonyms only)."""
        m = self.project.measures_frame()
        m = m[m["case"].isin([c.pseudonym for c in self.cases])]
        return m.drop(columns=["id", "case_id"]).reset_index(drop=True)

    def _outcome_options(self) -> dict[str, Any]:
        return {"pre": self.pre, "post": self.post, "lower_is_better": self.lower_is_better,
                "higher_is_better": self.higher_is_better}

    @cached_property
    def _pre_post(self) -> pd.DataFrame:
        from workbench.analysis.outcomes import pre_post  # scipy: imported when a research report is made

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # what is not known (direction, reliability) is said in the report
            return pre_post(self.measures(), reliability=self.reliability or None, sd_pre=self.normative_sd or None,
                            **self._outcome_options())

    def outcomes(self) -> pd.DataFrame:
        """Pre and post per case and instrument: change, which way is better and what the change is.

        With a reliability for an instrument (:attr:`reliability` or the instrument's data), its
        reliable change index (Jacobson & Truax, 1991) and verdict too.
        """
        pp = self._pre_post
        out = pd.DataFrame({
            "case": pp["case"], "instrument": pp["instrument"], "scale": pp["scale"],
            self.pre: pp["pre"], self.post: pp["post"], "change": pp["change"],
            "better": [better_phrase(b) for b in pp["better"]],
            "the change is": [_change_word(i, b) for i, b in zip(pp["improvement"], pp["better"], strict=True)],
        })
        if pp["reliability"].notna().any():
            out["RCI"] = pp["rci"]
            out["reliable change"] = pp["direction"].astype(str)
        return out

    def effect_sizes(self) -> pd.DataFrame:
        """Per instrument across cases: n, mean pre and post, mean change, d_z with its CI, g_z, p, favours."""
        from workbench.analysis.outcomes import effect_sizes

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unknown direction is said in the report
            es = effect_sizes(self.measures(), **self._outcome_options())
        out = pd.DataFrame({
            "instrument": es["instrument"] + [f" ({s})" if s else "" for s in es["scale"]],
            "n": es["n"],
            f"mean {self.pre}": es["mean_pre"],
            f"mean {self.post}": es["mean_post"],
            "mean change": es["mean_change"],
            "d_z (95% CI)": [_with_ci(d, lo, hi) for d, lo, hi in zip(es["d_z"], es["d_z_ci_low"], es["d_z_ci_high"],
                                                                        strict=True)],
            "g_z": es["g_z"],
            "p": es["p"],
            "favours": es["favours"],
        })
        out.attrs["digits"] = {f"mean {self.pre}": 1, f"mean {self.post}": 1, "mean change": 1, "g_z": 2, "p": 3}
        return out

    def directions(self) -> pd.DataFrame:
        """Which way is better on each instrument's scales, and where that comes from (one row per instrument)."""
        from workbench.instruments import default_instruments

        known = default_instruments()
        rows = []
        for instrument, g in self._pre_post.groupby("instrument", sort=True):
            firsts = g.drop_duplicates("scale")
            scales = "; ".join(f"{s}: {better_phrase(b)}" if s else better_phrase(b)
                               for s, b in zip(firsts["scale"], firsts["better"], strict=True))
            sources = set(firsts["better_source"])
            found = known.find(instrument)
            basis = []
            if "instrument" in sources and found is not None:
                basis.append(f"{found.title}: {found.source}")
            if "given" in sources:
                basis.append("declared in this report's parameters")
            if "" in sources:
                basis.append("not known: the instrument (or scale) is not among the workbench's instruments; name it "
                             "in the report's 'lower_is_better' or 'higher_is_better' parameter to declare it")
            rows.append({"instrument": instrument, "which way is better": scales, "source": " ".join(basis)})
        return frame_of(rows, ["instrument", "which way is better", "source"])

    def unknown_directions(self) -> list[str]:
        """The instruments (with scale) whose better direction is not known."""
        pp = self._pre_post
        unknown = pp[pp["better"] == "unknown"]
        return sorted({i + (f" ({s})" if s else "") for i, s in zip(unknown["instrument"], unknown["scale"],
                                                                    strict=True)})

    def rci_note(self) -> str:
        """How reliable change was (or could not be) assessed, in one paragraph."""
        pp = self._pre_post
        have = sorted(set(pp.loc[pp["reliability"].notna(), "instrument"]))
        lacking = sorted(set(pp.loc[pp["reliability"].isna(), "instrument"]))
        parts = []
        if have:
            parts.append(f"Reliable change (Jacobson & Truax, 1991) for {', '.join(have)}, with the test-retest "
                         "reliabilities given.")
        if lacking:
            parts.append(f"No reliable change index for {', '.join(lacking)}: it needs the instrument's test-retest "
                         "reliability from its manual (the report's 'reliability' parameter).")
        return " ".join(parts)

    def outcome_chart(self) -> alt.FacetChart:
        """Each case's scores before and after, one panel per instrument and scale (titled with which way is
        better), coloured by reliable change, each case named at its last score; two panels a row."""
        return charts.pre_post_chart(self._pre_post, width=260, height=180, columns=2)

    def phases(self, case: Case) -> list[tuple[str, Recording]]:
        """The case's filmed recordings as (phase, recording): first filming ``pre``, last ``post``."""
        filmings = sorted((s for s in self.project.sessions(case) if s.kind == SessionKind.FILMING),
                          key=lambda s: (s.date, s.cycle, s.id))
        out = []
        for i, s in enumerate(filmings):
            phase = self.pre if i == 0 else (self.post if i == len(filmings) - 1 else f"cycle {s.cycle}")
            out.extend((phase, r) for r in self.project.recordings(s))
        return out

    def contingency_frame(self) -> pd.DataFrame:
        """Contingencies per case, phase and actor pair (one coder), for tables and charts.

        :func:`~workbench.analysis.outcomes.contingency_by_phase` of the :meth:`phases`, one row per
        case, phase, recording and actor pair with initiatives, with ``who`` (the pair), ``recording``
        (its label) and ``coder``; computed once per report (its table and its chart show the same).
        """
        return self._by_phase.copy()

    @cached_property
    def _by_phase(self) -> pd.DataFrame:
        from workbench.analysis.outcomes import contingency_by_phase

        codings = []
        labels: dict[int, str] = {}
        for case in self.cases:
            for phase, rec in self.phases(case):
                labels[int(rec.id)] = self.recording_label(rec)
                duration = rec.duration_ms if rec.duration_ms and rec.duration_ms > 0 else None
                codings.append((case.pseudonym, phase, self.annotations(rec, self.coder), duration))
        found = contingency_by_phase(codings, self.scheme, window_ms=(0, self.window_ms))
        found = found[found["initiatives"] > 0].reset_index(drop=True)
        return found.assign(phase=found["phase"].astype(str), who=found["pair"].astype(str),
                            recording=[labels[int(r)] for r in found["recording_id"]], coder=self.coder)

    def contingency_table(self) -> pd.DataFrame:
        """Contingencies per case and phase as a reader sees them."""
        return self.contingency_display(self.contingency_frame(), ["case", "phase"])

    def attuned_chart(self) -> alt.FacetChart:
        """Share of initiatives attuned, pre vs post, per case and actor pair."""
        return charts.attuned_chart(self.contingency_frame(), phases=(self.pre, self.post))

    def cases_overview(self) -> pd.DataFrame:
        """One row per case: helping question, sessions, filmed recordings, goals."""
        rows = []
        for c in self.cases:
            sessions = self.project.sessions(c)
            rows.append({
                "case": c.pseudonym, "helping question": c.helping_question,
                "sessions": len(sessions),
                "filmings": sum(1 for s in sessions if s.kind == SessionKind.FILMING),
                "recordings": len(self.project.recordings(case=c)), "goals": len(self.project.goals(c)),
                "first session": min((s.date for s in sessions), default=None),
                "last session": max((s.date for s in sessions), default=None),
            })
        return frame_of(rows, ["case", "helping question", "sessions", "filmings", "recordings", "goals",
                               "first session", "last session"])

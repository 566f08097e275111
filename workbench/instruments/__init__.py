"""Outcome instruments as data: which way is better on each scale, its range and, where known, reliability.

A stored measure (``Project.add_measure(case, "PSI-SF", "total (36-180)", "pre", 112)``) names its
instrument and scale as free text. :class:`Instruments` finds the instrument by name or alias and the
scale by name or alias (case, spaces, punctuation and a trailing range such as ``(36-180)`` do not
matter) and says which way is better: ``"higher"``, ``"lower"`` or ``None`` (unknown). Analyses and
reports take a measure's direction from here; an instrument that is not listed has no direction, and
reports then say "direction unknown" instead of "improvement" or "deterioration".

The shipped instruments (``workbench/instruments/instruments.yaml``: parenting stress, child strengths
and difficulties, parental sense of competence, wellbeing, goal-based outcomes) each name the manual or
paper their direction was checked against. A service adds its own with :func:`load_instruments`.

Examples
--------
>>> from workbench.instruments import default_instruments
>>> instruments = default_instruments()
>>> instruments.better("PSI-SF", "total (36-180)"), instruments.better("sdq", "Prosocial")
('lower', 'higher')
>>> instruments.better("SDQ"), instruments.better("my own questionnaire")  # mixed scales; unknown
(None, None)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from workbench.errors import InstrumentError

__all__ = ["Better", "Instrument", "Instruments", "Scale", "default_instruments", "instruments_from_dict",
           "load_instruments", "normalise_name"]

Better = Literal["higher", "lower"]
_BETTER = ("higher", "lower")
_RANGE_SUFFIX = re.compile(r"\s*[\(\[][\s\d.,:/–-]*[\)\]]\s*$")


def normalise_name(text: str) -> str:
    """The form names are compared in: lower case, letters and digits only, without a trailing range.

    Examples
    --------
    >>> normalise_name("Total (36-180)"), normalise_name("PSI-4 SF")
    ('total', 'psi4sf')
    """
    stripped = _RANGE_SUFFIX.sub("", str(text))
    return re.sub(r"[^0-9a-z]+", "", (stripped or str(text)).lower())


@dataclass(frozen=True, slots=True)
class Scale:
    """One scale of an instrument (its total or a subscale).

    Attributes
    ----------
    name : str
        The scale's name (``"total stress"``).
    aliases : tuple of str
        Other names it is stored under (``"total"``, ``"TS"``).
    range : (float, float) or None
        Lowest and highest possible score, where the source states them.
    better : {"higher", "lower"} or None
        Which way is better; ``None`` for a scale without one (a validity scale).
    reliability : float or None
        Test-retest reliability r_xx from the source, if it gives one per scale.
    normative_sd : float or None
        SD of the source's normative sample, if it gives one.
    """

    name: str
    aliases: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    better: Better | None = None
    reliability: float | None = None
    normative_sd: float | None = None

    def names(self) -> tuple[str, ...]:
        """The scale's name and aliases."""
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class Instrument:
    """An outcome instrument: names, scales and the source its facts were checked against.

    Attributes
    ----------
    name : str
        Short name (``"PSI-SF"``).
    title : str
        Full name (``"Parenting Stress Index, Short Form"``).
    aliases : tuple of str
        Other names measures are stored under.
    scales : tuple of Scale
    source : str
        The manual or paper (edition, page or table) the directions and ranges come from.
    note : str
        What the source does not give, and anything a user must know.
    """

    name: str
    title: str
    aliases: tuple[str, ...]
    scales: tuple[Scale, ...]
    source: str
    note: str = ""

    def names(self) -> tuple[str, ...]:
        """The instrument's name and aliases."""
        return (self.name, *self.aliases)

    def scale(self, name: str) -> Scale | None:
        """The scale called ``name`` (or an alias of it), else None."""
        key = normalise_name(name)
        return next((s for s in self.scales if key in {normalise_name(n) for n in s.names()}), None)

    @property
    def better(self) -> Better | None:
        """The direction every outcome scale shares, or None if they differ (or none has one)."""
        found = {s.better for s in self.scales if s.better is not None}
        return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class Instruments:
    """A set of instruments, looked up by name or alias (case, spaces and punctuation do not matter).

    Parameters
    ----------
    instruments : sequence of Instrument
        No two may share a name or alias.
    source : str
        Where they were loaded from (for messages).
    """

    instruments: tuple[Instrument, ...] = ()
    source: str = "<instruments>"
    _index: dict[str, Instrument] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "instruments", tuple(self.instruments))
        index: dict[str, Instrument] = {}
        for inst in self.instruments:
            for name in inst.names():
                key = normalise_name(name)
                if key in index and index[key] is not inst:
                    raise InstrumentError(self.source, [f"Expected unique instrument names, but {name!r} names "
                                                        f"both {index[key].name!r} and {inst.name!r}."])
                index[key] = inst
        object.__setattr__(self, "_index", index)

    def __repr__(self) -> str:
        return f"<Instruments | {len(self.instruments)}: {', '.join(i.name for i in self.instruments)}>"

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self.instruments)

    def __len__(self) -> int:
        return len(self.instruments)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalise_name(name) in self._index

    def find(self, name: str) -> Instrument | None:
        """The instrument called ``name`` (or an alias of it), else None."""
        return self._index.get(normalise_name(name))

    def scale(self, instrument: str, scale: str = "") -> Scale | None:
        """The scale ``scale`` of ``instrument``, else None."""
        inst = self.find(instrument)
        return inst.scale(scale) if inst is not None and scale else None

    def better(self, instrument: str, scale: str = "") -> Better | None:
        """Which way is better on ``instrument``'s ``scale``: ``"higher"``, ``"lower"`` or None (unknown).

        A scale that is found gives its own direction (None for a scale without one); a scale that
        is not found (or none given) takes the direction all the instrument's scales share, if they do.
        """
        inst = self.find(instrument)
        if inst is None:
            return None
        found = inst.scale(scale) if scale else None
        return found.better if found is not None else inst.better

    def merged(self, other: Instruments) -> Instruments:
        """These instruments with ``other``'s added; an instrument of ``other`` replaces one of the same name."""
        names = {normalise_name(n) for inst in other for n in inst.names()}
        kept = [i for i in self if not names & {normalise_name(n) for n in i.names()}]
        return Instruments((*kept, *other), source=f"{self.source} + {other.source}")


def instruments_from_dict(data: Any, source: str = "<dict>") -> Instruments:
    """Validate plain data (the shape of ``instruments.yaml``) and build :class:`Instruments`.

    Every problem is collected and reported at once in one :class:`~workbench.errors.InstrumentError`.
    """
    problems: list[str] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("instruments"), list):
        got = type(data).__name__ if not isinstance(data, Mapping) else repr(data.get("instruments"))
        raise InstrumentError(source, [f"Expected a mapping with a list 'instruments', but got {got}."])

    def text(where: str, value: Any, required: bool = True) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                problems.append(f"{where}: Expected a non-empty string, but got {value!r}.")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            problems.append(f"{where}: Expected a string, but got {type(value).__name__}.")
            return ""
        return str(value).strip()

    def names(where: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            problems.append(f"{where}: Expected a list of names, but got {value!r}.")
            return ()
        return tuple(t for i, v in enumerate(value) if (t := text(f"{where}[{i}]", v)))

    def number(where: str, value: Any, lo: float | None = None, hi: float | None = None) -> float | None:
        if value is None:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or (lo is not None and value < lo) or (hi is not None and value >= hi):
            bounds = f" in [{lo:g}, {hi:g})" if lo is not None and hi is not None else ""
            problems.append(f"{where}: Expected a number{bounds} or null, but got {value!r}.")
            return None
        return float(value)

    out: list[Instrument] = []
    for i, raw in enumerate(data["instruments"]):
        where = f"instruments[{i}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: Expected a mapping, but got {raw!r}.")
            continue
        name = text(f"{where}.name", raw.get("name"))
        where = f"instruments[{i}] ({name!r})" if name else where
        scales: list[Scale] = []
        raw_scales = raw.get("scales")
        if not isinstance(raw_scales, list) or not raw_scales:
            problems.append(f"{where}.scales: Expected a non-empty list, but got {raw_scales!r}.")
            raw_scales = []
        for j, rs in enumerate(raw_scales):
            sw = f"{where}.scales[{j}]"
            if not isinstance(rs, Mapping):
                problems.append(f"{sw}: Expected a mapping, but got {rs!r}.")
                continue
            better = rs.get("better")
            if better is not None and better not in _BETTER:
                problems.append(f"{sw}.better: Expected 'higher', 'lower' or null, but got {better!r}.")
                better = None
            rng = rs.get("range")
            scale_range: tuple[float, float] | None = None
            if rng is not None:
                lo_hi = [number(f"{sw}.range", v) for v in rng] if isinstance(rng, list) and len(rng) == 2 else None
                if lo_hi is None or None in lo_hi or lo_hi[0] >= lo_hi[1]:  # type: ignore[operator]
                    problems.append(f"{sw}.range: Expected [min, max] with min < max, but got {rng!r}.")
                else:
                    scale_range = (lo_hi[0], lo_hi[1])  # type: ignore[assignment]
            scales.append(Scale(
                name=text(f"{sw}.name", rs.get("name")), aliases=names(f"{sw}.aliases", rs.get("aliases")),
                range=scale_range, better=better,
                reliability=number(f"{sw}.reliability", rs.get("reliability"), 0.0, 1.0),
                normative_sd=number(f"{sw}.normative_sd", rs.get("normative_sd"), 0.0, math.inf),
            ))
            if scales[-1].normative_sd == 0:
                problems.append(f"{sw}.normative_sd: Expected a positive number or null, but got 0.")
        seen: dict[str, str] = {}
        for s in scales:
            for n in s.names():
                key = normalise_name(n)
                if key in seen and seen[key] != s.name:
                    problems.append(f"{where}.scales: Expected unique scale names, but {n!r} names both "
                                    f"{seen[key]!r} and {s.name!r}.")
                seen[key] = s.name
        out.append(Instrument(
            name=name, title=text(f"{where}.title", raw.get("title")), aliases=names(f"{where}.aliases",
                                                                                     raw.get("aliases")),
            scales=tuple(scales), source=text(f"{where}.source", raw.get("source")),
            note=text(f"{where}.note", raw.get("note"), required=False),
        ))
    if problems:
        raise InstrumentError(source, problems)
    return Instruments(tuple(out), source=source)


def load_instruments(path: str | Path) -> Instruments:
    """Load instruments from a YAML or JSON file (the shape of the shipped ``instruments.yaml``).

    Raises
    ------
    InstrumentError
        If the file cannot be read or is invalid (every problem listed).
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InstrumentError(str(p), [f"Expected a readable YAML or JSON file, but: {exc}"]) from None
    return instruments_from_dict(data, source=str(p))


@cache
def default_instruments() -> Instruments:
    """The instruments the workbench ships (``workbench/instruments/instruments.yaml``)."""
    res = resources.files("workbench") / "instruments" / "instruments.yaml"
    return instruments_from_dict(yaml.safe_load(res.read_text(encoding="utf-8")), source="instruments.yaml")


"""Interchange with other tools: ELAN, BORIS, Observer XT, CSV/TSV and SDIS (GSEQ).

Readers return tables (and schemes); they never write to a store, so that the store can
take an import all or nothing. Every reader raises :class:`~workbench.errors.FormatError`
for a file it cannot use (missing, truncated, not the expected format), naming the file and
what was expected, or :class:`~workbench.errors.AnnotationError` for invalid rows.

=========================  =============================================================
ELAN ``.eaf``              :func:`read_eaf`, :func:`write_eaf` (via pympi-ling)
BORIS ``.boris``           :func:`read_boris` -> :class:`BorisProject`
Observer XT ``.otx/.otb``  :func:`read_otx` -> :class:`ObserverProject`
CSV / TSV                  :func:`read_table`, :func:`write_table` (formulas neutralised)
SDIS for GSEQ ``.sds``     :func:`write_sdis`, :func:`sdis_codes`
=========================  =============================================================

Each module's docstring states its conventions (tiers, point events, pairing, rounding).
"""

from __future__ import annotations

from workbench.io.boris import NO_FOCAL_SUBJECT, BorisProject, read_boris
from workbench.io.elan import CODE_TYPE, POINT_TYPE, read_eaf, write_eaf
from workbench.io.observer import ObserverProject, read_otx
from workbench.io.sdis import sdis_codes, write_sdis
from workbench.io.table import neutralise_formulas, read_table, unquote_formula, write_table

__all__ = [
    "CODE_TYPE",
    "NO_FOCAL_SUBJECT",
    "POINT_TYPE",
    "BorisProject",
    "ObserverProject",
    "neutralise_formulas",
    "read_boris",
    "read_eaf",
    "read_otx",
    "read_table",
    "sdis_codes",
    "unquote_formula",
    "write_eaf",
    "write_sdis",
    "write_table",
]

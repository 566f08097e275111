"""What each report kind shows, gathered from a project as de-identified tables and charts.

The report notebooks in ``notebooks/report-*.ipynb`` build one of these objects from their
parameters and display its tables and charts; a user adapting a notebook can use the same
methods. Everything returned here is de-identified: cases by pseudonym, recordings by label,
stills as image bytes (face-blurred on request), never a real name, a file path or video.

Each kind lives in a module of its own, on a shared base that reads a recording's annotations
once per build:

==================  ==================================================  ===============================
kind                class                                               module
==================  ==================================================  ===============================
(all)               :class:`~workbench.report.base.ReportData`          :mod:`workbench.report.base`
micro-analysis      :class:`~workbench.report.micro.MicroAnalysis`      :mod:`workbench.report.micro`
verp                :class:`~workbench.report.micro.Verp`               :mod:`workbench.report.micro`
supervision         :class:`~workbench.report.supervision.Supervision`  :mod:`workbench.report.supervision`
research            :class:`~workbench.report.research.Research`        :mod:`workbench.report.research`
==================  ==================================================  ===============================

Examples
--------
>>> import workbench
>>> from workbench.report.data import MicroAnalysis
>>> project = workbench.open_project("demo-project")  # doctest: +SKIP
>>> r = MicroAnalysis(project, case="Aster", session=1)  # doctest: +SKIP
>>> r.contingency_table()  # doctest: +SKIP
"""

from __future__ import annotations

from workbench.report.base import KIND_LABELS, ReportData, default_session, resolve_case, resolve_session
from workbench.report.micro import MicroAnalysis, Verp
from workbench.report.research import Research
from workbench.report.supervision import Supervision

__all__ = [
    "KIND_LABELS",
    "MicroAnalysis",
    "ReportData",
    "Research",
    "Supervision",
    "Verp",
    "default_session",
    "resolve_case",
    "resolve_session",
]

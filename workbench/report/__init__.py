"""Reports: notebook templates -> executed -> our nbconvert template -> offline HTML and PDF; accreditation packs.

The same notebook a supervisor can open in JupyterLab is the report: the templates live in
``notebooks/report-<kind>.ipynb`` (a ``parameters`` cell, papermill's convention). :func:`build`
executes one with nbclient, exports it with our ``vig-report`` nbconvert template (cover page,
contents, no code, tidy tables, print page breaks), prints the PDF with the system's Chromium,
checks that no protected real name or file path is in any output, and writes it into
``PROJECT/reports/``. :func:`build_pack` bundles a trainee's reports and stills with a manifest
of checksums and progress against a configurable requirement list.

Examples
--------
>>> from workbench import report
>>> result = report.build("demo-project", "supervision", case="Aster", session=4, to="html,pdf")  # doctest: +SKIP
>>> report.build_pack("demo-project", trainee="trainee", out="pack.zip")  # doctest: +SKIP
"""

from __future__ import annotations

from workbench.report.build import FORMATS, KINDS, ReportResult, build, normalise_kind, template_path
from workbench.report.data import KIND_LABELS, MicroAnalysis, Research, Supervision, Verp
from workbench.report.pack import (
    PackResult,
    Requirement,
    build_pack,
    default_requirements,
    load_requirements,
    trainee_progress,
    verify_pack,
)
from workbench.report.privacy import DeidentificationError, assert_deidentified

__all__ = [
    "FORMATS",
    "KINDS",
    "KIND_LABELS",
    "DeidentificationError",
    "MicroAnalysis",
    "PackResult",
    "ReportResult",
    "Requirement",
    "Research",
    "Supervision",
    "Verp",
    "assert_deidentified",
    "build",
    "build_pack",
    "default_requirements",
    "load_requirements",
    "normalise_kind",
    "template_path",
    "trainee_progress",
    "verify_pack",
]

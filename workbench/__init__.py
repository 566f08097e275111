"""VIG Workbench: review, code, supervise, analyse and report Video Interaction Guidance work.

The entry point for most users is :func:`open_project`::

    import workbench
    project = workbench.open_project("my-project", create=True)

See ``README.md`` for the two commands that set everything up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.errors import (
    AnnotationError,
    ConflictError,
    FormatError,
    MediaError,
    NotFoundError,
    SchemaVersionError,
    SchemeError,
    StoreError,
    WorkbenchError,
)

if TYPE_CHECKING:
    from workbench.annotations import AnnotationTable
    from workbench.project import Project, open_project
    from workbench.scheme import CodingScheme, default_scheme, load_scheme

# Imported on first use, so that light entry points (the Jupyter server extension, the CLI's
# --help) do not pay for pandas.
_LAZY = {
    "AnnotationTable": "workbench.annotations",
    "CodingScheme": "workbench.scheme",
    "Project": "workbench.project",
    "default_scheme": "workbench.scheme",
    "load_scheme": "workbench.scheme",
    "open_project": "workbench.project",
}

__version__ = "0.1.0"

__all__ = [
    "AnnotationError",
    "AnnotationTable",
    "CodingScheme",
    "ConflictError",
    "FormatError",
    "MediaError",
    "NotFoundError",
    "Project",
    "SchemaVersionError",
    "SchemeError",
    "StoreError",
    "WorkbenchError",
    "__version__",
    "default_scheme",
    "load_scheme",
    "open_project",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")

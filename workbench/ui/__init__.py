"""The review workbench (a leaf: nothing outside ui/ imports it).

``Review``, ``review`` and ``review_page`` are imported on first use, so that the Jupyter
server extension in :mod:`workbench.ui.server` loads without Altair, pandas or the store.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Review", "review", "review_page"]

_HOMES = {"Review": "controller", "review": "controller", "review_page": "page"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        value = getattr(importlib.import_module(f"workbench.ui.{_HOMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench.ui' has no attribute {name!r}")

"""The review workbench (a leaf: nothing outside ui/ imports it).

``Review`` and ``review`` are imported on first use, so that the Jupyter server
extension in :mod:`workbench.ui.server` loads without Altair, pandas or the store.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Review", "review"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from workbench.ui import controller

        value = getattr(controller, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench.ui' has no attribute {name!r}")

"""The input limits every reader applies, for modules outside :mod:`workbench.io` that read a user's file.

:func:`read_bytes` reads a file within the limits (decompressed size, number of items) and
raises :class:`~workbench.errors.FormatError` naming the file; :func:`input_limits` says which
limits apply (arguments, else ``WORKBENCH_MAX_INPUT_BYTES`` / ``WORKBENCH_MAX_INPUT_ITEMS``, else
the defaults). The motion-energy reader of :mod:`workbench.analysis.synchrony` uses them, so
that a file given to an analysis is held to the same limits as one given to a reader.
"""

from __future__ import annotations

from workbench.io._common import (
    DEFAULT_MAX_INPUT_BYTES,
    MAX_INPUT_BYTES_ENV,
    MAX_INPUT_ITEMS_ENV,
    input_limits,
    read_bytes,
)

__all__ = ["DEFAULT_MAX_INPUT_BYTES", "MAX_INPUT_BYTES_ENV", "MAX_INPUT_ITEMS_ENV", "input_limits", "read_bytes"]

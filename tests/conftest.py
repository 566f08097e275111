"""Shared test set-up: fixture modules live in tests/fixtures/ and are registered here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest_plugins = [
    "tests.fixtures.videos",
    "tests.fixtures.store",
    "tests.fixtures.browser",
]

#: Real files made by other tools (../shared/data beside the checkout; see its README).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    """One seeded random generator per test."""
    return np.random.default_rng(20261126)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data files from other tools; skips when it is not beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED_DATA

"""Shared test set-up: fixture modules live in tests/fixtures/ and are registered here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest_plugins = [
    "tests.fixtures.videos",
    "tests.fixtures.store",
    "tests.fixtures.browser",
    "tests.fixtures.elan",
]

#: Real files made by other tools, kept in the repository (tests/data; its README names sources and licences).
REAL_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    """One seeded random generator per test."""
    return np.random.default_rng(20261126)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real data files from other tools (``tests/data``: ELAN, BORIS, ObserverXT, rMEA)."""
    return REAL_DATA

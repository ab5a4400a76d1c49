"""Shared test configuration: hypothesis profiles and the shared test data.

Hypothesis profiles, picked by the ``HYPOTHESIS_PROFILE`` environment variable:

* ``dev`` (default): quick, random.
* ``ci``: derandomized (the same examples on every run), no deadline, more examples.
* ``nightly``: many examples, no deadline.

Public test data written by others lives in ``../shared/testdata`` (relative to the repository
root); tests that need it skip cleanly when it is absent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
"""The repository root."""

TESTDATA = ROOT.parent / "shared" / "testdata"
"""Where the shared test data lives, if it is there."""

# `corpus` (the benchmark corpus generator) is shared with the benchmarks.
sys.path.insert(0, str(ROOT / "benches"))

settings.register_profile("dev", max_examples=100)
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "nightly", deadline=None, max_examples=5000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def testdata() -> Path:
    """The shared test data folder; skips the test when it is absent."""
    if not TESTDATA.is_dir():
        pytest.skip(f"shared test data not found at {TESTDATA}")
    return TESTDATA

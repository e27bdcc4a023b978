"""Tests of the Python package against the real `solvable` binary (SOLVABLE_BINARY, PATH or the checkout's build)."""

from pathlib import Path

import pytest

import solvable as sv

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def binary():
    """The executable under test; its absence is a failure, not a skip (`make test-python` sets SOLVABLE_BINARY)."""
    return sv.find_binary()

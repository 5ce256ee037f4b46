"""Shared helpers for the programme-model tests: a valid base programme copied into a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
BASE = HERE / "base"
BROKEN = HERE / "broken"
FILES = ("program.yaml", "policies.yaml", "pairs.yaml")


@pytest.fixture
def programme_dir(tmp_path: Path) -> Path:
    """A copy of ``base/`` (a small valid programme) that a test may edit."""
    for name in FILES:
        shutil.copy(BASE / name, tmp_path / name)
    return tmp_path

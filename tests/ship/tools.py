"""Shared paths and tool runners for the static checks of what we ship (image, manifests, docs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
K8S = ROOT / "deploy" / "kubernetes"
DOCS = ROOT / "docs"


def tool(name: str) -> Path:
    """A console script of the test extra, next to the running interpreter (as CI installs it)."""
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        pytest.fail(f"{name} is missing: install the test extra (pip install -e '.[test]')")
    return path


def run_tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )

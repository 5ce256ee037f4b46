"""Lint and types are part of the normal test run: ruff over the repository, mypy (strict on the core)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name(tool)
    return subprocess.run([str(executable), *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_reconcile_and_report_are_mypy_strict_clean() -> None:
    # The packages and their strictness come from [tool.mypy] in pyproject.toml, as when run by hand.
    result = _run("mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert result.returncode == 0, result.stdout + result.stderr

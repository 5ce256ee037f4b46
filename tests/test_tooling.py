"""Lint and types are part of the normal test run: ruff over the repository, mypy (strict on the core)."""

import re
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


def test_nothing_in_tests_or_scripts_reads_outside_the_repository() -> None:
    # A clone of the project alone must run every test: Microsoft's schema and examples are vendored
    # (vendor/msgraph/, tests/sandbox/graph_examples/), so no path may climb to a sibling such as ../shared.
    readers = [*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("scripts").rglob("*.py")]
    climbing = re.compile(r"""(parents\[\d+\]|parent|ROOT\.parent)\s*/\s*["']shared["']|["']\.\./shared/""")
    offenders = [str(p.relative_to(ROOT)) for p in readers if climbing.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    csdl = ROOT / "vendor" / "msgraph" / "graph-v1.0-csdl.xml.gz"
    assert csdl.is_file()
    assert "MIT License" in (csdl.parent / "LICENSE").read_text(encoding="utf-8")

"""`crossgen validate` and `crossgen --help` as a lead and CI run them: exit codes, output, speed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from tests.policies.conftest import HERE
from worker.commands.validate import validate

ROOT = HERE.parents[1]


def test_the_spec_example_is_valid_and_summarised() -> None:
    result = CliRunner().invoke(validate, ["--config", str(HERE / "spec_config")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "Digital Reverse Mentoring 2027: valid",
        "  2027-01-11 to 2027-06-30 (Europe/Paris), organised by mentoring@contoso.com, "
        "lead people.lead@contoso.com",
        "  4 pairs, 2 policies, 2 blackouts",
    ]
    assert "  policy monthly-executive: monthly, 1h, 6 sessions, 2 pairs" in result.stdout.splitlines()


def test_the_projects_own_example_programme_is_valid() -> None:
    result = CliRunner().invoke(validate, ["--config", str(ROOT / "config")])
    assert result.exit_code == 0, result.stderr
    assert "8 pairs, 2 policies" in result.stdout


def _run(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result, time.perf_counter() - started


def test_an_invalid_programme_exits_2_with_one_line_per_problem_and_no_traceback(programme_dir: Path) -> None:
    policies = programme_dir / "policies.yaml"
    policies.write_text(policies.read_text().replace("duration: 45m", "duration: 45 minutes please"))
    result, elapsed = _run("validate", "--config", str(programme_dir))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{programme_dir}/policies.yaml:4:15: policies.fortnightly.duration: "
        "'45 minutes please' is not a duration like 45m, 1h30m or 3 weeks"
    ]
    assert elapsed < 5  # generous for a loaded CI machine; about 0.4 s here, interpreter start included


def test_validate_imports_nothing_that_talks_to_microsoft() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from worker.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['validate', '--config', {str(HERE / 'spec_config')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('msgraph', 'msal', 'httpx', 'kiota_abstractions', 'starlette', 'uvicorn'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_help_starts_fast() -> None:
    # Best of three: the first run may pay for a cold disk cache, which says nothing about our imports.
    timings = []
    for _ in range(3):
        result, elapsed = _run("--help")
        assert result.returncode == 0 and "validate" in result.stdout
        timings.append(elapsed)
    assert min(timings) < 0.3, timings

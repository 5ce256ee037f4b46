"""Every file in ``broken/`` replaces one file of the valid base programme and must be refused.

Each case starts with two comment lines: ``# target: FILE`` (``(deleted)`` to remove it instead) and
``# expect: FILE:LINE:COL: message start``. The test runs ``crossgen validate`` and asserts exit 2 and
that this exact location and message are among the problems printed, one per line, with no traceback.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.policies.conftest import BROKEN
from worker.commands.validate import validate

CASES = sorted(BROKEN.glob("*.yaml"))
LINE = re.compile(r"^(?P<file>\S+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def _header(case: Path) -> tuple[str, bool, str]:
    first, second = case.read_bytes().split(b"\n", 2)[:2]
    target = first.decode().removeprefix("# target: ")
    expect = second.decode().removeprefix("# expect: ")
    return target.split()[0], "(deleted)" in target, expect


def test_the_corpus_covers_at_least_thirty_mistakes() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_config_is_refused_at_its_line(case: Path, programme_dir: Path) -> None:
    target, deleted, expect = _header(case)
    if deleted:
        (programme_dir / target).unlink()
    else:
        shutil.copy(case, programme_dir / target)

    result = CliRunner().invoke(validate, ["--config", str(programme_dir)])

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines, "no problem reported"
    assert all(LINE.match(line) for line in lines), result.stderr
    assert "Traceback" not in result.stderr
    expected = f"{programme_dir}/{expect}"
    assert any(line.startswith(expected) for line in lines), f"expected {expected!r} among:\n{result.stderr}"

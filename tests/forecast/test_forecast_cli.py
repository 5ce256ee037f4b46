"""``crossgen forecast`` refuses bad input before any credential or network is touched (exit 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from worker.cli import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "CROSSGEN_GRAPH_URL"):
        monkeypatch.delenv(name, raising=False)


def test_an_unknown_what_if_policy_is_refused_naming_the_known_ones(no_identity: None) -> None:
    result = CliRunner().invoke(cli, ["forecast", "--config", str(ROOT / "config"), "--policy", "weekly"])
    assert result.exit_code == 2
    assert "'weekly' is not a policy" in result.output and "fortnightly" in result.output


def test_an_invalid_programme_is_refused_with_file_line_col(tmp_path: Path, no_identity: None) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    text = (config / "policies.yaml").read_text(encoding="utf-8")
    (config / "policies.yaml").write_text(text.replace("duration: 45m", "duration: 45"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["forecast", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config / 'policies.yaml'}:" in result.output and "duration" in result.output

"""The JSON Schemas editors use: committed, up to date, referenced by the example files, and agreeing
with the validator on the examples."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.policies.conftest import FILES, HERE
from worker.commands.validate import schema
from worker.policies.schema import render, schema_name, schemas

ROOT = HERE.parents[1]
CONFIG = ROOT / "config"
COMMITTED = CONFIG / "schema"


def test_committed_schemas_are_up_to_date() -> None:
    for name, generated in schemas().items():
        committed = COMMITTED / name
        assert committed.read_text(encoding="utf-8") == render(generated), (
            f"{committed} is stale: run `crossgen schema --out config/schema`"
        )


def test_schema_command_writes_the_three_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(schema, ["--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["pairs.schema.json", "policies.schema.json", "program.schema.json"]
    assert json.loads((tmp_path / "out" / "program.schema.json").read_text())["additionalProperties"] is False


@pytest.mark.parametrize("name", FILES)
def test_example_files_start_with_the_editor_schema_comment(name: str) -> None:
    first = (CONFIG / name).read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema=./schema/{schema_name(name)}"
    assert (COMMITTED / schema_name(name)).is_file()


def _as_json(value: Any) -> Any:
    # The YAML language server reads 2027-01-11 as text; PyYAML reads it as a date.
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


@pytest.mark.parametrize(
    "folder", [CONFIG, HERE / "spec_config", HERE / "base"], ids=["config", "spec", "base"]
)
@pytest.mark.parametrize("name", FILES)
def test_valid_examples_pass_their_schema(folder: Path, name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = _as_json(yaml.safe_load((folder / name).read_text(encoding="utf-8")))
    jsonschema.Draft202012Validator(schemas()[schema_name(name)]).validate(document)


def test_the_schema_refuses_an_unknown_key_as_the_editor_should() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(schemas()["policies.schema.json"])
    document = {"policies": {"weekly": {"cadence": "weekly", "durtion": "45m"}}}
    assert any("durtion" in error.message for error in validator.iter_errors(document))

"""JSON Schemas of the three programme files, generated from the pydantic models.

Editors with the YAML language server read the ``# yaml-language-server: $schema=...`` line at the
top of each file and check as the lead types. The schema can only say what one value may look like;
``crossgen validate`` remains the judge (references, windows against durations, dates, domains).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from worker.policies.load import FILES

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_name(file: str) -> str:
    """``program.yaml`` -> ``program.schema.json``."""
    return file.removesuffix(".yaml") + ".schema.json"


def schemas() -> dict[str, dict[str, Any]]:
    """Schema file name -> JSON Schema, for program.yaml, policies.yaml and pairs.yaml."""
    out = {}
    for file, model in FILES.items():
        schema = model.model_json_schema()
        schema = {
            "$schema": SCHEMA_DIALECT,
            "title": f"crossgen {file}",
            "description": f"The {file} of a crossgen reverse-mentoring programme. "
            "Check the whole programme with `crossgen validate --config DIR`.",
            **{k: v for k, v in schema.items() if k not in ("title", "description")},
        }
        out[schema_name(file)] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write_schemas(out_dir: Path) -> list[Path]:
    """Write the three schemas into ``out_dir`` (created if needed); return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = out_dir / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written

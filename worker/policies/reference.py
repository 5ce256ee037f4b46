"""The YAML reference for programme leads, generated from the models (``docs/reference.md``).

It is rendered from the same JSON Schemas that editors use, so the reference, the schema and the
validator cannot drift apart: a test regenerates it and compares it with the committed file.
"""

from __future__ import annotations

from typing import Any

from worker.policies.models import DEFAULTS
from worker.policies.schema import schemas

INTRO = """# Programme YAML reference

Generated from crossgen's models by `crossgen schema --reference docs/reference.md`; do not edit by hand.
A programme is three files in one folder. Check them with `crossgen validate --config DIR`, which also checks
what a schema cannot (references between files, windows against durations, dates, mailbox domains).
Guides and examples: [leads.md](leads.md).
"""

# A policy key is optional in the file (it may come from ``extends``); its default applies at the end.
_POLICY_DEFAULTS = {k: v for k, v in DEFAULTS.items() if not k.startswith("protect.")}
_PROTECT_DEFAULTS = {k.split(".", 1)[1]: v for k, v in DEFAULTS.items() if k.startswith("protect.")}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _type(spec: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in spec:
        return f"[{spec['$ref'].rsplit('/', 1)[-1]}](#{spec['$ref'].rsplit('/', 1)[-1].lower()})"
    if "anyOf" in spec:
        kinds = [_type(s, defs) for s in spec["anyOf"] if s.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}), defs)}"
    if kind == "object":
        patterned = list(spec.get("patternProperties", {}).values())
        values = spec.get("additionalProperties") or (patterned[0] if patterned else None)
        if isinstance(values, dict):
            keyed_by_address = any("@" in pattern for pattern in spec.get("patternProperties", {}))
            key = "address" if keyed_by_address else "name"
            return f"map of {key} to {_type(values, defs)}"
    if spec.get("format") == "date":
        return "date"
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    return str(kind)


def _examples(spec: dict[str, Any]) -> list[str]:
    for candidate in [spec, *spec.get("anyOf", [])]:
        if "examples" in candidate:
            return [str(e) for e in candidate["examples"]]
    return []


def _default(name: str, spec: dict[str, Any], section: str) -> str:
    if section == "PolicySection" and name in _POLICY_DEFAULTS:
        value = _POLICY_DEFAULTS[name]
    elif section == "ProtectSection" and name in _PROTECT_DEFAULTS:
        value = _PROTECT_DEFAULTS[name]
    elif "default" in spec and spec["default"] not in (None, [], {}, ""):
        value = spec["default"]
    else:
        return ""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def _table(title: str, spec: dict[str, Any], defs: dict[str, Any], level: str) -> list[str]:
    lines = [f"{level} {title}", ""]
    if spec.get("description"):
        lines += [spec["description"], ""]
    required = set(spec.get("required", []))
    lines += ["| key | type | required | default | meaning |", "|---|---|---|---|---|"]
    for name, field in spec.get("properties", {}).items():
        examples = _examples(field)
        meaning = field.get("description", "")
        if examples:
            meaning += (" " if meaning else "") + "e.g. " + ", ".join(f"`{e}`" for e in examples)
        lines.append(
            f"| `{name}` | {_cell(_type(field, defs))} | {'yes' if name in required else ''} | "
            f"{_cell(_default(name, field, title))} | {_cell(meaning)} |"
        )
    return [*lines, ""]


def render_reference() -> str:
    out = [INTRO]
    for file_name, schema in schemas().items():
        defs = schema.get("$defs", {})
        yaml_name = file_name.replace(".schema.json", ".yaml")
        out += [f"## `{yaml_name}`", ""]
        out += _table(f"{yaml_name}: top level", {**schema, "description": ""}, defs, "###")
        for name in sorted(defs):
            out += _table(name, defs[name], defs, "###")
    return "\n".join(out).rstrip() + "\n"

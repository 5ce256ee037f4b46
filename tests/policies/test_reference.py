"""The leads' YAML reference is generated from the models and kept up to date."""

from pathlib import Path

from worker.policies.reference import render_reference

ROOT = Path(__file__).resolve().parents[2]


def test_committed_reference_matches_the_models() -> None:
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    regenerate = "crossgen schema --out config/schema --reference docs/reference.md"
    assert committed == render_reference(), f"run: {regenerate}"


def test_every_policy_key_and_its_default_is_documented() -> None:
    text = render_reference()
    keys = ("cadence", "duration", "sessions", "on_conflict", "freeze", "max_moves", "agenda_lead")
    for key in keys:
        assert f"| `{key}` |" in text
    assert "| `freeze` | " in text and "`24h`" in text

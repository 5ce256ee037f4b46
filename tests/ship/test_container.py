"""The image, read statically from the Dockerfile: what it runs, as whom, and where it may write.

No Docker engine runs on our machines or in CI, so these tests hold the Dockerfile to the promises the
IT guide makes (docs/it.md, "The image") and that the Kubernetes manifests rely on.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.ship.dockerfile import Stage, exec_form, stages
from tests.ship.markdown import table_under
from tests.ship.tools import DOCKERFILE, DOCS, ROOT, run_tool, tool


@pytest.fixture(scope="module")
def final() -> Stage:
    return stages(DOCKERFILE)[-1]


@pytest.fixture(scope="module")
def promised() -> dict[str, str]:
    rows = table_under(DOCS / "it.md", "The image")
    return {row["property"]: row["value"] for row in rows}


def test_hadolint_finds_nothing() -> None:
    result = run_tool(tool("hadolint"), "--no-color", DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_checkov_passes_the_dockerfile_with_every_skip_justified() -> None:
    result = run_tool(
        tool("checkov"),
        "--file",
        DOCKERFILE,
        "--framework",
        "dockerfile",
        "--skip-download",
        "--output",
        "json",
        "--compact",
    )
    report = json.loads(result.stdout)
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped["check_id"]


def test_image_is_built_in_two_stages_on_one_pinned_slim_base() -> None:
    parsed = stages(DOCKERFILE)
    assert len(parsed) == 2
    build, final = parsed
    assert build.base == final.base, "the copied venv links to the base image's interpreter"
    assert final.base.startswith("python:3.11-slim"), final.base
    assert ":latest" not in final.base
    copies = [i.value for i in final.all("COPY")]
    assert any(c.startswith(f"--from={build.name} /opt/crossgen /opt/crossgen") for c in copies), copies
    assert not any("--from" not in c for c in copies), "the final stage takes nothing from the build context"


def test_final_stage_runs_as_a_numeric_non_root_user(final: Stage, promised: dict[str, str]) -> None:
    user = final.last("USER").value
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit(), f"USER {user}: Kubernetes runAsNonRoot can only verify numbers"
    assert int(uid) >= 10000 and int(gid) >= 10000, "a high uid maps to no user on the host"
    assert user == promised["user"]


def test_entrypoint_and_command_are_what_the_it_guide_says(final: Stage, promised: dict[str, str]) -> None:
    assert exec_form(final.last("ENTRYPOINT")) == json.loads(promised["entrypoint"]) == ["crossgen"]
    command = exec_form(final.last("CMD"))
    assert command == json.loads(promised["command"])
    assert command[:1] == ["run"] and command[command.index("--config") + 1] == promised["config path"]


def test_python_writes_no_bytecode_and_state_goes_to_the_documented_volume(
    final: Stage, promised: dict[str, str]
) -> None:
    env = final.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["CROSSGEN_STATE"] == promised["state path"]
    assert env["PATH"].startswith("/opt/crossgen/bin:")


def test_image_carries_oci_labels(final: Stage) -> None:
    labels = " ".join(i.value for i in final.all("LABEL"))
    for key in ("title", "description", "version", "licenses", "source", "revision"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_build_context_excludes_everything_but_the_package() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "allow-list: secrets, .git and .venv can never slip into the context"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for instruction in stages(DOCKERFILE)[0].all("COPY"):
        copied.update(instruction.value.split()[:-1])
    assert copied <= allowed, copied - allowed


def test_every_data_file_of_the_package_ships_in_the_image() -> None:
    """The image installs the package non-editable, so a data file outside package-data would be missing."""
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    data = [
        p.relative_to(ROOT)
        for p in (ROOT / "worker").rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts
    ]
    missing = [str(p) for p in data if not any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns)]
    assert missing == [], f"add their patterns to [tool.setuptools.package-data]: {missing}"


def test_readme_names_the_same_image_paths_as_the_it_guide(promised: dict[str, str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"/(?:etc|var/lib)/[\w.-]+", readme))
    assert mentioned <= {promised["config path"], promised["state path"]}, mentioned
    assert "docs/it.md" in readme, "the README should send IT to their guide"

"""The image's lock files, read statically: every runtime dependency pinned and hashed, nothing from the
sandbox extra, and the Dockerfile installing exactly that with pip's --require-hashes.

scripts/lock.sh writes the locks (it needs the network); these tests only read them, so a dependency added
to pyproject.toml without re-running the script fails here rather than in an image build.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.ship.dockerfile import stages
from tests.ship.tools import DOCKERFILE, ROOT

LOCK = ROOT / "requirements.lock"
SBOM_LOCK = ROOT / "requirements-sbom.lock"


def pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip-compile --generate-hashes file."""
    text = path.read_text(encoding="utf-8")
    logical = re.sub(r"\\\n\s*", " ", text)
    found: dict[str, tuple[str, list[str]]] = {}
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = line.split(" --hash=")
        name, _, version = spec.strip().partition("==")
        assert version, f"not pinned: {line[:80]}"
        found[canonicalize_name(name)] = (version.strip(), [o.strip() for o in options])
    return found


def project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


def test_every_locked_distribution_is_pinned_and_hashed() -> None:
    for path in (LOCK, SBOM_LOCK):
        locked = pins(path)
        assert locked, path.name
        for name, (_, hashes) in locked.items():
            assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), (path.name, name)
        assert "--generate-hashes" in path.read_text(encoding="utf-8").split("\n#\n", 2)[1]


def test_the_lock_covers_every_runtime_dependency_at_an_allowed_version() -> None:
    locked = pins(LOCK)
    for raw in project()["dependencies"]:  # type: ignore[attr-defined]
        requirement = Requirement(raw)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run scripts/lock.sh"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (name, version, str(requirement))


def test_the_image_lock_leaves_the_sandbox_web_server_out() -> None:
    locked = pins(LOCK)
    sandbox = project()["optional-dependencies"]["sandbox"]  # type: ignore[index]
    assert sandbox, "the sandbox's server packages are an extra"
    for raw in sandbox:
        assert canonicalize_name(Requirement(raw).name) not in locked, raw
    runtime = {canonicalize_name(Requirement(r).name) for r in project()["dependencies"]}  # type: ignore[attr-defined]
    assert not runtime & {"starlette", "uvicorn"}


def test_the_dockerfile_installs_the_lock_with_hashes_and_writes_an_sbom() -> None:
    build = stages(DOCKERFILE)[0]
    runs = " ".join(i.value for i in build.all("RUN"))
    assert "--require-hashes --no-deps -r requirements.lock" in runs
    assert "--require-hashes --no-deps -r requirements-sbom.lock" in runs
    # crossgen itself: nothing resolved from an index, the build backend from the lock.
    assert re.search(r"pip install --no-cache-dir --no-deps --no-build-isolation /src", runs)
    assert "pip check" in runs
    assert re.search(
        r"cyclonedx-py environment .* -o /opt/crossgen/sbom\.cdx\.json /opt/crossgen/bin/python", runs
    )
    assert "cyclonedx-bom" in pins(SBOM_LOCK)
    assert "setuptools" in pins(LOCK), "the build backend is locked too (scripts/lock.sh --build-deps-for)"
    copies = " ".join(i.value for i in build.all("COPY"))
    assert "requirements.lock" in copies and "requirements-sbom.lock" in copies

#!/usr/bin/env bash
# Regenerate the image's lock files from their inputs, every distribution pinned and hashed:
#   requirements.lock       crossgen's runtime dependencies ([project.dependencies] of pyproject.toml; no
#                           extras, so not the sandbox's web server), installed by the Dockerfile with
#                           pip's --require-hashes;
#   requirements-sbom.lock  the SBOM generator the Docker build runs (scripts/sbom-tool.in).
# Run it after changing either input, with the Python the image uses (3.11), and commit the results:
#   scripts/lock.sh            (or PYTHON=/path/to/python3.11 scripts/lock.sh)
# tests/ship/test_lock.py checks that the lock still covers pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "run with Python 3.11, as the image does")'
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"$python" -m venv "$tools"
"$tools/bin/pip" install --quiet pip-tools==7.6.2
compile=(
  "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras
  --no-emit-index-url --no-emit-find-links --newline=lf
)
# --build-deps-for=wheel: setuptools too, so the image builds crossgen itself from hashed files
# (pip install --no-build-isolation) instead of fetching an unpinned backend at build time.
"${compile[@]}" --build-deps-for=wheel --output-file requirements.lock pyproject.toml
"${compile[@]}" --output-file requirements-sbom.lock scripts/sbom-tool.in

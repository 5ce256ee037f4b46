# syntax=docker/dockerfile:1
#
# crossgen's container image: the worker and nothing else, run once per CronJob tick.
#
# Two stages on the same base: the first builds a virtual environment in /opt/crossgen, the second copies
# it in, so the runtime image carries no compiler, no pip cache and no source tree.
#
# Reproducible: the dependencies come from requirements.lock (scripts/lock.sh writes it from
# pyproject.toml), every distribution pinned and checked against its hash (pip --require-hashes), and
# crossgen itself is built with the locked setuptools, nothing fetched unpinned. The lock holds the runtime
# dependencies only: the sandbox's web server (the `sandbox` extra) is not in the image. The build also
# writes an SBOM of the installed environment (CycloneDX JSON, by cyclonedx-py from its own locked venv
# that stays in the build stage) to /opt/crossgen/sbom.cdx.json. The runtime runs as a
# numeric non-root user (10001, as deploy/kubernetes expects) and writes nowhere but two mounted paths:
#   /var/lib/crossgen  the worker's state (CROSSGEN_STATE), a cache that may be lost at any time
#   /tmp               scratch space
# so it works with readOnlyRootFilesystem. The programme YAML is mounted read-only at /etc/crossgen.
#
# Both stages name the same base so the venv's interpreter link (/usr/local/bin/python3.11) holds; pin it
# by digest in your own registry if your policy asks for that (docs/it.md, "The image").
#
# No HEALTHCHECK: the container is a run-to-completion job (`crossgen run` does one reconcile pass and
# exits with 0, 1 or 2); there is no long-lived process to probe, and the Job's exit code is the health.
# checkov:skip=CKV_DOCKER_2: run-to-completion CronJob container, no long-lived process to health-check
#
# Build:  docker build --build-arg REVISION="$(git rev-parse HEAD)" --build-arg SOURCE=<repository URL> \
#           -t crossgen:0.1.0 .
# Run:    docker run --rm --read-only --tmpfs /tmp -v crossgen-state:/var/lib/crossgen \
#           -v "$PWD/config:/etc/crossgen:ro" -v "$PWD/client-secret.txt:/run/secrets/client-secret:ro" \
#           -e AZURE_TENANT_ID -e AZURE_CLIENT_ID -e AZURE_CLIENT_SECRET_FILE=/run/secrets/client-secret \
#           crossgen:0.1.0 plan --config /etc/crossgen

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/crossgen \
 && python -m venv /opt/sbom
# The locked dependencies first, in a layer that changes only with the lock files.
COPY requirements.lock requirements-sbom.lock ./
RUN /opt/crossgen/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock \
 && /opt/sbom/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements-sbom.lock
# pyproject.toml names README.md as the package's readme, so the build needs it.
COPY pyproject.toml README.md ./
COPY worker ./worker
# A regular (non-editable) install: the runtime stage gets the package inside the venv, not a link to /src.
# pip compiles the .pyc files here (PYTHONDONTWRITEBYTECODE does not stop that), so nothing is written
# at run time. --no-deps: everything it needs is already installed from the lock (pip check proves it).
RUN /opt/crossgen/bin/pip install --no-cache-dir --no-deps --no-build-isolation /src \
 && /opt/crossgen/bin/pip check \
 && /opt/sbom/bin/cyclonedx-py environment --pyproject pyproject.toml --output-reproducible \
      --of JSON -o /opt/crossgen/sbom.cdx.json /opt/crossgen/bin/python

FROM python:3.11-slim-bookworm AS runtime
ARG VERSION=0.1.0
# Where the image's source is, and at which commit: pass them at build time (see Build above).
ARG SOURCE=unknown
ARG REVISION=unknown
LABEL org.opencontainers.image.title="crossgen" \
      org.opencontainers.image.description="Self-hosted worker that runs reverse-mentoring programmes inside Microsoft 365" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="docs/it.md" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}"

RUN groupadd --system --gid 10001 crossgen \
 && useradd --system --no-log-init --uid 10001 --gid 10001 --home-dir /var/lib/crossgen \
      --no-create-home --shell /usr/sbin/nologin crossgen \
 && mkdir -p /var/lib/crossgen /etc/crossgen \
 && chown 10001:10001 /var/lib/crossgen

COPY --from=build /opt/crossgen /opt/crossgen

ENV PATH="/opt/crossgen/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/crossgen \
    CROSSGEN_STATE=/var/lib/crossgen

WORKDIR /var/lib/crossgen
USER 10001:10001

ENTRYPOINT ["crossgen"]
CMD ["run", "--config", "/etc/crossgen"]

"""``crossgen sandbox serve``: the Graph-compatible sandbox as an HTTP server on loopback.

It prints one JSON line on stdout once the socket is listening (``graph_url``, ``token_url``,
``tenant_id``, ``client_id``, ``client_secret`` and ``env``, the variables under which ``crossgen plan``
and ``crossgen run`` use it), then serves until stopped. Scripts read that line to know where to point
the worker; nothing else is written to stdout. The secret is the sandbox's own, generated for a
throwaway tenant: printing it is the point, and it opens nothing outside this process.

On stderr it then says who is in the tenant (name, address, title, time zone), so a person trying
`plan` and `run` by hand knows whom a pairs.yaml may name.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

# A DNS name of at least two labels (letters, digits, inner hyphens), as a tenant's custom domain is.
_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.I)


def roster(tenant: Any) -> list[str]:
    """Who is in the tenant, one line each, for stderr: "Jean Dubois <jean.dubois@contoso.com>, ..."."""
    from worker.core.words import plural

    users = sorted(tenant.users.values(), key=lambda u: u.address)
    lines = [f"The sandbox tenant holds {plural(len(users), 'person', 'people')}:"]
    for user in users:
        details = [d for d in (user.job_title, user.settings.get("timeZone")) if d]
        if not user.has_mailbox:
            details.append("no mailbox")
        lines.append(
            f"  {user.display_name} <{user.address}>" + (f", {', '.join(details)}" if details else "")
        )
    return lines


@click.group("sandbox")
def sandbox() -> None:
    """The Graph-compatible sandbox tenant (no Microsoft account needed)."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the demo tenant and of faults.")
@click.option("--empty", is_flag=True, help="Start with no users: build the tenant with Graph calls.")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    metavar="NAME",
    help="A domain the tenant verifies (repeatable; the first is the default; default contoso.com). "
    "Users may be created at these addresses; GET /organization and GET /domains show them.",
)
@click.option(
    "--faults",
    "faults_json",
    default=None,
    metavar="JSON",
    help="Limits and faults to start with, e.g. '{\"latency_seconds\": [0.01, 0.05]}' "
    "(the knobs of /_sandbox/faults).",
)
def serve(
    host: str, port: int, seed: int, empty: bool, domains: tuple[str, ...], faults_json: str | None
) -> None:
    """Serve the sandbox until stopped; the first stdout line is the connection info as JSON."""
    from worker.commands.common import require_sandbox

    require_sandbox("sandbox serve")
    import uvicorn

    from worker.sandbox.app import create_app, settle_for_serving
    from worker.sandbox.faults import FaultConfig, FaultConfigError

    faults = FaultConfig()
    if faults_json:
        try:
            changes = json.loads(faults_json)
            if not isinstance(changes, dict):
                raise FaultConfigError("a JSON object is expected")
            faults.update(changes)
        except (ValueError, TypeError, FaultConfigError) as err:
            raise click.BadParameter(str(err), param_hint="--faults") from err
    for name in domains:
        if not _DOMAIN.fullmatch(name):
            raise click.BadParameter(
                f"{name!r} is not a domain name such as fabrikam.com", param_hint="--domain"
            )
    app = create_app(seed=seed, empty=empty, faults=faults, domains=domains)
    base_url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
    info = app.info(base_url)
    settle_for_serving()

    class AnnouncingServer(uvicorn.Server):
        """Prints the connection line only once the socket is bound, so readers can connect at once."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                sys.stdout.write(json.dumps(info) + "\n")
                sys.stdout.flush()
                sys.stderr.write("\n".join(roster(app.tenant)) + "\n")
                sys.stderr.flush()

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    server = AnnouncingServer(config)
    server.run()
    if not server.started:
        raise click.ClickException(f"could not listen on {host}:{port}")

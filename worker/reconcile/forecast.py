"""``crossgen forecast``: the pass ``crossgen plan`` runs, read as a forecast.

No model of its own: the programme is read as a dry run reads it (observe, then the planner, with the
slot engine's ``find_series`` for each pair without a series) and ``worker.core.forecast`` reads the
plan. So the forecast is, pair by pair, what the next ``run`` books from the same calendars. With
``policy`` (a what-if) every pair is given that policy first; a pair already booked under another
then shows the series it would be re-cut to.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from worker.core.forecast import Forecast, forecast

if TYPE_CHECKING:
    from worker.graph.gateway import Gateway
    from worker.policies.programme import Programme


class UnknownPolicy(ValueError):
    """``--policy`` names no policy of ``policies.yaml``."""


def with_policy(programme: Programme, name: str) -> Programme:
    """``programme`` with every pair under policy ``name``."""
    if name not in programme.policies:
        known = ", ".join(sorted(programme.policies))
        raise UnknownPolicy(f"{name!r} is not a policy of policies.yaml; expected one of: {known}")
    pairs = tuple(dataclasses.replace(p, policy=name) for p in programme.pairs)
    return dataclasses.replace(programme, pairs=pairs)


async def forecast_programme(
    config_dir: Path,
    *,
    gateway: Gateway,
    now: datetime,
    programme: Programme | None = None,
    policy: str | None = None,
    state_path: Path | None = None,
) -> Forecast:
    from worker.policies.load import load_programme
    from worker.reconcile.run import reconcile

    if programme is None:
        programme = load_programme(config_dir)
    if policy is not None:
        programme = with_policy(programme, policy)
    result = await reconcile(
        config_dir, gateway=gateway, now=now, dry_run=True, programme=programme, state_path=state_path
    )
    people = list(
        dict.fromkeys(a for p in result.desired.pairs for a in (p.mentor.address, p.mentee.address))
    )
    names = await directory_names(gateway, people)
    return forecast(result.desired, result.observed, result.plan, now=now, policy=policy, names=names)


async def directory_names(gateway: Gateway, people: list[str]) -> dict[str, str]:
    """People's display names as the directory gives them (a few bulk reads); anyone the directory could
    not give keeps the programme's name for them."""
    from worker.graph.errors import AuthError, GraphError

    users: dict[str, dict[str, object]] = {}
    try:
        await gateway.manager_chains(people, errors={}, profiles=users)
    except AuthError:
        raise
    except GraphError:
        return {}
    names = {a: u.get("displayName") for a, u in users.items()}
    return {a: n.strip() for a, n in names.items() if isinstance(n, str) and n.strip()}

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
    from worker.reconcile.run import dry_run_to_programme_end

    if programme is None:
        programme = load_programme(config_dir)
    if policy is not None:
        programme = with_policy(programme, policy)
    # Our sessions are read to the programme's end, so a booked pair is forecast from its calendar
    # (sessions moved within their week included), not only over the free/busy horizon.
    result = await dry_run_to_programme_end(
        config_dir, gateway=gateway, now=now, programme=programme, state_path=state_path
    )
    # result.desired names people as the directory does (the pass read their displayName with the
    # users it reads anyway), so the forecast needs no read of its own for names.
    return forecast(result.desired, result.observed, result.plan, now=now, policy=policy)

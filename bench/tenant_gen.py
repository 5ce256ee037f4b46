"""Generate a benchmark tenant and programme: N pairs across 2N people in a handful of zones.

The people get Outlook working hours in their own zone and a few recurring meetings of their own (so
free/busy is not empty); the programme is the example's policies with the pairs spread over several
organiser mailboxes (``program.organizer`` as a list). Everything is seeded.
"""

from __future__ import annotations

import random
import shutil
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from worker.sandbox.store import Tenant, User

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "contoso.com"
# (IANA zone, Windows name Outlook would show, share of people)
ZONES = [("Europe/Paris", "Romance Standard Time", 5), ("Europe/London", "GMT Standard Time", 2),
         ("America/New_York", "Eastern Standard Time", 2)]
MEETINGS_PER_PERSON = 4  # weekly recurring meetings of their own


def _zone(rng: random.Random) -> str:
    return rng.choices([z for z, _, _ in ZONES], weights=[w for _, _, w in ZONES])[0]


def people(n_pairs: int) -> list[tuple[str, str]]:
    """(mentor, mentee) addresses: everyone in exactly one pair."""
    return [(f"mentor{i:05d}@{DOMAIN}", f"mentee{i:05d}@{DOMAIN}") for i in range(n_pairs)]


def organizers(n_pairs: int) -> list[str]:
    """One programme mailbox per 500 pairs (at least one)."""
    return [f"mentoring{i}@{DOMAIN}" for i in range(max(1, n_pairs // 500))]


def _user(tenant: Tenant, address: str, zone: str, *, working: bool = True) -> User:
    settings: dict[str, Any] = {"timeZone": zone}
    if working:
        settings["workingHours"] = {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:30:00.0000000", "endTime": "17:30:00.0000000", "timeZone": {"name": zone},
        }
    name = " ".join(p.capitalize() for p in address.split("@")[0].replace(".", " ").split())
    return tenant.add_user(User(id=tenant.new_guid(), upn=address, display_name=name, mail=address,
                                settings=settings))


def _meetings(ctx: Any, user: User, zone: str, rng: random.Random, start: datetime) -> None:
    """A few weekly meetings of the person's own, created as the seeded demo tenant creates its own."""
    from worker.sandbox.seed import _event, _weekly

    for _ in range(MEETINGS_PER_PERSON):
        day = start.date() + timedelta(days=rng.randrange(5))
        at = time(rng.choice([9, 10, 11, 14, 15, 16]))
        _event(ctx, user, zone, subject="Team meeting", day=day, clock=at, minutes=rng.choice([30, 60]),
               recurrence=_weekly([day.strftime("%A").lower()], day))


def tenant(n_pairs: int, *, seed: int = 0, start: datetime) -> Tenant:
    rng = random.Random(f"bench-tenant-{seed}")  # seeded benchmark data
    from worker.sandbox.seed import _SeedCtx

    built = Tenant(seed=seed, domain=DOMAIN)
    ctx = _SeedCtx(built)
    for address in [*organizers(n_pairs), f"people.lead@{DOMAIN}"]:
        _user(built, address, "Europe/Paris", working=False)
    for mentor, mentee in people(n_pairs):
        for address in (mentor, mentee):
            zone = _zone(rng)
            _meetings(ctx, _user(built, address, zone), zone, rng, start)
    return built


def programme(n_pairs: int, folder: Path, *, blackouts: bool = True) -> Path:
    """The example programme's policies and blackouts (or none), with N generated pairs and several
    organisers."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(ROOT / "config", folder)
    if not blackouts:
        _drop_blackouts(folder / "policies.yaml")
    program = (folder / "program.yaml").read_text(encoding="utf-8")
    boxes = ", ".join(organizers(n_pairs))
    program = program.replace("organizer: mentoring@contoso.com", f"organizer: [{boxes}]")
    program = program.replace("Contoso Reverse Mentoring 2027", f"Bench {n_pairs} pairs")
    (folder / "program.yaml").write_text(program, encoding="utf-8")
    lines = ["pairs:"]
    for mentor, mentee in people(n_pairs):
        lines += [f"  - mentor: {mentor}", f"    mentee: {mentee}"]
    (folder / "pairs.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _drop_blackouts(path: Path) -> None:
    """The policies without their top-level ``blackouts:`` list (its indented lines go with it)."""
    kept: list[str] = []
    skipping = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("blackouts:"):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "#")) or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")

"""The demo tenant: who is there, how their mailboxes are set, and that a seed always gives the same one."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.sandbox.sandbox_client import Graph, run
from worker.sandbox import seed as seed_module
from worker.sandbox.app import create_app
from worker.sandbox.seed import demo_tenant

PAIRS = [
    "lea.martin",
    "jean.dubois",
    "hugo.bernard",
    "claire.petit",
    "amina.diallo",
    "robert.lefevre",
    "tom.nguyen",
    "sophie.moreau",
]


def _chain(tenant, handle: str) -> list[str]:  # type: ignore[no-untyped-def]
    user, out = tenant.find_user(f"{handle}@contoso.com"), []
    while user.manager_id:
        user = tenant.users[user.manager_id]
        out.append(user.upn.split("@")[0])
    return out


def test_everyone_in_the_example_programme_is_there_with_colleagues_worldwide() -> None:
    tenant = demo_tenant(seed=0)
    for handle in [*PAIRS, "mentoring", "people.lead"]:
        assert tenant.mailbox(tenant.find_user(f"{handle}@contoso.com")) is not None, handle
    zones = {u.settings["timeZone"] for u in tenant.users.values()}
    assert {
        "Romance Standard Time",
        "Europe/Paris",
        "Eastern Standard Time",
        "AUS Eastern Standard Time",
        "India Standard Time",
        "Asia/Kathmandu",
        "Singapore Standard Time",
    } <= zones
    custom = [
        u
        for u in tenant.users.values()
        if u.settings["workingHours"]["timeZone"]["name"] == "Customized Time Zone"
    ]
    assert len(custom) == 1
    assert tenant.mailbox(tenant.find_user("external.auditor@contoso.com")) is None  # type: ignore[arg-type]
    assert len(tenant.users) >= 18


def test_configured_pairs_are_clear_of_each_others_chains_but_a_reporting_line_exists() -> None:
    tenant = demo_tenant(seed=0)
    pairs = yaml.safe_load((Path(__file__).parent / "graph_examples" / "pairs.yaml").read_text())["pairs"]
    for pair in pairs:
        mentor, mentee = pair["mentor"].split("@")[0], pair["mentee"].split("@")[0]
        assert mentee not in _chain(tenant, mentor) and mentor not in _chain(tenant, mentee), pair
    assert _chain(tenant, "hugo.bernard")[0] == "robert.lefevre"


def test_a_seed_gives_the_same_tenant_and_another_seed_other_calendars() -> None:
    def fingerprint(seed: int) -> list[tuple[str, str, str, str]]:
        seed_module._pristine.cache_clear()  # build it again, not from the cached copy
        tenant = demo_tenant(seed=seed)
        return sorted(
            (e.id, e.props["subject"], e.start_utc.isoformat(), (e.online_meeting or {}).get("joinUrl", ""))
            for box in tenant.mailboxes.values()
            for e in box.events.values()
        )

    first = fingerprint(3)
    assert first == fingerprint(3)
    assert first != fingerprint(4)
    assert len(first) > 1000


def test_realistic_weeks_show_in_free_busy_and_empty_means_empty() -> None:
    app = create_app(seed=0)

    async def scenario() -> None:
        async with Graph(app) as graph:
            response = await graph.post(
                "/users/mentoring@contoso.com/calendar/getSchedule",
                {
                    "schedules": [f"{h}@contoso.com" for h in PAIRS],
                    "startTime": {"dateTime": "2027-03-01T00:00:00", "timeZone": "Europe/Paris"},
                    "endTime": {"dateTime": "2027-04-12T00:00:00", "timeZone": "Europe/Paris"},
                    "availabilityViewInterval": 30,
                },
            )
            assert response.status_code == 200
            for info in response.json()["value"]:
                assert len(info["availabilityView"]) == 42 * 48 - 2  # Paris springs forward on 28 March
                assert info["scheduleItems"], info["scheduleId"]
                assert set(info["availabilityView"]) >= {"0", "2"}
            statuses = {i["status"] for v in response.json()["value"] for i in v["scheduleItems"]}
            assert statuses >= {"busy", "tentative", "oof"}
            assert any(i["isPrivate"] for v in response.json()["value"] for i in v["scheduleItems"])

    run(scenario())
    assert create_app(empty=True).tenant.users == {}


def test_each_call_gets_its_own_copy_of_the_seeded_tenant() -> None:
    first, second = demo_tenant(seed=0), demo_tenant(seed=0)
    lea = first.find_user("lea.martin@contoso.com")
    assert lea is not None
    box = first.mailbox(lea)
    assert box is not None
    box.events.clear()
    other = second.mailbox(second.find_user("lea.martin@contoso.com"))  # type: ignore[arg-type]
    assert other is not None and other.events
    assert first.new_guid() == second.new_guid()  # and the same ids from here on

"""Hostile text where people type it: HTML in a name, a topic and the programme's name, an OData quote
in an address (o'brien@contoso.com), and addresses outside the programme's mailbox domains."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.reliability.harness import ORGANIZER, World, audit, play
from worker.policies.errors import ConfigError
from worker.sandbox.store import User

OBRIEN = "o'brien@contoso.com"
EVIL_NAME = '<script>alert("name")</script> Siobhán O\'Brien & Co'
EVIL_TOPIC = '<img src=x onerror=alert(1)> it\'s "quoted" & <b>bold</b>'
RAW = re.compile(r"<script|<img|<b>bold", re.I)  # escaped text (&lt;img ... onerror=) is harmless

PAIRS = f"""pairs:
  - mentor: "{OBRIEN}"
    mentee: jean.dubois@contoso.com
    topics: ['{EVIL_TOPIC.replace("'", "''")}', "plain topic"]
  - mentor: priya.sharma@contoso.com
    mentee: robert.lefevre@contoso.com
"""


def add_obrien(w: World) -> None:
    lea = w.app.tenant.find_user("lea.martin@contoso.com")
    settings = {**lea.settings, "workingHours": dict(lea.settings["workingHours"])}
    w.app.tenant.add_user(User(id=w.app.tenant.new_guid(), upn=OBRIEN, display_name=EVIL_NAME, mail=OBRIEN,
                               settings=settings))


def test_quotes_and_html_in_addresses_names_and_topics_are_carried_safely(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        add_obrien(w)
        w.edit("program.yaml", "name: Contoso Reverse Mentoring 2027",
               "name: \"Contoso <i>Reverse</i> Mentoring 2027 & 'friends'\"")
        result = await w.run()
        assert not result.pair_errors and result.summary()["booked"] == 2, result.plan.statuses
        (obrien_series,) = [s for s in await w.series() if OBRIEN in {a.address for a in s.attendees}]
        body = (await w.person.call("GET", f"/users/{ORGANIZER}/events/{obrien_series.id}",
                                    params={"$select": "subject,body"}))
        assert "&lt;img src=x onerror=alert(1)&gt;" in body["body"]["content"]
        assert not RAW.search(body["body"]["content"]) and not RAW.search(body["subject"])
        assert "<i>Reverse" not in body["body"]["content"]

        w.at(w.time.now.replace(month=3, day=1))
        later = await w.run()
        assert not later.pair_errors
        mails = await w.person.call("GET", f"/users/{ORGANIZER}/mailFolders/sentitems/messages",
                                    params={"$select": "subject,body,toRecipients", "$top": "200"})
        to_obrien = [m for m in mails["value"]
                     if m["toRecipients"][0]["emailAddress"]["address"].lower() == OBRIEN]
        assert to_obrien, "the person with a quote in their address gets their feedback emails"
        for mail in mails["value"]:
            assert not RAW.search(mail["body"]["content"]), mail["subject"]
        found = await audit(w)
        assert found.clean, found

    play(tmp_path, scenario, pairs=PAIRS)


def test_addresses_outside_the_mailbox_domains_are_refused_before_any_request(tmp_path: Path) -> None:
    pairs = "pairs:\n  - mentor: lea.martin@contoso.com\n    mentee: ceo@fabrikam.com\n"

    async def scenario(w: World) -> None:
        with pytest.raises(ConfigError, match=r"fabrikam\.com"):
            await w.run()
        assert w.sent == []

    play(tmp_path, scenario, pairs=pairs)


def test_a_manager_outside_the_domains_is_never_opened_nor_written_to(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        tenant = w.app.tenant
        outsider = tenant.add_user(User(id=tenant.new_guid(), upn="partner#EXT#@contoso.onmicrosoft.com",
                                        display_name="External Partner", mail="partner@fabrikam.com"))
        tenant.find_user("jean.dubois@contoso.com").manager_id = outsider.id
        w.at(w.time.now.replace(month=3, day=1))
        await w.run()
        await w.run()
        mailbox_calls = [s for s in w.sent if "fabrikam" in s.url.lower() and not s.url.endswith("/manager")]
        assert mailbox_calls == []
        for series in await w.series():
            assert all(a.address.endswith("@contoso.com") for a in series.attendees)
        for mail in await w.sent_items():
            assert all(r["emailAddress"]["address"].endswith("@contoso.com") for r in mail["toRecipients"])

    play(tmp_path, scenario)

"""The run lease: the first mailbox taken gates the rest, which are taken at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from worker.graph.errors import AuthError, Forbidden, Transient
from worker.reconcile import lease

NOW = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)


class FakeMailboxes:
    """take_lease / leases / delete_event over in-memory markers; each call yields, so calls overlap."""

    def __init__(
        self,
        *,
        rivals: dict[str, str] | None = None,
        unavailable: set[str] = frozenset(),
        failing: dict[str, Exception] | None = None,
    ) -> None:
        self.markers: dict[str, list[tuple[str, datetime, str, datetime]]] = {}
        self.log: list[str] = []
        self.unavailable = unavailable
        self.failing = failing or {}  # mailbox -> what its listing raises
        for mailbox, holder in (rivals or {}).items():
            self.markers[mailbox] = [
                ("rival-marker", NOW - timedelta(minutes=1), holder, NOW + timedelta(minutes=9))
            ]

    async def take_lease(
        self, mailbox: str, *, name: str, holder: str, until: datetime, now: datetime
    ) -> str:
        self.log.append(f"take {mailbox}")
        await asyncio.sleep(0)
        if mailbox in self.unavailable:
            raise Forbidden("Access is denied.", method="POST", path=f"/users/{mailbox}/events")
        marker = f"{holder[:4]}-{mailbox}"
        self.markers.setdefault(mailbox, []).append((marker, now, holder, until))
        return marker

    async def leases(self, mailbox: str, *, name: str, now: datetime) -> list[Any]:
        await asyncio.sleep(0)
        if mailbox in self.failing:
            raise self.failing[mailbox]
        self.log.append(f"listed {mailbox}")
        return list(self.markers.get(mailbox, []))

    async def delete_event(self, mailbox: str, event_id: str) -> None:
        self.log.append(f"delete {mailbox}")
        self.markers[mailbox] = [m for m in self.markers.get(mailbox, []) if m[0] != event_id]


def _acquire(boxes: FakeMailboxes, *mailboxes: str) -> lease.Lease:
    return asyncio.run(lease.acquire(boxes, name="p", mailboxes=mailboxes, now=NOW))  # type: ignore[arg-type]


def test_the_first_mailbox_is_taken_alone_and_the_others_together() -> None:
    boxes = FakeMailboxes()
    held = _acquire(boxes, "c@x.com", "a@x.com", "b@x.com")
    assert held.held and held.exclusive(("a@x.com", "b@x.com", "c@x.com"))
    assert boxes.log[:2] == ["take a@x.com", "listed a@x.com"]
    assert boxes.log[2:4] == ["take b@x.com", "take c@x.com"], (
        "the rest at once: both taken before either listed"
    )


def test_a_rival_on_the_first_mailbox_is_met_before_any_other_is_touched() -> None:
    boxes = FakeMailboxes(rivals={"a@x.com": "someone-else"})
    held = _acquire(boxes, "b@x.com", "a@x.com")
    assert not held.held and held.rival == "a@x.com"
    assert boxes.log == ["take a@x.com", "listed a@x.com", "delete a@x.com"]
    assert [m[2] for m in boxes.markers["a@x.com"]] == ["someone-else"]


def test_a_rival_on_a_later_mailbox_makes_the_run_give_every_marker_back() -> None:
    boxes = FakeMailboxes(rivals={"c@x.com": "someone-else"})
    held = _acquire(boxes, "a@x.com", "b@x.com", "c@x.com")
    assert not held.held and held.rival == "c@x.com" and held.markers == []
    assert {m[2] for ms in boxes.markers.values() for m in ms} == {"someone-else"}


def test_a_mailbox_that_cannot_be_leased_passes_the_gate_to_the_next() -> None:
    boxes = FakeMailboxes(unavailable={"a@x.com"})
    held = _acquire(boxes, "a@x.com", "b@x.com", "c@x.com")
    assert held.held and not held.exclusive(("a@x.com", "b@x.com", "c@x.com"))
    assert boxes.log[:3] == ["take a@x.com", "take b@x.com", "listed b@x.com"]
    assert boxes.log[3:] == ["take c@x.com", "listed c@x.com"]


def test_a_listing_that_fails_gives_the_lease_up_rather_than_guess() -> None:
    # Our marker landed, but whether a rival's came first is unknown: the run writes nothing this time.
    boxes = FakeMailboxes(
        rivals={"a@x.com": "someone-else"},
        failing={"a@x.com": Transient("503 after the retries", method="GET", path="/users/a/events")},
    )
    held = _acquire(boxes, "a@x.com")
    assert not held.held and not held.exclusive(("a@x.com",))
    assert [m[2] for m in boxes.markers["a@x.com"]] == ["someone-else"], "our marker was given back"


def test_an_auth_error_while_taking_it_leaves_no_marker_behind() -> None:
    boxes = FakeMailboxes(failing={"c@x.com": AuthError("the token was revoked")})
    with pytest.raises(AuthError):
        _acquire(boxes, "a@x.com", "b@x.com", "c@x.com")
    assert all(not markers for markers in boxes.markers.values())

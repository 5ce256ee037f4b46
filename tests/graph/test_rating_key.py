"""The rating key comes from a secret the worker holds, never from the local state, and is never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.graph.errors import AuthError
from worker.graph.rating_key import rating_secret
from worker.graph.wire import inbox_message
from worker.log import scrub

KEY = "k" * 40


def test_a_configured_key_file_wins_and_is_never_the_credential_itself(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(KEY + "\n")
    env = {"CROSSGEN_RATING_KEY_FILE": str(tmp_path / "key"), "AZURE_CLIENT_SECRET": "s3cret-value"}
    secret = rating_secret(env)
    assert (
        secret.source == "CROSSGEN_RATING_KEY_FILE"
        and secret.key == rating_secret({"CROSSGEN_RATING_KEY": KEY}).key
    )
    assert KEY not in repr(secret) and secret.key is not None and KEY.encode() not in secret.key
    assert KEY not in scrub(f"oops {KEY}")  # registered with the log redactor as soon as it is read


def test_without_one_the_app_credential_gives_a_stable_derived_key_and_workload_identity_none() -> None:
    from_secret = rating_secret({"AZURE_CLIENT_SECRET": "s3cret-value"})
    assert from_secret.key == rating_secret({"AZURE_CLIENT_SECRET": "s3cret-value"}).key
    assert from_secret.key is not None and b"s3cret-value" not in from_secret.key
    assert rating_secret({"AZURE_CLIENT_SECRET": "other"}).key != from_secret.key
    assert rating_secret({"AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}).key is None


def test_a_short_or_unreadable_configured_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="at least 32"):
        rating_secret({"CROSSGEN_RATING_KEY": "short"})
    with pytest.raises(AuthError, match="cannot read"):
        rating_secret({"CROSSGEN_RATING_KEY_FILE": str(tmp_path / "missing")})


def test_an_inbox_message_is_read_from_its_from_address() -> None:
    message = inbox_message(
        {
            "id": "AAMk1",
            "subject": "Rating 4",
            "from": {"emailAddress": {"address": "lea@contoso.com", "name": "Léa"}},
            "sender": {"emailAddress": {"address": "lea@contoso.com"}},
            "receivedDateTime": "2027-02-01T09:00:00Z",
            "categories": ["crossgen rating"],
            "body": {"contentType": "text", "content": "Merci"},
        },
        "mentoring@contoso.com",
    )
    assert message is not None and (message.sender, message.categories, message.body) == (
        "lea@contoso.com",
        ("crossgen rating",),
        "Merci",
    )
    assert inbox_message({"id": "x", "receivedDateTime": "2027-02-01T09:00:00Z"}, "m@contoso.com") is None

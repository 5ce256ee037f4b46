"""Where the rating links' key comes from: a secret the worker already holds, never the local state.

The key seals each rating link (``worker.core.ratings``); whoever holds it can make links that verify.
It must survive deleting ``CROSSGEN_STATE`` (the mailbox is the truth, and links already sent must keep
verifying), so it is not generated and cached locally. In order:

1. ``CROSSGEN_RATING_KEY_FILE`` (a mounted Secret) or ``CROSSGEN_RATING_KEY``: at least 32 characters;
   the recommended way, as it outlives credential rotations;
2. else derived from the app's own credential, the client secret (``AZURE_CLIENT_SECRET_FILE`` /
   ``AZURE_CLIENT_SECRET``) or the certificate file (``AZURE_CLIENT_CERTIFICATE_PATH``, whose private key
   is secret): HMAC-SHA256 of a fixed label under it, so the credential itself never leaves the process.
   Rotating that credential changes the key: the links of emails sent before no longer verify, and
   their ratings are ignored as unknown;
3. else (workload identity has no secret of its own) no key: feedback emails carry the form link only,
   and each run logs ``ratings.off``.

The master key is then narrowed per programme (``ratings.programme_key_for``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from worker.graph.errors import AuthError
from worker.log import register_secret

MIN_LENGTH = 32
_LABEL = b"crossgen/rating-master/v1"


@dataclass(frozen=True, slots=True)
class RatingSecret:
    key: bytes | None
    source: str  # which variable it came from (never the value), for the log

    def __repr__(self) -> str:  # never print the key
        return f"RatingSecret(source={self.source!r})"


def _derived(secret: bytes) -> bytes:
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


def _read(path: str, name: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise AuthError(f"{name}: cannot read {path}: {exc.strerror}") from None


def rating_secret(env: Mapping[str, str]) -> RatingSecret:
    """The master rating key for ``env`` (see the module's order); ``AuthError`` if a configured one is
    unreadable or too short (a run must not quietly send links nobody can verify later)."""
    for name in ("CROSSGEN_RATING_KEY_FILE", "CROSSGEN_RATING_KEY"):
        value = env.get(name)
        if not value:
            continue
        raw = _read(value, name).strip() if name.endswith("_FILE") else value.encode("utf-8")
        register_secret(raw.decode("utf-8", "replace"))  # should it ever reach a log line, it is redacted
        if len(raw) < MIN_LENGTH:
            raise AuthError(f"{name}: the rating key must be at least {MIN_LENGTH} characters")
        return RatingSecret(_derived(raw), name)
    if env.get("AZURE_CLIENT_SECRET_FILE"):
        secret = _read(env["AZURE_CLIENT_SECRET_FILE"], "AZURE_CLIENT_SECRET_FILE").strip()
        return RatingSecret(_derived(secret), "AZURE_CLIENT_SECRET_FILE")
    if env.get("AZURE_CLIENT_SECRET"):
        return RatingSecret(_derived(env["AZURE_CLIENT_SECRET"].encode("utf-8")), "AZURE_CLIENT_SECRET")
    if env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        name = "AZURE_CLIENT_CERTIFICATE_PATH"
        return RatingSecret(_derived(_read(env[name], name)), name)
    return RatingSecret(None, "none")

"""Who the worker is to Microsoft Graph: an app-only MSAL identity, read from the azure-identity variables.

Where it sits: :class:`Identity` acquires tokens (MSAL, in-memory cache); :class:`MsalTokenProvider` hands
them to kiota's bearer authentication for hosts we allow (msgraph-core sends no token to any other host,
and we make sure the configured Graph host is on that list). A 401 from Graph makes the retry layer call
:meth:`Identity.invalidate` once and try again.

MSAL insists on an https authority and fetches its OpenID configuration when constructed. The sandbox runs
on plain http on loopback, so for ``AZURE_AUTHORITY_HOST=http://127.0.0.1:PORT`` MSAL is given the https
spelling and an http client whose transport rewrites https to http for loopback hosts only, never for any
other host: a misconfigured authority can never downgrade a real login to plain text.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msal
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator

from worker.graph.errors import AuthError, Transient
from worker.log import register_secret

log = structlog.get_logger(__name__)

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """What the environment says about the app registration. Exactly one credential source is used:
    a federated token file, then a certificate, then a secret (file preferred over the variable)."""

    tenant_id: str
    client_id: str
    authority_host: str = DEFAULT_AUTHORITY_HOST
    client_secret: str | None = None
    client_secret_file: str | None = None
    certificate_path: str | None = None
    certificate_password: str | None = None
    federated_token_file: str | None = None

    def __repr__(self) -> str:  # never print a secret, even in a debugger or a failed assert
        return f"AuthSettings(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, ...)"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthSettings:
        env = os.environ if env is None else env
        tenant, client = env.get("AZURE_TENANT_ID", "").strip(), env.get("AZURE_CLIENT_ID", "").strip()
        missing = [name for name, v in (("AZURE_TENANT_ID", tenant), ("AZURE_CLIENT_ID", client)) if not v]
        if missing:
            raise AuthError(f"missing {', '.join(missing)}")
        settings = cls(
            tenant_id=tenant,
            client_id=client,
            authority_host=(env.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY_HOST).rstrip("/"),
            client_secret=env.get("AZURE_CLIENT_SECRET") or None,
            client_secret_file=env.get("AZURE_CLIENT_SECRET_FILE") or None,
            certificate_path=env.get("AZURE_CLIENT_CERTIFICATE_PATH") or None,
            certificate_password=env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD") or None,
            federated_token_file=env.get("AZURE_FEDERATED_TOKEN_FILE") or None,
        )
        if not (
            settings.client_secret
            or settings.client_secret_file
            or settings.certificate_path
            or settings.federated_token_file
        ):
            raise AuthError(
                "no credential: set AZURE_CLIENT_SECRET_FILE (or AZURE_CLIENT_SECRET), "
                "AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE"
            )
        register_secret(settings.client_secret)
        register_secret(settings.certificate_password)
        return settings


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: the only hosts the sandbox may be reached on over plain http."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackHttpTransport(httpx.BaseTransport):
    """Sends ``https://<loopback>`` as ``http://<loopback>``; every other URL passes through untouched."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https" and is_loopback(request.url.host):
            request.url = request.url.copy_with(scheme="http")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class MsalHttpClient:
    """MSAL's ``HttpClient`` interface (``post``/``get`` returning a response with ``status_code``,
    ``text``, ``headers``) over an httpx.Client, so tests mock the token endpoint with respx."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kw: Any) -> Any:
        if isinstance(data, dict):
            # MSAL puts signed assertions in as bytes; requests sends them as text, httpx would send "b'...'".
            data = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
        return self._client.post(url, params=params, data=data, headers=headers, timeout=kw.get("timeout"))

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> Any:
        return self._client.get(url, params=params, headers=headers, timeout=kw.get("timeout"))

    def close(self) -> None:
        self._client.close()


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AuthError(f"cannot read {what} file {path}: {exc.strerror}") from None


def load_certificate(path: str, password: str | None) -> dict[str, str]:
    """Read a PEM or PFX certificate with its private key into MSAL's credential form.

    MSAL gets an unencrypted PKCS#8 key and the public certificate; from the certificate it computes the
    SHA-256 thumbprint (and sends x5c), so no deprecated SHA-1 thumbprint is needed.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise AuthError(f"cannot read certificate file {path}: {exc.strerror}") from None
    secret = password.encode() if password else None
    key: Any
    cert: Any
    try:
        if b"-----BEGIN" in raw:
            key = serialization.load_pem_private_key(raw, password=secret)
            cert = x509.load_pem_x509_certificates(raw)[0]
        else:
            key, cert, _ = pkcs12.load_key_and_certificates(raw, secret)
    except (ValueError, TypeError, IndexError) as exc:
        raise AuthError(
            f"cannot load certificate {path}: {type(exc).__name__} (wrong password or format?)"
        ) from None
    if key is None or cert is None:
        raise AuthError(f"certificate {path} must hold both a private key and a certificate")
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    register_secret(private_pem)
    return {
        "private_key": private_pem,
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
    }


def _credential(settings: AuthSettings) -> Any:
    if settings.federated_token_file:
        token_file = settings.federated_token_file

        def assertion() -> str:
            # Kubernetes workload identity rotates this file: read it again for every token request.
            value = _read_text(token_file, "federated token")
            register_secret(value)
            return value

        return {"client_assertion": assertion}
    if settings.certificate_path:
        return load_certificate(settings.certificate_path, settings.certificate_password)
    if settings.client_secret_file:
        secret = _read_text(settings.client_secret_file, "client secret")
    else:
        secret = settings.client_secret or ""
    if not secret:
        raise AuthError("the client secret is empty")
    register_secret(secret)
    return secret


class Identity:
    """An MSAL confidential client with an in-memory token cache. ``token()`` is blocking (MSAL is)."""

    def __init__(
        self,
        settings: AuthSettings,
        *,
        http_client: httpx.Client | None = None,
        scopes: tuple[str, ...] = (GRAPH_SCOPE,),
    ) -> None:
        self._scopes = list(scopes)
        # Requests start together and each asks for a token from a worker thread; without the lock they
        # all miss the empty cache at once and each fetches its own token. With it, one fetches and the
        # rest find it cached. Only worker threads take it (see ``invalidate``).
        self._lock = threading.Lock()
        parts = urlsplit(settings.authority_host)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise AuthError(f"AZURE_AUTHORITY_HOST must be an https URL, got {settings.authority_host!r}")
        local = parts.scheme == "http"
        if local and not is_loopback(parts.hostname):
            raise AuthError("AZURE_AUTHORITY_HOST may use plain http only on a loopback address")
        if http_client is None:
            http_client = httpx.Client(transport=LoopbackHttpTransport(), timeout=httpx.Timeout(30.0))
        elif local and not isinstance(http_client._transport, LoopbackHttpTransport):
            http_client._transport = LoopbackHttpTransport(http_client._transport)
        self._http = MsalHttpClient(http_client)
        authority = f"https://{parts.netloc}{parts.path.rstrip('/')}/{settings.tenant_id}"
        # Instance discovery only asks login.microsoftonline.com which aliases an authority has; we name
        # the authority ourselves, so it is off (one request fewer, and none to Microsoft for a sandbox).
        extra: dict[str, Any] = {"instance_discovery": False}
        if local or parts.hostname != urlsplit(DEFAULT_AUTHORITY_HOST).hostname:
            extra["validate_authority"] = False
        try:
            self._app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=_credential(settings),
                authority=authority,
                http_client=self._http,
                token_cache=msal.TokenCache(),
                **extra,
            )
        except AuthError:
            raise
        except (ValueError, httpx.HTTPError) as exc:
            raise AuthError(f"cannot set up the identity at {authority}: {type(exc).__name__}") from None

    def token_and_lifetime(self) -> tuple[str, float]:
        """An access token for Graph, from the cache when it is still good (MSAL checks expiry), and the
        seconds it is still good for (as MSAL reports them)."""
        try:
            with self._lock:
                result = self._app.acquire_token_for_client(scopes=self._scopes)
        except httpx.HTTPError as exc:
            # An outage of the identity platform is not a configuration problem: transient, and safe to
            # retry (Graph has not seen the request yet).
            raise Transient(
                f"token endpoint unreachable: {type(exc).__name__}", maybe_processed=False
            ) from None
        except ValueError as exc:
            raise AuthError(f"token request rejected: {type(exc).__name__}") from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error", "unknown_error") if isinstance(result, dict) else "unknown_error"
            codes = result.get("error_codes", []) if isinstance(result, dict) else []
            raise AuthError(f"no token from the identity platform: {error} {codes}".strip())
        register_secret(token)
        if result.get("token_source") == "identity_provider":
            log.info("graph.token_acquired", expires_in=result.get("expires_in"))
        try:
            lifetime = float(result.get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0.0
        return str(token), lifetime

    def invalidate(self) -> None:
        """Drop cached access tokens, so the next ``token()`` asks the identity platform again.

        MSAL refuses ``force_refresh`` for client credentials; removing the cached entries is the way.
        """
        # Not behind ``_lock``: this runs on the event loop (after a 401), and the lock may be held by a
        # worker thread fetching a token over the network. MSAL's cache locks itself.
        cache = self._app.token_cache
        for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(entry)

    def close(self) -> None:
        self._http.close()


# A token is used from the provider's own copy until this long before MSAL says it expires; then MSAL is
# asked again (it refreshes at about the same point).
REUSE_MARGIN = 300.0


class MsalTokenProvider(AccessTokenProvider):
    """kiota's access-token provider over :class:`Identity`, for the allowed hosts only.

    MSAL is blocking, so it is asked from a worker thread; while the token it gave is good for more than
    ``REUSE_MARGIN`` seconds the provider hands out its own copy instead. A thread hop per request cost
    about 0.15 ms of the event loop's time, and the loop is what answers every response of a run.
    """

    def __init__(
        self, identity: Identity, allowed_hosts: list[str], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._identity = identity
        self._hosts = AllowedHostsValidator([h.lower() for h in allowed_hosts])
        self._clock = clock
        self._held: tuple[str, float] | None = None  # (token, good until on ``clock``)
        self._generation = 0  # bumped by invalidate: a fetch begun before it keeps no copy

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        if not self._hosts.is_url_host_valid(uri):
            return ""  # never hand our token to a host we were not configured for
        held = self._held
        if held is not None and self._clock() < held[1]:
            return held[0]
        asked, generation = self._clock(), self._generation
        token, lifetime = await asyncio.to_thread(self._identity.token_and_lifetime)
        if generation == self._generation:
            self._held = (token, asked + lifetime - REUSE_MARGIN) if lifetime > REUSE_MARGIN else None
        return token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts

    def invalidate(self) -> None:
        self._held = None
        self._generation += 1
        self._identity.invalidate()

    def close(self) -> None:
        self._identity.close()

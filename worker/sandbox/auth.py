"""The sandbox's identity platform: OIDC metadata, the client-credentials token endpoint, bearer checks.

MSAL (the worker's client) first GETs ``/{tenant}/v2.0/.well-known/openid-configuration`` and insists
on https URLs in it, so we advertise ``https://<host>/...`` and leave it to the worker's transport to
map https to http for loopback hosts. The token endpoint takes form-encoded ``client_credentials``
with a ``client_secret`` or a ``client_assertion`` and answers as the identity platform does,
``AADSTS`` codes included, with tokens that expire on the sandbox clock.

Simplification, documented: a ``client_assertion`` whose JWT header names a registered certificate
(``x5t`` or ``x5t#S256``) must verify against it (RS256 or PS256); any other non-empty assertion is
accepted as a federated (workload identity) credential, as we cannot reach a real issuer.

Access tokens are JWT-shaped and HMAC-signed with a per-sandbox key, so Graph calls are checked
without a token table, and an expired token gets Graph's documented expiry message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from worker.sandbox.errors import GraphError, IdentityError, unauthenticated
from worker.sandbox.store import Tenant

GRAPH_AUDIENCE = "https://graph.microsoft.com"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
APP_ROLES = [
    "Calendars.ReadWrite",
    "Mail.Send",
    "User.Read.All",
    "MailboxSettings.ReadWrite",
    "User.ReadWrite.All",
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def openid_configuration(tenant: Tenant, *, host: str, tenant_segment: str) -> dict[str, Any]:
    """The documented discovery document, every URL https as MSAL requires."""
    base = f"https://{host}/{tenant.tenant_id}"
    return {
        "token_endpoint": f"https://{host}/{tenant_segment}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"https://{host}/{tenant.tenant_id}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"https://{host}/oidc/userinfo",
        "authorization_endpoint": f"https://{host}/{tenant_segment}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"https://{host}/{tenant_segment}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"https://{host}/{tenant_segment}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver"],
        "kerberos_endpoint": f"https://{host}/{tenant_segment}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def thumbprints(cert_pem: bytes) -> tuple[str, str]:
    """(SHA-1, SHA-256) thumbprints of a PEM certificate, lower-case hex."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).hexdigest(), hashlib.sha256(der).hexdigest()  # noqa: S324 - x5t is SHA-1 by spec


class TokenService:
    """Issues and checks the tenant's app-only tokens on the sandbox clock."""

    def __init__(self, tenant: Tenant, *, lifetime_seconds: int = 3599) -> None:
        self.tenant = tenant
        self.lifetime_seconds = lifetime_seconds
        self._key = secrets.token_bytes(32)
        self.issued = 0

    def knows_tenant(self, segment: str) -> bool:
        return segment.lower() in {self.tenant.tenant_id, self.tenant.domain.lower(), "organizations"}

    def register_certificate(self, cert_pem: bytes) -> str:
        sha1, sha256 = thumbprints(cert_pem)
        self.tenant.credentials.certificates[sha1] = cert_pem
        self.tenant.credentials.certificates[sha256] = cert_pem
        return sha256

    # --- the token endpoint ----------------------------------------------------------------------
    def issue(self, tenant_segment: str, form: dict[str, str], *, now: datetime) -> dict[str, Any]:
        if not self.knows_tenant(tenant_segment):
            raise IdentityError(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant_segment}' not found. Check to make sure you have the correct tenant ID and "
                "are signing into the correct cloud.",
            )
        grant = form.get("grant_type")
        if grant != "client_credentials":
            raise IdentityError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        creds = self.tenant.credentials
        client_id = form.get("client_id", "")
        if client_id != creds.client_id:
            raise IdentityError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant.tenant_id}'.",
            )
        scope = form.get("scope", "")
        if not any(s.endswith("/.default") for s in scope.split()):
            raise IdentityError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        secret, assertion = form.get("client_secret"), form.get("client_assertion")
        if secret:
            if not hmac.compare_digest(secret.encode(), creds.client_secret.encode()):
                raise IdentityError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the "
                    f"client secret value, not the client secret ID, for a secret of app '{client_id}'.",
                )
        elif assertion:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise IdentityError(
                    400,
                    "invalid_request",
                    7000219,
                    "'client_assertion' or 'client_secret' is required for the "
                    "'client_credentials' grant type with client_assertion_type jwt-bearer.",
                )
            self._check_assertion(assertion, client_id, now=now)
        else:
            raise IdentityError(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        self.issued += 1
        token = self._mint(client_id, now=now)
        return {
            "token_type": "Bearer",
            "expires_in": self.lifetime_seconds,
            "ext_expires_in": self.lifetime_seconds,
            "access_token": token,
        }

    def _check_assertion(self, assertion: str, client_id: str, *, now: datetime) -> None:
        parts = assertion.split(".")
        header: dict[str, Any] = {}
        if len(parts) == 3:
            try:
                header = json.loads(_unb64(parts[0]))
            except ValueError:
                header = {}
        certs = self.tenant.credentials.certificates
        thumb = None
        if isinstance(header, dict) and header.get("x5t#S256"):
            thumb = _unb64(header["x5t#S256"]).hex()
        elif isinstance(header, dict) and header.get("x5t"):
            thumb = _unb64(header["x5t"]).hex()
        if thumb is None or thumb not in certs:
            return  # a federated assertion: accepted as is (see the module docstring)
        invalid = IdentityError(
            401, "invalid_client", 700027, "Client assertion failed signature validation."
        )
        public_key = x509.load_pem_x509_certificate(certs[thumb]).public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise invalid
        signed, signature = f"{parts[0]}.{parts[1]}".encode(), _unb64(parts[2])
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            if header.get("alg") == "PS256"
            else padding.PKCS1v15()
        )
        try:
            public_key.verify(signature, signed, pad, hashes.SHA256())
        except InvalidSignature as exc:
            raise invalid from exc
        claims = json.loads(_unb64(parts[1]))
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise IdentityError(
                401,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            )
        if float(claims.get("exp", 0)) < now.timestamp():
            raise IdentityError(
                401, "invalid_client", 700024, "Client assertion is not within its valid time range."
            )

    def _mint(self, client_id: str, *, now: datetime) -> str:
        iat = int(now.timestamp())
        header = {"typ": "JWT", "alg": "HS256", "kid": "sandbox"}
        claims = {
            "aud": GRAPH_AUDIENCE,
            "iss": f"https://sts.windows.net/{self.tenant.tenant_id}/",
            "iat": iat,
            "nbf": iat,
            "exp": iat + self.lifetime_seconds,
            "appid": client_id,
            "tid": self.tenant.tenant_id,
            "roles": APP_ROLES,
            "idtyp": "app",
            "ver": "1.0",
            "jti": secrets.token_hex(8),
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    # --- Graph's side: the bearer check ----------------------------------------------------------
    def check(self, authorization: str | None, *, now: datetime) -> dict[str, Any]:
        """Claims of a valid token, or Graph's 401 (empty, malformed, foreign or expired token)."""
        if not authorization or not authorization.strip():
            raise unauthenticated("Access token is empty.")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthenticated("Access token is empty.")
        parts = token.split(".")
        if len(parts) != 3:
            raise unauthenticated("IDX14100: JWT is not well formed, there are no dots (.).")
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            valid = hmac.compare_digest(expected, _unb64(parts[2]))
            claims = json.loads(_unb64(parts[1]))
        except ValueError as exc:
            raise unauthenticated("Access token validation failure. Invalid audience.") from exc
        if not valid or claims.get("tid") != self.tenant.tenant_id:
            raise unauthenticated("Access token validation failure. Invalid audience.")
        if claims.get("exp", 0) <= now.timestamp():
            raise unauthenticated("Lifetime validation failed, the token is expired.")
        return dict(claims)

    def expiry(self, token: str) -> datetime | None:
        try:
            claims = json.loads(_unb64(token.split(".")[1]))
            return datetime.fromtimestamp(claims["exp"]).astimezone() if "exp" in claims else None
        except (ValueError, IndexError, KeyError):
            return None


def forbidden_without_role(claims: dict[str, Any], role: str) -> None:
    if role not in claims.get("roles", []):
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def lifetime(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)

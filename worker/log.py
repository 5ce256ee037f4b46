"""Logging, set up once: JSON lines when stdout is not a terminal (containers), readable on a TTY.

``--log-format json|console`` on ``plan``, ``run`` and ``report`` chooses; without it the choice
follows stdout: a CronJob's output is not a terminal, so its logs stay JSON for the collector, and a
person at a terminal gets readable lines, errors only: the command's own output, which names people,
is what they came for. Logs always go to stderr.

Every event passes through ``redact_secrets`` last-but-one, so a token, a client secret or a
certificate that reaches a log call by mistake is masked before it is rendered. Modules get their
logger with ``structlog.get_logger(__name__)`` and bind context (``run_id``, ``pair``) as they go.
The pure core (``worker.core``) never logs.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

REDACTED = "«redacted»"

# Keys whose values are never printed, whatever they hold.
_SECRET_KEYS = re.compile(
    r"(secret|password|passphrase|token|assertion|authorization|private_key|credential|cookie)", re.I
)
# Values that look like secrets wherever they appear: bearer tokens, JWTs, PEM blocks.
_SECRET_VALUES = [
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S),
    re.compile(r"(?i)(client_secret|client_assertion|access_token|password)=[^&\s\"']+"),
]
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret loaded at run time (a client secret, a fetched token) so it is masked anywhere."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def scrub(text: str) -> str:
    """Mask every known or secret-looking value in ``text``."""
    for secret in tuple(_known_secrets):  # MSAL registers tokens from its own thread
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_VALUES:
        text = pattern.sub(REDACTED, text)
    return text


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEYS.search(str(k)) else _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub_value(v) for v in value)
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret keys and secret-looking values, including in exception text."""
    for key in list(event_dict):
        if _SECRET_KEYS.search(key) and key != "event":
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub_value(event_dict[key])
    return event_dict


def _scrub_rendered(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    # Tracebacks are rendered by format_exc_info into "exception"; scrub them after rendering too.
    if "exception" in event_dict and isinstance(event_dict["exception"], str):
        event_dict["exception"] = scrub(event_dict["exception"])
    return event_dict


def shared_processors() -> Iterable[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]


FORMATS = ("json", "console")


def wants_json(log_format: str | None) -> bool:
    """``json`` or ``console`` as asked; unasked, JSON unless stdout is a terminal."""
    if log_format is not None:
        return log_format == "json"
    return not sys.stdout.isatty()


def configure(*, json: bool | None = None, level: str = "INFO", stream: Any = None) -> None:
    """Configure structlog for the process. ``json=None`` picks JSON unless stdout is a terminal.

    Logs go to stderr: stdout carries the commands' own output (the run summary line, plan JSON).
    """
    out = stream or sys.stderr
    use_json = wants_json(None) if json is None else json
    renderer: Any
    if use_json:
        renderer = structlog.processors.JSONRenderer()
        tail: list[Any] = [structlog.processors.format_exc_info, _scrub_rendered, renderer]
    else:
        tail = [structlog.dev.ConsoleRenderer(colors=out.isatty())]
    structlog.configure(
        processors=[*shared_processors(), *tail],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )

"""The worker's local state (``CROSSGEN_STATE``): a cache and an audit log, never the truth.

The truth is in the calendars and the sending mailbox: our series carry their pair key, our emails a
deterministic Message-ID. The cache only saves requests (which emails are known sent, names read from
the directory); deleting it between runs changes nothing in the calendars and sends nothing twice,
because every send is looked up in Sent Items first. The audit log is one JSON line per write, for
the programme lead and for IT.

Writes are atomic (temporary file, fsync, rename), so a crash leaves the previous state whole.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_DIR = ".crossgen-state"
FILE = "state.json"
AUDIT = "audit.jsonl"
VERSION = 1


def state_dir(configured: str | None = None) -> Path:
    """``CROSSGEN_STATE`` (a directory), or ``.crossgen-state`` under the working directory."""
    return Path(configured or os.environ.get("CROSSGEN_STATE") or DEFAULT_DIR)


class State:
    """Cached knowledge of one programme, loaded at the start of a run and saved as it goes."""

    def __init__(self, directory: Path, programme: str) -> None:
        self.directory = directory
        self.programme = programme
        self.sent: set[str] = set()
        self.names: dict[str, list[str]] = {}  # lower-case address -> [displayName, givenName]
        self.chains: dict[str, list[str]] = {}
        self.chains_read: str | None = None  # when the cached manager chains and names were first read
        self.last_run: str | None = None

    @classmethod
    def load(cls, directory: Path, programme: str) -> State:
        state = cls(directory, programme)
        path = directory / FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return state
        except (OSError, ValueError):
            return state  # a damaged cache is only a cache: start afresh, the calendars still hold the truth
        data = raw.get("programmes", {}).get(programme, {}) if raw.get("version") == VERSION else {}
        state.sent = set(data.get("sent", []))
        state.names = {
            k: [str(v[0]), str(v[1])]
            for k, v in data.get("names", {}).items()
            if isinstance(v, list) and len(v) == 2
        }
        state.chains = {k: list(v) for k, v in data.get("chains", {}).items()}
        state.last_run = data.get("last_run")
        state.chains_read = data.get("chains_read")
        return state

    def mark_sent(self, keys: Iterable[str]) -> None:
        self.sent.update(keys)

    def save(self, *, now: datetime | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("version") != VERSION:
                raw = {}
        except (OSError, ValueError):
            raw = {}
        programmes = raw.setdefault("programmes", {})
        if now is not None:
            self.last_run = now.isoformat()
        programmes[self.programme] = {
            "sent": sorted(self.sent),
            "names": dict(sorted(self.names.items())),
            "chains": dict(sorted(self.chains.items())),
            "last_run": self.last_run,
            "chains_read": self.chains_read,
        }
        raw["version"] = VERSION
        _atomic_write(path, json.dumps(raw, indent=1, sort_keys=True))

    def audit(self, event: dict[str, Any]) -> None:
        """Append one line to the audit log (best effort: a full disk must not stop the run)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with (self.directory / AUDIT).open("a", encoding="utf-8") as out:
                line = {"programme": self.programme, **event}
                out.write(json.dumps(line, sort_keys=True, default=str) + "\n")
        except OSError:
            pass

    def audited(self, action: str) -> list[dict[str, Any]]:
        """This programme's audit lines for ``action`` (e.g. ``cancel``); lines written before they named
        their programme are included. A missing or damaged log reads as empty (it is only a log)."""
        try:
            text = (self.directory / AUDIT).read_text(encoding="utf-8")
        except OSError:
            return []
        found = []
        for raw in text.splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if (
                isinstance(event, dict)
                and event.get("action") == action
                and event.get("programme", self.programme) == self.programme
                and "error" not in event
            ):
                found.append(event)
        return found


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

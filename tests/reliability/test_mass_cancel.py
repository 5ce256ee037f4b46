"""The mass-cancel guard as an operator meets it: ``crossgen run`` processes against ``crossgen sandbox
serve``. An emptied pairs.yaml is refused before any Graph call (exit 2), a truncated one after reading
(exit 2, nothing written but the run's own lease marker, given back); ``--confirm-cancel`` proceeds."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.reliability.harness import START
from tests.reliability.served import CROSSGEN, Served, programme, summary_of

pytestmark = pytest.mark.slow

AS_OF = ("--as-of", START.isoformat())


def crossgen(served: Served, *args: str, state: Path) -> tuple[int, str, str]:
    env = {**os.environ, **served.env, "CROSSGEN_STATE": str(state)}
    env.pop("CROSSGEN_LOG_FORMAT", None)
    done = subprocess.run(
        [*CROSSGEN, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return done.returncode, done.stdout, done.stderr


def requests_log(served: Served) -> list[dict[str, str]]:
    return list(served.control("GET", "counters")["log"])


def writes(entries: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        (e["method"], e["path"])
        for e in entries
        if e["method"] in ("POST", "PATCH", "DELETE") and not e["path"].endswith("/getSchedule")
    ]


def book_all(served: Served, config: Path, state: Path) -> int:
    """The programme's first run, at START: it books all six pairs that can meet; its exit code."""
    served.set_clock(START)
    code, out, err = crossgen(served, "run", "--config", str(config), *AS_OF, state=state)
    assert summary_of(out)["booked"] == 6, err[-2000:]
    return code


def test_an_emptied_pairs_file_writes_nothing_and_exits_2_until_confirmed(
    served: Served, tmp_path: Path
) -> None:
    config, state = programme(tmp_path, "emptied"), tmp_path / "state"
    assert book_all(served, config, state) == 1  # one pair has no common hours

    (config / "pairs.yaml").write_text("pairs: []\n", encoding="utf-8")
    seen = len(requests_log(served))
    code, out, err = crossgen(served, "run", "--config", str(config), *AS_OF, state=state)
    assert code == 2
    assert f"{config / 'pairs.yaml'}:1:8: pairs: the list is empty" in err and "--confirm-cancel" in err
    assert "Traceback" not in err
    assert len(requests_log(served)) == seen, "refused before any Graph call"
    code, _, err = crossgen(served, "validate", "--config", str(config), state=state)
    assert code == 2 and "the list is empty" in err

    code, out, err = crossgen(served, "run", "--config", str(config), *AS_OF, "--confirm-cancel", state=state)
    assert code == 0, err[-2000:]
    assert summary_of(out)["cancelled"] == 6


def test_a_truncated_pairs_file_is_refused_after_reading_and_proceeds_when_confirmed(
    served: Served, tmp_path: Path
) -> None:
    config, state = programme(tmp_path, "truncated"), tmp_path / "state"
    book_all(served, config, state)
    pairs = config / "pairs.yaml"
    lines = pairs.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if "amina.diallo" in line)
    pairs.write_text("".join(lines[:cut]), encoding="utf-8")  # a ConfigMap cut after two pairs

    code, out, err = crossgen(served, "plan", "--config", str(config), *AS_OF, "--json", state=state)
    assert code == 2, err[-2000:]
    guard = json.loads(out)["guard"]
    assert guard["refuses"] and guard["booked"] == 6 and guard["kept"] == 2 and len(guard["cancelling"]) == 4
    assert "warning: `crossgen run` would refuse this pass" in err

    seen = len(requests_log(served))
    code, out, err = crossgen(served, "run", "--config", str(config), *AS_OF, state=state)
    assert code == 2, err[-2000:]
    assert "refused: this pass would cancel the sessions of 4 of the 6 pairs" in err
    assert "Nothing was written" in err and "--confirm-cancel" in err
    assert summary_of(out)["cancel_refused"] == 4 and summary_of(out)["writes"] == 0
    # The only writes: the run's lease marker, created and removed.
    made = writes(requests_log(served)[seen:])
    assert [method for method, _ in made] == ["POST", "DELETE"], made
    assert all("/mentoring@contoso.com/events" in path for _, path in made), made

    code, out, err = crossgen(served, "run", "--config", str(config), *AS_OF, "--confirm-cancel", state=state)
    assert code == 0, err[-2000:]
    assert summary_of(out)["cancelled"] == 4
    assert "run.mass_cancel_confirmed" in err

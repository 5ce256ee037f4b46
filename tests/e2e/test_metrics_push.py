"""A pass's figures to a Pushgateway (CROSSGEN_PUSHGATEWAY_URL): what is pushed, where, and that a
Pushgateway that is down never fails the pass."""

from __future__ import annotations

from typing import Any

from worker.reconcile.push import push_run

SUMMARY = {
    "pairs": 8,
    "booked": 6,
    "moved": 0,
    "cancelled": 0,
    "feedback_sent": 2,
    "unscheduled": 1,
    "errors": 0,
    "cancel_refused": 0,
}


class Recorder:
    """A push handler (prometheus_client's seam) that keeps the request instead of sending it."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, url: str, method: str, timeout: float | None, headers: Any, data: bytes) -> Any:
        def send() -> None:
            if self.fail is not None:
                raise self.fail
            self.requests.append({"url": url, "method": method, "body": data.decode()})

        return send


def _push(handler: Recorder, summary: dict[str, int] = SUMMARY, **changes: Any) -> bool:
    """``push_run`` with plain figures for what a test does not look at."""
    figures: dict[str, Any] = {
        "programme": "p",
        "shard": "0-of-1",
        "exit_code": 0,
        "duration_seconds": 1.0,
        "finished_at": 1.0,
    }
    return push_run(summary, handler=handler, **{**figures, **changes})


def test_nothing_is_pushed_without_a_pushgateway(monkeypatch: Any) -> None:
    monkeypatch.delenv("CROSSGEN_PUSHGATEWAY_URL", raising=False)
    recorder = Recorder()
    pushed = _push(recorder)
    assert not pushed and recorder.requests == []


def test_a_pass_pushes_its_figures_grouped_by_programme_and_shard() -> None:
    recorder = Recorder()
    assert _push(
        recorder,
        programme="contoso-rm-2027",
        shard="1-of-2",
        duration_seconds=12.5,
        finished_at=1_800_000_000.0,
        url="http://pushgateway:9091",
    )
    (request,) = recorder.requests
    # POST (pushadd): only these metrics are replaced in the group, not the whole group.
    assert request["method"] == "POST"
    assert (
        request["url"]
        == "http://pushgateway:9091/metrics/job/crossgen/programme/contoso-rm-2027/shard/1-of-2"
    )
    body = request["body"]
    for line in (
        "crossgen_run_pairs 8.0",
        "crossgen_run_booked 6.0",
        "crossgen_run_errors 0.0",
        "crossgen_run_duration_seconds 12.5",
        "crossgen_run_exit_code 0.0",
        "crossgen_run_last_success_timestamp_seconds 1.8e+09",
    ):
        assert line in body, line


def test_a_failed_pass_leaves_the_last_success_time_alone() -> None:
    recorder = Recorder()
    _push(
        recorder,
        {**SUMMARY, "errors": 2},
        exit_code=1,
        duration_seconds=3.0,
        finished_at=5.0,
        url="http://pushgateway:9091",
    )
    body = recorder.requests[0]["body"]
    assert "crossgen_run_exit_code 1.0" in body and "crossgen_run_errors 2.0" in body
    assert "last_success" not in body


def test_a_pushgateway_that_is_down_is_a_warning_not_a_failed_pass() -> None:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        pushed = _push(
            Recorder(fail=ConnectionRefusedError("connection refused")),
            url="http://user:secret@pushgateway:9091",
        )
    assert not pushed
    (event,) = [e for e in logs if e["event"] == "run.metrics_push_failed"]
    assert event["log_level"] == "warning" and "secret" not in str(event)


def test_crossgen_run_pushes_when_a_pushgateway_is_configured(monkeypatch: Any) -> None:
    from pathlib import Path
    from types import SimpleNamespace

    from click.testing import CliRunner

    import worker.graph.ops as ops_module
    import worker.reconcile.push as push_module
    import worker.reconcile.run as run_module
    from worker.commands.reconcile import run

    class Ran:
        exit_code = 1
        cancel_refused = False
        desired = SimpleNamespace(key="contoso-rm-2027", shard=(0, 1))

        def summary(self) -> dict[str, int]:
            return {**SUMMARY, "errors": 1}

    async def reconcile(config: Path, **kwargs: Any) -> Ran:
        return Ran()

    class NoGraph:
        async def aclose(self) -> None:
            pass

    pushed: list[dict[str, Any]] = []
    monkeypatch.setattr(run_module, "reconcile", reconcile)
    monkeypatch.setattr(ops_module.Gateway, "from_env", staticmethod(lambda: NoGraph()))
    monkeypatch.setattr(push_module, "push_run", lambda summary, **kw: pushed.append({**kw, **summary}))
    config = Path(__file__).resolve().parents[2] / "config"
    env = {"CROSSGEN_PUSHGATEWAY_URL": "http://pushgateway:9091"}
    result = CliRunner().invoke(run, ["--config", str(config)], env=env)
    assert result.exit_code == 1, result.output
    (push,) = pushed
    assert (push["programme"], push["shard"], push["exit_code"], push["errors"]) == (
        "contoso-rm-2027",
        "0-of-1",
        1,
        1,
    )
    assert CliRunner().invoke(run, ["--config", str(config), "--dry-run"], env=env).exit_code == 1
    assert len(pushed) == 1, "a dry run pushes nothing"

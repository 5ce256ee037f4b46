"""The Kubernetes manifests, read with yaml.safe_load and held to what the image and the IT guide say.

Every CronJob variant (client secret, workload identity, sharded) must keep the same guarantees: one
pass at a time, no retry of a configuration/auth error (exit 2), the restricted security context, limits,
and the image's paths. checkov runs over the whole folder and must pass with every skip explained.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ship.configmap import programme_files, render
from tests.ship.dockerfile import exec_form, stages
from tests.ship.tools import DOCKERFILE, K8S, ROOT, run_tool, tool

# The variants of the reconcile pass (exactly one is deployed), and the weekly report beside it.
RUN_CRONJOBS = ["cronjob.yaml", "cronjob-workload-identity.yaml", "cronjob-sharded.yaml"]
CRONJOBS = [*RUN_CRONJOBS, "cronjob-report.yaml"]


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((K8S / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def pod_spec(cronjob: dict[str, Any]) -> dict[str, Any]:
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def the_container(cronjob: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec(cronjob)["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def mounts_of(cronjob: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """mountPath -> (volumeMount, volume)."""
    volumes = {v["name"]: v for v in pod_spec(cronjob)["volumes"]}
    return {m["mountPath"]: (m, volumes[m["name"]]) for m in the_container(cronjob)["volumeMounts"]}


@pytest.fixture(scope="module")
def image() -> dict[str, Any]:
    final = stages(DOCKERFILE)[-1]
    uid, _, gid = final.last("USER").value.partition(":")
    return {
        "uid": int(uid),
        "gid": int(gid),
        "cmd": exec_form(final.last("CMD")),
        "state": final.env()["CROSSGEN_STATE"],
    }


@pytest.fixture(params=CRONJOBS)
def cronjob(request: pytest.FixtureRequest) -> dict[str, Any]:
    document = load(request.param)
    assert document["kind"] == "CronJob"
    return document


def test_checkov_passes_every_manifest_with_every_skip_justified() -> None:
    result = run_tool(
        tool("checkov"),
        "--directory",
        K8S,
        "--framework",
        "kubernetes",
        "--skip-download",
        "--output",
        "json",
        "--compact",
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, [
        (c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]
    ]
    assert summary["parsing_errors"] == 0
    manifests = [p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"]
    assert summary["resource_count"] == len(manifests), "checkov must have read every manifest"
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped["check_id"]


def test_only_one_pass_runs_at_a_time_and_a_stuck_one_ends_before_the_next_tick(
    cronjob: dict[str, Any],
) -> None:
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    job = spec["jobTemplate"]["spec"]
    if job.get("completionMode") == "Indexed":  # retries counted per shard, not one budget for all
        assert 0 < job["backoffLimitPerIndex"] <= 10
        assert "backoffLimit" not in job
    else:
        assert 0 < job["backoffLimit"] <= 10
    every = re.fullmatch(r"\*/(\d+) \* \* \* \*", spec["schedule"])
    if every:  # a frequent pass must end before the next tick is due
        assert 0 < job["activeDeadlineSeconds"] < int(every.group(1)) * 60
    else:
        assert 0 < job["activeDeadlineSeconds"] <= 3600


def test_exit_code_2_fails_the_job_without_retrying(cronjob: dict[str, Any]) -> None:
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert pod_spec(cronjob)["restartPolicy"] == "Never", "podFailurePolicy requires restartPolicy Never"
    rules = job["podFailurePolicy"]["rules"]
    # An Indexed Job fails the one shard (its other shards finish their pass); FailIndex needs
    # backoffLimitPerIndex.
    action = "FailIndex" if "backoffLimitPerIndex" in job else "FailJob"
    fail_on_2 = [
        r
        for r in rules
        if r["action"] == action
        and r.get("onExitCodes", {}).get("operator") == "In"
        and 2 in r["onExitCodes"]["values"]
    ]
    assert len(fail_on_2) == 1
    assert fail_on_2[0]["onExitCodes"]["containerName"] == the_container(cronjob)["name"]
    assert rules.index(fail_on_2[0]) == 0, "rules are evaluated in order; exit 2 must win"


def test_pod_runs_under_the_restricted_security_context(
    cronjob: dict[str, Any], image: dict[str, Any]
) -> None:
    pod = pod_spec(cronjob)
    container = the_container(cronjob)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "add" not in context["capabilities"]
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    assert context.get("privileged", False) is False
    for where in (pod["securityContext"], context):
        assert where["runAsUser"] == image["uid"] and where["runAsGroup"] == image["gid"]
    assert pod["automountServiceAccountToken"] is False


def test_container_has_requests_and_limits(cronjob: dict[str, Any]) -> None:
    resources = the_container(cronjob)["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) >= {"cpu", "memory"}


def test_config_state_and_tmp_are_mounted_where_the_image_expects_them(
    cronjob: dict[str, Any], image: dict[str, Any]
) -> None:
    container = the_container(cronjob)
    mounts = mounts_of(cronjob)
    config_path = image["cmd"][image["cmd"].index("--config") + 1]
    mount, volume = mounts[config_path]
    assert mount["readOnly"] is True
    assert volume["configMap"]["name"] == load("configmap.yaml")["metadata"]["name"]
    assert env_of(container)["CROSSGEN_STATE"] == image["state"]
    assert "emptyDir" in mounts[image["state"]][1] or "persistentVolumeClaim" in mounts[image["state"]][1]
    assert "emptyDir" in mounts["/tmp"][1]
    writable = {path for path, (m, _) in mounts.items() if not m.get("readOnly")}
    # The report only reads the passes' state; a pass writes it.
    report = cronjob["metadata"]["name"] == "crossgen-report"
    assert writable == ({"/tmp"} if report else {image["state"], "/tmp"})
    args = container["args"]
    assert args[args.index("--config") + 1] == config_path
    if cronjob["metadata"]["name"] != "crossgen-report":
        assert args[: len(image["cmd"])] == image["cmd"]


def test_state_is_kept_between_passes_where_one_node_at_a_time_can_hold_it(image: dict[str, Any]) -> None:
    """A ReadWriteOnce claim for the one-pass-at-a-time variants (and, read-only, the report that counts
    feedback from it); the sharded variant's parallel pods keep a per-pass emptyDir instead."""
    claim = load("state-pvc.yaml")
    assert claim["kind"] == "PersistentVolumeClaim" and claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "state-pvc.yaml" in load("kustomization.yaml")["resources"]
    for name in ("cronjob.yaml", "cronjob-workload-identity.yaml", "cronjob-report.yaml"):
        cronjob = load(name)
        mount, volume = mounts_of(cronjob)[image["state"]]
        assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"], name
        assert bool(mount.get("readOnly")) is (name == "cronjob-report.yaml"), name
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    sharded = load("cronjob-sharded.yaml")
    assert "emptyDir" in mounts_of(sharded)[image["state"]][1]


def test_failed_jobs_are_kept_by_the_history_limits_not_deleted_by_a_ttl(cronjob: dict[str, Any]) -> None:
    spec = cronjob["spec"]
    assert spec["failedJobsHistoryLimit"] >= 3 and spec["successfulJobsHistoryLimit"] >= 1
    assert "ttlSecondsAfterFinished" not in spec["jobTemplate"]["spec"], "a TTL overrides the history"


# What kube-state-metrics exports about CronJobs and Jobs that the rules may use.
KSM_METRICS = {
    "kube_cronjob_status_last_successful_time",
    "kube_cronjob_created",
    "kube_cronjob_spec_suspend",
    "kube_job_failed",
    "kube_job_status_failed",
    "kube_job_status_start_time",
}


def test_alert_rules_parse_as_promql_and_watch_the_shipped_cronjobs() -> None:
    import promql_parser

    rules = load("prometheusrule.yaml")
    assert rules["kind"] == "PrometheusRule"
    alerts = {r["alert"]: r for group in rules["spec"]["groups"] for r in group["rules"]}
    assert {"CrossgenNoSuccessfulPass", "CrossgenJobFailed", "CrossgenReportMissed"} <= set(alerts)
    names = {load(name)["metadata"]["name"] for name in CRONJOBS}
    for name, rule in alerts.items():
        promql_parser.parse(rule["expr"])  # raises on a syntax error
        used = set(re.findall(r"\b(kube_[a-z_]+)\b", rule["expr"]))
        assert used and used <= KSM_METRICS, (name, used - KSM_METRICS)
        assert 'namespace="crossgen"' in rule["expr"], name
        for cronjob in re.findall(r'cronjob=~?"([^"]+)"', rule["expr"]):
            assert set(cronjob.split("|")) <= names, (name, cronjob)
        assert rule["annotations"]["summary"], name
    assert "kubectl -n crossgen logs -l batch.kubernetes.io/job-name=" in alerts["CrossgenJobFailed"][
        "annotations"
    ]["description"]


def test_weekly_report_is_emailed_to_the_lead() -> None:
    container = the_container(load("cronjob-report.yaml"))
    assert container["args"][:1] == ["report"]
    assert "--send" in container["args"]


def test_client_secret_is_a_file_from_the_example_secret() -> None:
    cronjob = load("cronjob.yaml")
    container = the_container(cronjob)
    secret = load("secret.example.yaml")
    secret_file = Path(env_of(container)["AZURE_CLIENT_SECRET_FILE"])
    mount, volume = mounts_of(cronjob)[str(secret_file.parent)]
    assert mount["readOnly"] is True
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert [item["path"] for item in volume["secret"]["items"]] == [secret_file.name]
    assert {item["key"] for item in volume["secret"]["items"]} <= set(secret["stringData"])
    assert not any("secretKeyRef" in str(item) for item in container.get("env", []))
    (source,) = container["envFrom"]
    assert source["configMapRef"]["name"] == load("app-registration.yaml")["metadata"]["name"]
    assert set(load("app-registration.yaml")["data"]) == {"AZURE_TENANT_ID", "AZURE_CLIENT_ID"}


def test_workload_identity_variant_uses_the_annotated_service_account_and_no_secret() -> None:
    cronjob = load("cronjob-workload-identity.yaml")
    account = load("serviceaccount.yaml")
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod_spec(cronjob)["serviceAccountName"] == account["metadata"]["name"]
    assert "azure.workload.identity/client-id" in account["metadata"]["annotations"]
    assert account["automountServiceAccountToken"] is False
    env = env_of(the_container(cronjob))
    assert not any(name.startswith("AZURE_CLIENT_SECRET") for name in env)
    assert not any("secret" in volume for volume in pod_spec(cronjob)["volumes"])


def test_sharded_variant_runs_one_indexed_pod_per_shard() -> None:
    cronjob = load("cronjob-sharded.yaml")
    job = cronjob["spec"]["jobTemplate"]["spec"]
    container = the_container(cronjob)
    shards = int(env_of(container)["CROSSGEN_SHARDS"])
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == shards >= 2
    # The worker takes its shard from JOB_COMPLETION_INDEX and CROSSGEN_SHARDS when --shard is absent.
    assert "--shard" not in container["args"]
    assert "JOB_COMPLETION_INDEX" not in env_of(container), "the Job controller sets it, per pod"


def test_every_manifest_lives_in_the_namespace_with_restricted_pod_security() -> None:
    namespace = load("namespace.yaml")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for path in K8S.glob("*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document["kind"] in ("Namespace", "Kustomization"):
            continue
        assert document["metadata"]["namespace"] == namespace["metadata"]["name"], path.name


def test_kustomization_deploys_one_reconcile_cronjob_and_never_the_example_secret() -> None:
    kustomization = load("kustomization.yaml")
    resources = kustomization["resources"]
    for name in resources:
        assert (K8S / name).is_file(), name
    assert "secret.example.yaml" not in resources
    assert sum(name in RUN_CRONJOBS for name in resources) == 1
    assert "cronjob-report.yaml" in resources
    images = {image["name"] for image in kustomization["images"]}
    for name in CRONJOBS:
        assert the_container(load(name))["image"].split(":")[0] in images


def test_configmap_carries_a_whole_programme_as_the_generator_writes_it() -> None:
    """The example ConfigMap is the repository's example programme when it was generated; it is not
    required to track every later edit of config/ (edited concurrently, and replaced by IT anyway),
    but it must be complete, generated rather than hand-edited, and valid (next test)."""
    files = load("configmap.yaml")["data"]
    assert set(files) == {"program.yaml", "policies.yaml", "pairs.yaml"}
    assert set(programme_files()) == set(files), "config/ and the ConfigMap carry the same three files"
    assert (K8S / "configmap.yaml").read_text(encoding="utf-8") == render(files), (
        "regenerate: .venv/bin/python -m tests.ship.configmap > deploy/kubernetes/configmap.yaml"
    )


def test_configmap_as_mounted_is_a_valid_programme(tmp_path: Path) -> None:
    from worker.policies.load import load_programme

    for name, text in load("configmap.yaml")["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    programme = load_programme(tmp_path)
    assert programme.pairs


def test_docs_name_the_manifests_that_exist() -> None:
    guide = (ROOT / "docs" / "it.md").read_text(encoding="utf-8")
    for path in K8S.glob("*.yaml"):
        assert f"`{path.name}`" in guide, f"docs/it.md does not describe {path.name}"


def test_network_policy_admits_nothing_in_and_only_dns_and_https_out() -> None:
    policy = load("networkpolicy.yaml")
    spec = policy["spec"]
    pod_labels = load("cronjob.yaml")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    assert spec["ingress"] == []
    ports = {(port["protocol"], port["port"]) for rule in spec["egress"] for port in rule["ports"]}
    assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 443)}
    assert "networkpolicy.yaml" in load("kustomization.yaml")["resources"]

"""The guides are held to the code and to each other.

docs/it.md's call table is what IT grants permissions from, so it must parse (one row per call) and name
only permissions the permissions table explains; every permission must be needed by some call. The
programmes in docs/leads.md are copied by leads as they are, so each one must load as a valid programme
with crossgen's own loader. Links between the docs must lead somewhere.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.ship.markdown import anchors, code_blocks, relative_links, section, table_under
from tests.ship.tools import DOCS, ROOT

IT = DOCS / "it.md"
GUIDES = ["it.md", "leads.md", "participants.md"]
# Linked, but written by another step: the YAML reference is generated from the models.
GENERATED = {DOCS / "reference.md"}

# The calls the worker makes, as the gateway (worker/graph/ops.py) and MSAL issue them.
EXPECTED_CALLS = {
    ("POST", "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
    ("GET", "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"),
    ("POST", "/users/{participant}/calendar/getSchedule"),
    ("GET", "/users/{participant}/mailboxSettings"),
    ("GET", "/users?$filter=mail in (...)&$expand=manager($levels=max)"),
    ("GET", "/users/{participant}?$expand=manager($levels=max)"),
    ("GET", "/users/{participant}/manager"),
    ("GET", "/users/{organizer}/events?$filter=singleValueExtendedProperties/Any(...)"),
    ("GET", "/users/{organizer}/events/{id}"),
    ("POST", "/users/{organizer}/events"),
    ("POST", "/$batch"),
    ("GET", "/users/{organizer}/events/{id}/instances"),
    ("PATCH", "/users/{organizer}/events/{id}"),
    ("POST", "/users/{organizer}/events/{id}/cancel"),
    ("DELETE", "/users/{organizer}/events/{id}"),
    ("GET", "/users/{organizer}/calendarView?startDateTime=...&endDateTime=..."),
    ("POST", "/users/{organizer}/sendMail"),
    ("GET", "/users/{organizer}/mailFolders/sentitems/messages?$filter=internetMessageId eq '...'"),
    ("GET", "/users/{organizer}/mailFolders/inbox/messages?$filter=receivedDateTime ge ...&$select=...&$top=1000"),  # noqa: E501
    ("PATCH", "/users/{organizer}/messages/{id}"),
}


def calls() -> list[dict[str, str]]:
    return table_under(IT, "Every Graph call crossgen makes")


def permissions() -> dict[str, dict[str, str]]:
    return {row["permission"]: row for row in table_under(IT, "Application permissions")}


def test_call_table_has_one_well_formed_row_per_call() -> None:
    rows = calls()
    assert {(row["method"], row["path"]) for row in rows} == EXPECTED_CALLS
    assert len(rows) == len(EXPECTED_CALLS), "one row per call, no duplicates"
    for row in rows:
        assert row["method"] in {"GET", "POST", "PATCH", "DELETE"}
        prefixes = ("/users/{", "/users?", "/$batch", "https://login.microsoftonline.com/")
        assert row["path"].startswith(prefixes), row["path"]
        assert row["when"], f"{row['method']} {row['path']}: say when crossgen makes it"


def test_every_call_names_a_permission_from_the_permissions_table() -> None:
    granted = permissions()
    for row in calls():
        if row["path"].startswith("https://login.microsoftonline.com/"):
            assert row["permission"] == "none", "the identity platform needs the credential, not a permission"
        elif row["path"] == "/$batch":
            assert row["permission"] == "none", "a batch needs none: each item needs its own call's"
        else:
            assert row["permission"] in granted, f"{row['method']} {row['path']}: {row['permission']}"


def test_every_permission_is_needed_by_some_call_and_says_why() -> None:
    used = {row["permission"] for row in calls()}
    for name, row in permissions().items():
        assert re.fullmatch(r"[A-Z][A-Za-z]+\.[A-Za-z.]+", name), name
        assert name in used, f"{name} is granted but no call needs it"
        assert len(row["why crossgen needs it"]) > 40, name


def test_mailbox_permissions_are_scoped_by_exchange_rbac_in_the_powershell() -> None:
    scoping = section(IT.read_text(encoding="utf-8"), "Scope the app to the programme's mailboxes")
    script = "\n".join(code_blocks(scoping, "powershell"))
    for cmdlet in (
        "New-ServicePrincipal",
        "New-ManagementScope",
        "New-ManagementRoleAssignment",
        "Test-ServicePrincipalAuthorization",
        "New-ApplicationAccessPolicy",
        "Test-ApplicationAccessPolicy",
    ):
        assert cmdlet in script, cmdlet
    for name, row in permissions().items():
        role = row["Exchange RBAC role"]
        if role.startswith("Application "):
            assert f'"{role}"' in script, f"{name}: {role} is never assigned in the script"


@pytest.mark.parametrize("guide", GUIDES)
def test_links_between_the_docs_lead_somewhere(guide: str) -> None:
    path = DOCS / guide
    text = path.read_text(encoding="utf-8")
    for target in relative_links(text):
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        if destination in GENERATED:
            continue
        assert destination.exists(), f"{guide}: {target}"
        if anchor:
            assert anchor in anchors(destination.read_text(encoding="utf-8")), f"{guide}: {target}"


def _examples() -> list[tuple[str, dict[str, str]]]:
    common = section((DOCS / "leads.md").read_text(encoding="utf-8"), "Common programmes")
    parts = re.split(r"^### (.*)$", common, flags=re.M)
    examples = []
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        files = {}
        for block in code_blocks(body, "yaml"):
            name = block.splitlines()[0].removeprefix("#").strip()
            files[name] = block
        examples.append((title, files))
    return examples


def test_leads_guide_shows_the_four_common_programmes() -> None:
    titles = " ".join(title.lower() for title, _ in _examples())
    for kind in ("weekly", "fortnightly", "monthly executive", "cohort"):
        assert kind in titles


@pytest.mark.parametrize(
    ("title", "files"), _examples(), ids=[t.split(":")[0].lower() for t, _ in _examples()]
)
def test_each_example_programme_in_the_leads_guide_is_valid(
    title: str, files: dict[str, str], tmp_path: Path
) -> None:
    from worker.policies.load import load_programme

    assert set(files) == {"program.yaml", "policies.yaml", "pairs.yaml"}, title
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    programme = load_programme(tmp_path)
    assert programme.pairs


def test_the_it_guide_documents_the_sharding_variables_the_worker_reads() -> None:
    guide = IT.read_text(encoding="utf-8")
    command = (ROOT / "worker" / "commands" / "reconcile.py").read_text(encoding="utf-8")
    for variable in ("JOB_COMPLETION_INDEX", "CROSSGEN_SHARDS"):
        assert variable in guide and variable in command


def _template(node: ast.expr) -> str | None:
    """An f-string path as a template: every ``{expression}`` becomes ``{}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
    return None


def _gateway_calls() -> set[tuple[str, str]]:
    """(method, path template) of every ``self._call``/``self._json(METHOD, PATH, ...)`` in the gateway.

    A call whose method is itself a variable is the wrapper forwarding its own arguments: skipped.
    """
    tree = ast.parse((ROOT / "worker" / "graph" / "ops.py").read_text(encoding="utf-8"))
    found: set[tuple[str, str]] = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
            continue
        local_paths = {
            target.id: _template(node.value)
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in ("_call", "_json") or len(node.args) < 2:
                continue
            method, path = node.args[0], node.args[1]
            if isinstance(method, ast.Name):
                continue
            assert isinstance(method, ast.Constant), ast.dump(method)
            template = local_paths.get(path.id) if isinstance(path, ast.Name) else _template(path)
            assert template is not None, f"line {node.lineno}: cannot read the path of this call"
            found.add((method.value, template))
    return found


def test_the_call_table_matches_the_calls_the_gateway_makes() -> None:
    """Both ways: a call the gateway makes is documented, and a documented Graph call is still made."""
    documented = {
        (row["method"], re.sub(r"\{[^}]*\}", "{}", row["path"].split("?")[0]))
        for row in calls()
        if row["path"].startswith(("/users/", "/users?"))
    }
    made = _gateway_calls()
    assert made, "no calls found: has the gateway moved?"
    assert made - documented == set(), "calls missing from docs/it.md"
    assert documented - made == set(), "docs/it.md lists calls the gateway no longer makes"

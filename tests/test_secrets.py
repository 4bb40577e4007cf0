"""No secret comes back through the API or lands in a log: SSH private keys, agent
tokens and the operator token, looked for in every answer of a real server (every
query with every field, every subscription), every file of its data directory and
its output."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from tests.api.test_environments import ssh_input
from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket
from tests.support.secrets import (
    SecretScan,
    deepest_document,
    introspected_schema,
    key_material,
)
from tests.support.server import ServerProcess
from tests.support.services import START
from tests.support.sshd import SshServer

CREATE_ENVIRONMENT = """
mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) {
  __typename ... on Environment { id } ... on Error { message } } }
"""
TEST_ENVIRONMENT = """
mutation($id: ID!) { testEnvironment(id: $id) { __typename
  ... on EnvironmentTest { ok checks { name ok detail } } ... on Error { message } } }
"""


@pytest.mark.timeout(300)
async def test_no_secret_in_any_answer_log_file_or_server_output(
    server: ServerProcess, server_api: Api, sshd: SshServer, git_repo: Path, tmp_path: Path
) -> None:
    api = server_api
    (tmp_path / "remote").mkdir()
    remote = ssh_input(sshd, tmp_path / "remote")
    environment = await api.ok(CREATE_ENVIRONMENT, {"input": remote})
    tested = await api.ok(TEST_ENVIRONMENT, {"id": environment["id"]})
    assert tested["ok"], tested  # the key was really used to log in
    ids = await workspace_with_a_service(api, git_repo)
    scan = SecretScan(
        {
            "operator token": api.operator_token,
            "agent token": ids["token"],
            **key_material(sshd.user_private_key),
        }
    )
    # A rejected document quotes what it was sent; so does a bad value.
    key_literal = sshd.user_private_key.replace("\n", "\\n")
    broken = await api.post(f'mutation {{ createEnvironment(input: {{privateKey: "{key_literal}"')
    scan.answer("a malformed document", broken.text)
    bad_key = await api.post(CREATE_ENVIRONMENT, {"input": ssh_input(sshd, tmp_path, port=0)})
    scan.answer("createEnvironment with a bad port", bad_key.text)
    # The sign-in link, as a browser opens it, reaches the access log.
    async with httpx2.AsyncClient(base_url=server.url) as browser:
        await browser.get(f"/?token={api.operator_token}")

    await read_every_query(api, scan, ids | {"environment": environment["id"]})
    await api.ok(START, {"id": ids["workspace"], "name": None, "wait": True})
    await read_every_subscription(server, api, scan, ids)
    server.stop()

    scan.tree(server.data_dir)
    assert scan.answers > 20 and scan.files > 5
    assert server.log_path.stat().st_size > 0
    assert scan.hits == []


async def workspace_with_a_service(api: Api, repo: Path) -> dict[str, str]:
    project = await api.project()
    web = {"name": "web", "kind": "service", "command": "echo up; exec sleep 600"}
    await api.project_workspace(
        project["id"],
        cwd=str(repo),
        baseRef="main",
        provisionCommand="echo provisioned",
        runtimeConfig={"commands": [web]},
    )
    agent_id, token = await api.agent()
    issue = await api.issue(project["id"], assigneeId=agent_id)
    checkout = await api.checkout(issue["id"], token)
    return {
        "project": project["id"],
        "issue": issue["id"],
        "token": token,
        "workspace": checkout["workspace"]["id"],
        "operation": checkout["workspace"]["operations"][0]["id"],
    }


async def read_every_query(api: Api, scan: SecretScan, ids: dict[str, str]) -> None:
    schema = await introspected_schema(api)
    arguments = {
        "environment": f'id: "{ids["environment"]}"',
        "project": f'id: "{ids["project"]}"',
        "executionWorkspace": f'id: "{ids["workspace"]}"',
        "issue": f'id: "{ids["issue"]}"',
        "operation": f'id: "{ids["operation"]}"',
    }
    assert schema.query_type is not None
    for name, field in schema.query_type.fields.items():
        head = f"query {{ {name}({arguments[name]})" if name in arguments else f"query {{ {name}"
        document = deepest_document(schema, head, field.type)
        for token in (api.operator_token, ids["token"]):
            response = await api.post(document, token=token)
            assert response.status_code == 200, response.text
            assert response.json().get("data", {}).get(name) is not None, response.text
            scan.answer(f"query {name}", response.text)


async def read_every_subscription(
    server: ServerProcess, api: Api, scan: SecretScan, ids: dict[str, str]
) -> None:
    schema = await introspected_schema(api)
    arguments = {
        "workspaceOperations": f'workspaceId: "{ids["workspace"]}"',
        "operationLog": f'operationId: "{ids["operation"]}"',
        "serviceStatus": f'workspaceId: "{ids["workspace"]}"',
        "serviceLog": f'workspaceId: "{ids["workspace"]}", name: "web"',
        "workspaceChanged": f'projectId: "{ids["project"]}"',
        "runChanged": f'projectId: "{ids["project"]}"',
        "issueChanged": f'projectId: "{ids["project"]}"',
    }
    assert schema.subscription_type is not None
    for name, field in schema.subscription_type.fields.items():
        document = deepest_document(
            schema, f"subscription {{ {name}({arguments[name]})", field.type, 3
        )
        async with GraphQLWebSocket.connect(server.ws_url, ids["token"]) as client:
            subscription = await client.subscribe(document)
            message = await client.message(subscription)
        assert message["type"] == "next", message
        scan.answer(f"subscription {name}", message)

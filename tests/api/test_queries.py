"""Reads: lists cost a bounded number of SQL queries; the schema file is current."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tortoise import connections

from tests.support.api import Api, GraphQLErrors
from tests.support.scenarios import checked_out_issue
from worksite.api.schema import schema
from worksite.models import (
    Environment,
    ExecutionWorkspace,
    Issue,
    IssueWorkspaceLink,
    Operation,
    Project,
    ProjectWorkspace,
)
from worksite.models.enums import OperationCategory

LIST = """
query($projectId: ID!) { executionWorkspaces(projectId: $projectId) {
  id name status runtimeConfigSource effectiveProvisionCommand
  project { key } projectWorkspace { name } sourceIssue { identifier liveRun { id } }
  issues { identifier assignee { name } } operations { phase status } } }
"""


class QueryCounter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        connection = connections.all()[0]
        for name in ("execute_query", "execute_query_dict"):
            original = getattr(connection, name)
            monkeypatch.setattr(connection, name, self._counting(original))

    def _counting(self, original):  # type: ignore[no-untyped-def]
        async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.count += 1
            return await original(*args, **kwargs)

        return counted


async def make_workspaces(count: int) -> str:
    project = await Project.create(key="PAP", name="Paper")
    environment = await Environment.get(name="local")
    project_workspace = await ProjectWorkspace.create(
        project=project,
        environment=environment,
        name="main",
        cwd="/srv/pap",
        is_primary=True,
        provision_command="make deps",
    )
    issues = [
        Issue(project=project, number=n, identifier=f"PAP-{n}", title=f"Issue {n}")
        for n in range(1, count + 1)
    ]
    await Issue.bulk_create(issues)
    workspaces = [
        ExecutionWorkspace(
            project=project,
            project_workspace=project_workspace,
            environment=environment,
            name=f"PAP-{n}",
            mode="isolated",
            provider_type="git_worktree",
            status="active",
            source_issue_id=issue.id,
        )
        for n, issue in enumerate(issues, 1)
    ]
    await ExecutionWorkspace.bulk_create(workspaces)
    await IssueWorkspaceLink.bulk_create(
        [
            IssueWorkspaceLink(issue_id=i.id, workspace_id=w.id)
            for i, w in zip(issues, workspaces, strict=True)
        ]
    )
    await Operation.bulk_create(
        [Operation(workspace_id=w.id, category="provision", phase="provision") for w in workspaces]
    )
    return str(project.id)


async def test_listing_200_workspaces_takes_a_bounded_number_of_queries(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id = await make_workspaces(200)
    counter = QueryCounter(monkeypatch)

    data = await api.gql(LIST, {"projectId": project_id})

    assert len(data["executionWorkspaces"]) == 200
    assert data["executionWorkspaces"][0]["operations"] == [
        {"phase": "provision", "status": "RUNNING"}
    ]
    assert all(len(w["issues"]) == 1 for w in data["executionWorkspaces"])
    # One query per kind of thing loaded (plus the token check), whatever the row count.
    assert counter.count <= 12, counter.count


def test_schema_graphql_is_current() -> None:
    checked_in = (Path(__file__).parents[2] / "schema.graphql").read_text()
    assert checked_in == schema.as_str() + "\n", (
        "schema.graphql is stale: run `.venv/bin/worksite export-schema --output schema.graphql`"
    )


async def test_the_database_refuses_values_outside_an_enum(api: Api) -> None:
    project_id = await make_workspaces(1)
    connection = connections.all()[0]

    with pytest.raises(Exception, match="(?i)check|constraint"):
        await connection.execute_query(
            "UPDATE execution_workspace SET status = 'exploded' WHERE project_id = "
            + ("$1" if "postgres" in connection.connection_name else "?"),
            [project_id],
        )
    assert await ExecutionWorkspace.filter(status="active").count() == 1


async def test_internal_errors_do_not_leak(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals at /srv/worksite")

    monkeypatch.setattr(
        Project, "all", lambda: type("Q", (), {"order_by": lambda self, *_: explode()})()
    )

    response = await api.post("{ projects { id } }")

    body = response.json()
    assert body["errors"][0]["message"] == "Internal server error."
    assert "secret" not in response.text


async def test_a_clients_mistake_is_logged_as_one_line_and_our_failure_in_full(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await api.post("query Issue($id: ID!) { issue(id: $id) { id } }", {"id": {"nested": True}})
    await api.post("{ projects { nonsense } }")
    mistakes = [
        r
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name.startswith(("worksite", "strawberry"))
    ]
    assert [r.getMessage().split(":")[0] for r in mistakes] == ["refused a request"] * 2
    assert not any(r.exc_info for r in mistakes)

    caplog.clear()

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internals")

    monkeypatch.setattr(
        Project, "all", lambda: type("Q", (), {"order_by": lambda self, *_: explode()})()
    )
    await api.post("{ projects { id } }")
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info is not None


async def test_a_missing_or_mistyped_variable_is_named_not_masked(api: Api) -> None:
    missing = await api.post("query Issue($id: ID!) { issue(id: $id) { id } }")
    mistyped = await api.post(
        "query Issue($id: ID!) { issue(id: $id) { id } }", {"id": {"nested": True}}
    )

    assert "Variable '$id'" in missing.json()["errors"][0]["message"]
    assert "ID!" in missing.json()["errors"][0]["message"]
    assert "Variable '$id'" in mistyped.json()["errors"][0]["message"]


OPERATIONS_PAGE = """
query($id: ID!, $limit: Int!, $before: ID) { executionWorkspace(id: $id) {
  operations(limit: $limit, before: $before) { id command } } }
"""


async def test_operations_page_backwards_with_before_through_every_one_once(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    workspace = await ExecutionWorkspace.get(id=ids["workspace"])
    # Seven operations, three of them started at the same moment: the id orders those.
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    for number in range(7):
        started = moment + timedelta(seconds=min(number, 3))
        await Operation.create(
            workspace=workspace,
            category=OperationCategory.RUNTIME,
            phase="job",
            command=f"echo {number}",
            started_at=started,
        )
    every = await api.gql(OPERATIONS_PAGE, {"id": ids["workspace"], "limit": 100})

    paged: list[dict[str, str]] = []
    before = None
    while True:
        variables = {"id": ids["workspace"], "limit": 3, "before": before}
        page = (await api.gql(OPERATIONS_PAGE, variables))["executionWorkspace"]["operations"]
        if not page:
            break
        paged += page
        before = page[-1]["id"]

    assert paged == every["executionWorkspace"]["operations"]
    commands = [op["command"] for op in paged]
    assert set(commands[:4]) == {"echo 3", "echo 4", "echo 5", "echo 6"}
    assert [op["id"] for op in paged[:4]] == sorted((op["id"] for op in paged[:4]), reverse=True)
    assert commands[4:7] == ["echo 2", "echo 1", "echo 0"]
    assert paged[7]["id"] == ids["operation"]  # the checkout's provision, oldest


async def test_operations_before_an_operation_of_another_workspace_is_refused(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    other = await checked_out_issue(api, git_repo, key="OTH")
    for before, expected in (
        (other["operation"], "before: expected an operation of"),
        ("not-an-id", "before: expected an id"),
    ):
        variables = {"id": ids["workspace"], "limit": 3, "before": before}
        with pytest.raises(GraphQLErrors) as refused:
            await api.gql(OPERATIONS_PAGE, variables)
        assert expected in str(refused.value)

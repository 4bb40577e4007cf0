"""The authorization matrix (tests/support/authz.py) checked against a real app on
both databases: mutations and queries over HTTP, subscriptions over a real WebSocket
to a `worksite serve` process."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import Api
from tests.support.authz import (
    ALLOW,
    CALLERS,
    MATRIX,
    build_world,
    check_mutations_and_queries,
    check_subscriptions,
    missing_rows,
)
from tests.support.server import ServerProcess
from tests.support.services import START


def test_every_operation_of_the_schema_has_a_row_in_the_matrix() -> None:
    assert missing_rows() == [], "add these to MATRIX in tests/support/authz.py"
    for case in MATRIX:
        assert set(case.expected) == set(CALLERS), case.name


async def test_mutations_and_queries_answer_each_caller_as_the_matrix_says(
    api: Api, git_repo: Path
) -> None:
    world = await build_world(api, git_repo)

    outcomes = await check_mutations_and_queries(api, world)

    checked = {(o.case.name, o.caller) for o in outcomes}
    assert (
        len(checked)
        == len(outcomes)
        == sum(len(CALLERS) for case in MATRIX if case.kind != "subscription")
    )
    assert any(o.expected == ALLOW for o in outcomes)


async def test_subscriptions_answer_each_caller_as_the_matrix_says(
    server: ServerProcess, server_api: Api, git_repo: Path
) -> None:
    world = await build_world(server_api, git_repo)
    web = {"id": world.workspace, "name": "web", "wait": True}
    started = await server_api.ok(START, web)
    assert started["__typename"] == "WorkspaceServicesSuccess", started

    outcomes = await check_subscriptions(server.ws_url, world)

    assert len(outcomes) == len(CALLERS) * sum(1 for c in MATRIX if c.kind == "subscription")

"""operationLog over a real server: whole logs, in order, resumable by offset."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket
from tests.support.scenarios import (
    OPERATION_LOG,
    GatedProvision,
    numbered_lines,
    numbered_lines_script,
)
from tests.support.server import ServerProcess

LINES = 100_000


async def collect(
    client: GraphQLWebSocket, operation_id: str, offset: int = 0
) -> list[dict]:
    subscription = await client.subscribe(
        OPERATION_LOG, {"operationId": operation_id, "offset": offset}
    )
    return [chunk async for chunk in client.values(subscription)]


def assert_contiguous(chunks: list[dict], start: int = 0) -> None:
    offset = start
    for chunk in chunks:
        assert chunk["__typename"] == "OutputChunk", chunk
        assert chunk["offset"] == offset, (chunk["offset"], offset)
        assert chunk["nextOffset"] == offset + len(chunk["content"].encode())
        offset = chunk["nextOffset"]


async def test_a_job_printing_100000_lines_reaches_a_subscriber_whole_and_in_order(
    server: ServerProcess, server_api: Api, git_repo: Path, tmp_path: Path
) -> None:
    run = GatedProvision(server_api, git_repo, tmp_path, numbered_lines_script(LINES))
    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        operation_id = await run.start(client)
        run.open_gate()
        chunks = await collect(client, operation_id)

    assert_contiguous(chunks)
    assert {chunk["stream"] for chunk in chunks} == {"STDOUT"}
    assert "".join(chunk["content"] for chunk in chunks) == numbered_lines(LINES)
    assert (await run.finished())["__typename"] == "CheckoutIssueSuccess"

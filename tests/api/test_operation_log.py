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


async def collect(client: GraphQLWebSocket, operation_id: str, offset: int = 0) -> list[dict]:
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
    assert {chunk["operationId"] for chunk in chunks} == {operation_id}
    assert {chunk["stream"] for chunk in chunks} == {"STDOUT"}
    assert "".join(chunk["content"] for chunk in chunks) == numbered_lines(LINES)
    assert (await run.finished())["__typename"] == "CheckoutIssueSuccess"


def paced_lines_script(count: int, batches: int, pause: float) -> str:
    """Python that prints `count` numbered lines in `batches`, pausing between them."""
    return (
        "import sys, time\n"
        f"per_batch = {count // batches}\n"
        f"for batch in range({batches}):\n"
        "    start = batch * per_batch\n"
        "    sys.stdout.write(''.join(f'line {i:06d}\\n' for i in range(start, start + per_batch)))\n"
        "    sys.stdout.flush()\n"
        f"    time.sleep({pause})\n"
    )


async def test_a_client_that_reconnects_with_the_last_offset_misses_nothing_and_gets_nothing_twice(
    server: ServerProcess, server_api: Api, git_repo: Path, tmp_path: Path
) -> None:
    expected = numbered_lines(LINES)
    run = GatedProvision(server_api, git_repo, tmp_path, paced_lines_script(LINES, 100, 0.01))
    first: list[dict] = []
    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        operation_id = await run.start(client)
        subscription = await client.subscribe(
            OPERATION_LOG, {"operationId": operation_id, "offset": 0}
        )
        run.open_gate()
        async for chunk in client.values(subscription):
            first.append(chunk)
            if chunk["nextOffset"] >= len(expected) // 3:
                break
        client.drop()

    resume_at = first[-1]["nextOffset"]
    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        rest = await collect(client, operation_id, offset=resume_at)

    assert_contiguous(first)
    assert_contiguous(rest, start=resume_at)
    received = "".join(chunk["content"] for chunk in first + rest)
    assert received == expected
    assert (await run.finished())["__typename"] == "CheckoutIssueSuccess"


async def test_fifty_subscribers_to_one_log_each_receive_all_of_it(
    server: ServerProcess, server_api: Api, git_repo: Path, tmp_path: Path
) -> None:
    subscribers = 50
    run = GatedProvision(server_api, git_repo, tmp_path, paced_lines_script(LINES, 20, 0.02))
    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        operation_id = await run.start(client)

    async def subscriber(ready: asyncio.Event, started: list[int]) -> str:
        async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
            subscription = await client.subscribe(
                OPERATION_LOG, {"operationId": operation_id, "offset": 0}
            )
            started.append(1)
            if len(started) == subscribers:
                ready.set()
            chunks = [chunk async for chunk in client.values(subscription)]
        assert_contiguous(chunks)
        return "".join(chunk["content"] for chunk in chunks)

    ready, started = asyncio.Event(), []
    tasks = [asyncio.create_task(subscriber(ready, started)) for _ in range(subscribers)]
    await asyncio.wait_for(ready.wait(), 60)
    run.open_gate()
    received = await asyncio.gather(*tasks)

    expected = numbered_lines(LINES)
    assert len(received) == subscribers
    assert all(text == expected for text in received)
    assert (await run.finished())["__typename"] == "CheckoutIssueSuccess"


async def test_stdout_and_stderr_arrive_labelled_by_stream(
    server: ServerProcess, server_api: Api, git_repo: Path, tmp_path: Path
) -> None:
    script = (
        "import sys\n"
        "for i in range(3000):\n"
        "    stream = sys.stderr if i % 7 == 0 else sys.stdout\n"
        '    stream.write(f\'{"err" if stream is sys.stderr else "out"} {i}\\n\')\n'
        "    stream.flush()\n"
    )
    run = GatedProvision(server_api, git_repo, tmp_path, script)
    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        operation_id = await run.start(client)
        run.open_gate()
        chunks = await collect(client, operation_id)

    assert_contiguous(chunks)
    lines = {"STDOUT": [], "STDERR": []}
    for chunk in chunks:
        for line in chunk["content"].splitlines():
            assert line.startswith("err " if chunk["stream"] == "STDERR" else "out ")
            lines[chunk["stream"]].append(int(line.split()[1]))
    assert lines["STDERR"] == [i for i in range(3000) if i % 7 == 0]
    assert lines["STDOUT"] == [i for i in range(3000) if i % 7 != 0]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


async def test_a_stalled_subscriber_neither_grows_server_memory_nor_holds_up_others(
    server: ServerProcess, server_api: Api, git_repo: Path, tmp_path: Path
) -> None:
    lines = 2_000_000
    size = len(numbered_lines(lines).encode())  # 25 MB
    run = GatedProvision(server_api, git_repo, tmp_path, numbered_lines_script(lines))
    assert server.process is not None
    pid = server.process.pid

    async with (
        GraphQLWebSocket.connect(server.ws_url, server.token) as reader,
        GraphQLWebSocket.connect(server.ws_url, server.token) as stalled,
    ):
        operation_id = await run.start(reader)
        variables = {"operationId": operation_id, "offset": 0}
        stalled_subscription = await stalled.subscribe(OPERATION_LOG, variables)
        run.open_gate()
        stalled_first = await stalled.next_value(stalled_subscription)
        baseline = peak = rss_bytes(pid)

        # Read everything on one connection while the other reads nothing.
        subscription = await reader.subscribe(OPERATION_LOG, variables)
        offset = 0
        async for chunk in reader.values(subscription):
            assert chunk["offset"] == offset
            offset = chunk["nextOffset"]
            peak = max(peak, rss_bytes(pid))
        assert offset == size

        growth = peak - baseline
        assert growth < size // 4, f"server grew by {growth} bytes for a {size}-byte log"

        # The stalled subscriber, reading again, gets the rest from disk.
        offset = stalled_first["nextOffset"]
        async for chunk in stalled.values(stalled_subscription):
            assert chunk["offset"] == offset
            offset = chunk["nextOffset"]
        assert offset == size
    assert (await run.finished())["__typename"] == "CheckoutIssueSuccess"

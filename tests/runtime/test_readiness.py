"""Readiness probes against real sockets and processes."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from worksite.runtime.readiness import Probe, check


@pytest.fixture
async def http_server() -> AsyncIterator[tuple[int, list[int]]]:
    """A loopback HTTP server answering with the first status in the list."""
    statuses = [200]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:  # a TCP probe: it connects and leaves
            writer.close()
            return
        writer.write(f"HTTP/1.1 {statuses[0]} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], statuses


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_http_probe_wants_a_status_below_400(http_server: tuple[int, list[int]]) -> None:
    port, statuses = http_server
    probe = Probe("http", f"http://127.0.0.1:{port}/health")

    assert await check(probe, 5) is None
    statuses[0] = 503
    assert await check(probe, 5) == "HTTP 503"


async def test_http_and_tcp_probes_report_a_refused_connection() -> None:
    port = closed_port()

    assert await check(Probe("http", f"http://127.0.0.1:{port}/"), 5) == "connection refused"
    assert await check(Probe("tcp", str(port)), 5) == "connection refused"


async def test_tcp_probe_answers_when_something_listens(http_server: tuple[int, list[int]]) -> None:
    port, _ = http_server

    assert await check(Probe("tcp", str(port)), 5) is None


async def test_command_probe_runs_in_the_directory_with_the_environment(tmp_path: Path) -> None:
    (tmp_path / "ready").touch()
    probe = Probe(
        "command",
        'test -e ready && [ "$STAGE" = up ]',
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "STAGE": "up"},
    )

    assert await check(probe, 5) is None
    assert await check(Probe("command", "exit 3", cwd=tmp_path), 5) == "exit code 3"


async def test_command_probe_that_hangs_is_killed_with_its_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    probe = Probe(
        "command",
        f"sleep 600 & echo $! > {pids}; echo $$ >> {pids}; wait",
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    )

    assert await check(probe, 2) == "no answer within 2 s"

    background, shell = (int(pid) for pid in pids.read_text().split())
    deadline = time.monotonic() + 30
    while alive(background) or alive(shell):
        assert time.monotonic() < deadline, "the probe's processes outlived it"
        await asyncio.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZXx"

"""Readiness and health probes: does a service answer yet?

A probe returns None when the service answers and a short reason when it does not
("connection refused", "HTTP 503", "exit code 1"). It never raises for the service's
failings, and gives up after its timeout.

    http     GET the URL; any status from 200 to 399 is an answer
    tcp      connect to the port on the loopback interface
    command  run a shell command in the service's directory; exit code 0 is an answer

Probes run from where the service runs: `reach` is this machine by default, or an
SSH host (providers/ssh_host.py), whose loopback ports are reached through the
SSH connection and whose check commands run there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Probe:
    kind: str  # "http", "tcp" or "command"
    target: str  # a URL, a port number, or a shell command
    cwd: Path = Path("/")
    env: dict[str, str] = field(default_factory=dict)


class Reach(Protocol):
    """Where a service runs, as far as probing it goes."""

    async def open_tcp(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]: ...

    async def run_check(
        self, command: str, cwd: str, env: dict[str, str], timeout: float
    ) -> int: ...


class ThisMachine:
    """Probing services of this machine."""

    async def open_tcp(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        problem: OSError | None = None
        for host in ("127.0.0.1", "::1"):
            try:
                return await asyncio.open_connection(host, port)
            except OSError as error:
                problem = problem or error
        assert problem is not None
        raise problem

    async def run_check(self, command: str, cwd: str, env: dict[str, str], timeout: float) -> int:
        return await asyncio.to_thread(_command, command, cwd, env, timeout)


THIS_MACHINE = ThisMachine()


async def check(probe: Probe, timeout: float, reach: Reach = THIS_MACHINE) -> str | None:
    """None if the service answers within timeout seconds, else why not."""
    try:
        if probe.kind == "command":
            code = await reach.run_check(probe.target, str(probe.cwd), probe.env, timeout)
            if code < 0:
                return f"no answer within {timeout:g} s"
            return None if code == 0 else f"exit code {code}"
        async with asyncio.timeout(timeout):
            if probe.kind == "http":
                return await _http(probe.target, reach)
            return await _tcp(int(probe.target), reach)
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except ConnectionRefusedError:
        return "connection refused"
    except OSError as error:
        return error.strerror.lower() if error.strerror else str(error)


async def _http(url: str, reach: Reach) -> str | None:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    if host in LOOPBACK and reach is not THIS_MACHINE:
        if secure:
            # TLS does not run over the SSH channel's streams; the port answering is
            # what can be told from here.
            return await _tcp(port, reach)
        reader, writer = await reach.open_tcp(port)
    else:
        context = _unverified_tls() if secure else None
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "User-Agent: worksite-readiness\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    fields = status_line.decode("latin-1").split()
    if len(fields) < 2 or not fields[1].isdigit():
        return "no HTTP response"
    status = int(fields[1])
    return None if 200 <= status < 400 else f"HTTP {status}"


def _unverified_tls() -> ssl.SSLContext:
    # Development servers on loopback often use self-signed certificates; the probe
    # only asks whether something answers.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _tcp(port: int, reach: Reach) -> str | None:
    _, writer = await reach.open_tcp(port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


def _command(command: str, cwd: str, env: dict[str, str], timeout: float) -> int:
    """The exit code of a check command on this machine; -1 when it ran out of time."""
    # subprocess rather than the event loop's: it closes every inherited descriptor,
    # which uvloop's subprocesses do not.
    try:
        process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return 127
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        # End the probe's whole group while its unreaped leader still holds the id.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return -1

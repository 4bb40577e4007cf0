"""Readiness and health probes: does a service answer yet?

A probe returns None when the service answers and a short reason when it does not
("connection refused", "HTTP 503", "exit code 1"). It never raises for the service's
failings, and gives up after its timeout.

    http     GET the URL; any status from 200 to 399 is an answer
    tcp      connect to the port on the loopback interface
    command  run a shell command in the service's directory; exit code 0 is an answer
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
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Probe:
    kind: str  # "http", "tcp" or "command"
    target: str  # a URL, a port number, or a shell command
    cwd: Path = Path("/")
    env: dict[str, str] = field(default_factory=dict)


async def check(probe: Probe, timeout: float) -> str | None:
    """None if the service answers within timeout seconds, else why not."""
    if probe.kind == "command":
        return await asyncio.to_thread(_command, probe, timeout)
    try:
        async with asyncio.timeout(timeout):
            if probe.kind == "http":
                return await _http(probe.target)
            return await _tcp(int(probe.target))
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except ConnectionRefusedError:
        return "connection refused"
    except OSError as error:
        return error.strerror.lower() if error.strerror else str(error)


async def _http(url: str) -> str | None:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
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


async def _tcp(port: int) -> str | None:
    problem: OSError | None = None
    for host in ("127.0.0.1", "::1"):
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError as error:
            problem = problem or error
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return None
    assert problem is not None
    raise problem


def _command(probe: Probe, timeout: float) -> str | None:
    # subprocess rather than the event loop's: it closes every inherited descriptor,
    # which uvloop's subprocesses do not.
    try:
        process = subprocess.Popen(
            ["/bin/sh", "-c", probe.target],
            cwd=probe.cwd, env=probe.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    except OSError as error:
        return error.strerror.lower() if error.strerror else str(error)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        # End the probe's whole group while its unreaped leader still holds the id.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return f"no answer within {timeout:g} s"
    return None if code == 0 else f"exit code {code}"

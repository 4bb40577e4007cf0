"""Workspace hosts for tests: this machine, or the test sshd reached over SSH.

The SSH host is this same machine seen through a real OpenSSH server, so a test
can look at what a command did on the "host" with plain file reads. RunTracker
ends at teardown whatever supervised runs a test left running on either host.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.support.sshd import SshServer
from worksite.providers.host import WorkspaceHost
from worksite.providers.ssh import SshTarget

STOP_TIMEOUT = 20.0


def target_for(
    server: SshServer,
    *,
    key: str = "test-environment",
    host_key: str | None = "pinned",
    trust_on_first_use: bool = False,
    on_host_key: Callable[[str], Awaitable[None]] | None = None,
    port: int | None = None,
) -> SshTarget:
    """An SshTarget for the test server; host_key "pinned" pins its real key."""
    return SshTarget(
        key=key,
        host="127.0.0.1",
        port=port or server.port,
        user=server.user,
        private_key=server.user_private_key,
        host_key=server.host_public_key if host_key == "pinned" else host_key,
        trust_on_first_use=trust_on_first_use,
        on_host_key=on_host_key,
    )


@dataclass
class RunTracker:
    """Remembers the run directories a test started and stops what still runs."""

    runs: list[tuple[WorkspaceHost, str]] = field(default_factory=list)

    def watch(self, host: WorkspaceHost, run_dir: str) -> str:
        self.runs.append((host, run_dir))
        return run_dir

    async def stop_all(self) -> None:
        for host, run_dir in self.runs:
            state = await host.read_state(run_dir)
            if state is None or state.ended or not await host.is_alive(state):
                continue
            await host.request_stop(state)
            deadline = time.monotonic() + STOP_TIMEOUT
            while await host.is_alive(state) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

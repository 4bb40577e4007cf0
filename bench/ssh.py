"""SSH environments: a job running `true` on an SSH host beside plain `ssh host true`,
and how many concurrent services one pooled SSH connection sustains.

    .venv/bin/python bench/ssh.py [--runs 20] [--steps 25,50,100,200] [--idle-seconds 5]

Starts a real `worksite serve` and a throwaway OpenSSH server on loopback (the "host"
is this machine, reached only through sshd). Latency: `runWorkspaceJob(wait: true)` of
a job `true`, timed at the GraphQL client, beside `ssh -i key host true` through the
same sshd (a new connection each time, as a shell user would run it). Services: for
each step, that many `sleep` services (25 per workspace) are started and left idle;
the step holds when every one is RUNNING after the idle window, a `true` job still
completes, and the server still uses a single SSH connection. Prints figures; asserts
nothing about speed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from support import START, STOP, Client, bench_server, make_repo, summary

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.sshd import SshServer

PER_WORKSPACE = 25
RUN_JOB = """mutation($id: ID!) { runWorkspaceJob(workspaceId: $id, name: "true", wait: true) {
  ... on RunWorkspaceJobSuccess { operation { status exitCode } } ... on Error { message } } }"""
SERVICES = """query($id: ID!) { executionWorkspace(id: $id) { services { status } } }"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--steps", default="25,50,100,200")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    args = parser.parse_args()
    steps = [int(step) for step in args.steps.split(",")]

    sshd = SshServer()
    sshd.start()
    try:
        with bench_server() as (server, root):
            client = Client(server)
            ssh = SshWorkspaces(client, sshd, root, server.data_dir / "host-root")
            first = ssh.workspace()
            client.call(RUN_JOB, id=first)  # connects, uploads the supervisor
            job = [timed(lambda: check_job(client, first)) for _ in range(args.runs)]
            plain = [timed(lambda: plain_ssh(sshd, root)) for _ in range(args.runs)]

            print(f"`true` on the SSH host, {args.runs} runs each:")
            print(f"  runWorkspaceJob(wait: true)  {summary(job)}")
            print(f"  ssh host true                {summary(plain)}")
            print(f"  ratio of medians: {statistics.median(job) / statistics.median(plain):.2f}")
            ssh.logins_before = ssh.logins()
            print(
                f"Concurrent services over one pooled SSH connection "
                f"({PER_WORKSPACE} per workspace, idle {args.idle_seconds:g} s each step):"
            )
            for total in steps:
                if not ssh.sustain(total, args.idle_seconds):
                    break
            ssh.stop_all()
    finally:
        sshd.remove()


class SshWorkspaces:
    """Workspaces of one project on an SSH environment pointing at the bench sshd."""

    def __init__(self, client: Client, sshd: SshServer, root: Path, host_root: Path) -> None:
        self.client, self.sshd = client, sshd
        self.ids: list[str] = []
        self.logins_before = 0
        host_root.mkdir(parents=True)
        environment = client.call(
            """mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) {
                 ... on Environment { id } ... on Error { message } } }""",
            input={
                "name": "bench-host",
                "host": "127.0.0.1",
                "port": sshd.port,
                "user": sshd.user,
                "privateKey": sshd.user_private_key,
                "hostKey": sshd.host_public_key,
                "rootDir": str(host_root),
            },
        )
        commands: list[dict[str, Any]] = [{"name": "true", "kind": "job", "command": "true"}]
        commands += [
            {"name": f"sleeper{n}", "kind": "service", "command": "exec sleep 3600"}
            for n in range(PER_WORKSPACE)
        ]
        self.project = client.call(
            'mutation { createProject(input: {key: "SSH", name: "SSH bench"}) '
            "{ ... on Project { id } } }"
        )["id"]
        client.call(
            """mutation($input: CreateProjectWorkspaceInput!) {
                 createProjectWorkspace(input: $input) { ... on ProjectWorkspace { id } } }""",
            input={
                "projectId": self.project,
                "name": "main",
                "repoUrl": f"file://{make_repo(root)}",
                "baseRef": "main",
                "environmentId": environment["id"],
                "runtimeConfig": {"commands": commands},
            },
        )
        self.agent = client.call(
            """mutation { createAgent(input: {name: "bench"}) {
                 ... on CreateAgentSuccess { agent { id } } } }"""
        )["agent"]["id"]

    def workspace(self) -> str:
        issue = self.client.call(
            """mutation($input: CreateIssueInput!) { createIssue(input: $input) {
                 ... on Issue { id } } }""",
            input={
                "projectId": self.project,
                "title": f"Task {len(self.ids)}",
                "assigneeId": self.agent,
            },
        )
        checkout = self.client.call(
            """mutation($id: ID!) { checkoutIssue(issueId: $id) {
                 ... on CheckoutIssueSuccess { workspace { id } } ... on Error { message } } }""",
            id=issue["id"],
        )
        self.ids.append(checkout["workspace"]["id"])
        return self.ids[-1]

    def sustain(self, total: int, idle: float) -> bool:
        """Bring the running services up to `total`; report whether all hold."""
        while len(self.ids) * PER_WORKSPACE < total:
            self.workspace()
        wanted = self.ids[: total // PER_WORKSPACE]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda id: self.client.call(START, id=id, name=None), wanted))
        start_all = time.monotonic() - started
        time.sleep(idle)
        running = sum(self.running(id) for id in wanted)
        job = timed(lambda: check_job(self.client, wanted[0]))
        logins = self.logins() - self.logins_before
        holds = running == total and logins == 0
        print(
            f"  {total:4d} services: started in {start_all:6.2f} s; running after idle: "
            f"{running}; a `true` job then took {job * 1000:.0f} ms; new SSH logins by "
            f"the server: {logins}{'' if holds else '  <- does not hold'}"
        )
        return holds

    def logins(self) -> int:
        return self.sshd.log_path.read_text().count("Accepted publickey")

    def running(self, workspace_id: str) -> int:
        services = self.client.call(SERVICES, id=workspace_id)["services"]
        return sum(1 for service in services if service["status"] == "RUNNING")

    def stop_all(self) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda id: self.client.call(STOP, id=id, name=None), self.ids))


def check_job(client: Client, workspace_id: str) -> None:
    operation = client.call(RUN_JOB, id=workspace_id)["operation"]
    assert operation["exitCode"] == 0, operation


def plain_ssh(sshd: SshServer, root: Path) -> None:
    known_hosts = root / "known_hosts"
    if not known_hosts.exists():
        known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_public_key}\n")
    subprocess.run(
        [
            "ssh",
            "-i",
            str(sshd.user_key),
            "-p",
            str(sshd.port),
            "-o",
            "BatchMode=yes",
            "-o",
            f"UserKnownHostsFile={known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            f"{sshd.user}@127.0.0.1",
            "true",
        ],
        check=True,
        capture_output=True,
    )


def timed(action: Any) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

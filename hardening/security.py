"""The security pass: who may call what, secrets kept out of answers and logs, and
token checks that do not tell how much of a wrong token was right.

    scripts/harden security [--postgres URL] [--timing-rounds N]

Runs the authorization matrix of tests/support/authz.py (mutations and queries
against the app in this process, subscriptions over WebSockets to a `worksite
serve` process), then looks for the secrets it used (operator and agent tokens,
SSH private keys) in every answer, every file of both data directories and the
server's output, and last times `authenticate` for wrong tokens that share a
long prefix with a real one and for wrong tokens that share none. The timing is
printed only: it is a figure to read, not a pass or fail.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.api import Api
from tests.support.authz import (
    CALLERS,
    MATRIX,
    Outcome,
    build_world,
    check_mutations_and_queries,
    check_subscriptions,
    missing_rows,
)
from tests.support.secrets import SecretScan, key_material
from tests.support.server import ServerProcess
from tests.support.services import START
from tests.support.supervisors import stop_supervisors
from worksite import db
from worksite.app import create_app
from worksite.domain.auth import authenticate, hash_token
from worksite.models import Agent
from worksite.settings import Settings

OPERATOR_TOKEN = "harden-security-operator-token"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL of an empty database to use")
    parser.add_argument("--timing-rounds", type=int, default=3000)
    args = parser.parse_args()
    # The matrix makes the in-process app refuse on purpose, about eighty times; its
    # warnings would bury the table. The served process's output is still scanned.
    logging.getLogger("worksite").setLevel(logging.ERROR)
    return asyncio.run(run(args.postgres, args.timing_rounds))


async def run(postgres: str | None, rounds: int) -> int:
    with tempfile.TemporaryDirectory(prefix="worksite-security-") as tmp:
        root = Path(tmp)
        repo = make_repo(root / "repo")
        secrets: dict[str, str] = {"operator token": OPERATOR_TOKEN}
        answers: list[Outcome] = []

        http_dir = root / "in-process"
        settings = await settings_for(http_dir, postgres or f"sqlite://{root / 'a.sqlite3'}")
        app = create_app(settings, migrate=False)
        try:
            async with app.router.lifespan_context(app):
                transport = httpx2.ASGITransport(app=app)
                async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
                    api = Api(client, settings, OPERATOR_TOKEN)
                    world = await build_world(api, repo)
                    answers += await check_mutations_and_queries(api, world)
                    timing = await token_timing(world.tokens["assigned"], rounds)
                    stored = await Agent.all().values_list("token_hash", flat=True)
        finally:
            stop_supervisors(http_dir)
        secrets |= agent_secrets(world)
        assert hash_token(world.tokens["assigned"]) in stored

        server_dir = root / "server"
        server_db = f"sqlite://{root / 'b.sqlite3'}"
        await settings_for(server_dir, server_db)
        server = ServerProcess(server_dir, server_db, OPERATOR_TOKEN)
        server.start()
        try:
            async with httpx2.AsyncClient(base_url=server.url, timeout=120) as client:
                api = Api(client, settings, OPERATOR_TOKEN)
                world = await build_world(api, repo)
                web = {"id": world.workspace, "name": "web", "wait": True}
                await api.ok(START, web)
                answers += await check_subscriptions(server.ws_url, world)
        finally:
            server.stop()
            stop_supervisors(server_dir)
        secrets |= {f"server {k}": v for k, v in agent_secrets(world).items()}

        print_matrix(answers)
        scan = SecretScan(secrets)
        for outcome in answers:
            scan.answer(f"{outcome.case.name} as {outcome.caller}", outcome.body)
        scan.tree(http_dir)
        scan.tree(server_dir)
        print_scan(scan)
        print_timing(timing, rounds)
        return 1 if scan.hits or missing_rows() else 0


async def settings_for(data_dir: Path, url: str) -> Settings:
    data_dir.mkdir(parents=True)
    await db.migrate(url)
    return Settings(data_dir=data_dir, database_url=url, operator_token=OPERATOR_TOKEN)


def make_repo(repo: Path) -> Path:
    repo.mkdir(parents=True)
    identity = ["-c", "user.name=Worksite", "-c", "user.email=harden@worksite.invalid"]
    for command in (
        ["init", "--quiet", "--initial-branch=main"],
        [*identity, "commit", "--quiet", "--allow-empty", "-m", "first"],
    ):
        subprocess.run(["git", *command], cwd=repo, check=True)
    return repo


def agent_secrets(world: object) -> dict[str, str]:
    found: dict[str, str] = {}
    for caller in ("assigned", "other"):
        found[f"{caller} agent token"] = world.tokens[caller]  # type: ignore[attr-defined]
    for n, key in enumerate(world.private_keys, 1):  # type: ignore[attr-defined]
        found |= {f"key {n} {name}": line for name, line in key_material(key).items()}
    return found


async def token_timing(agent_token: str, rounds: int) -> dict[str, float]:
    """Median microseconds of `authenticate` for each kind of token."""

    def flip(char: str) -> str:
        return "A" if char != "A" else "B"

    kinds = {
        "agent token, right": agent_token,
        "agent token, last character wrong": agent_token[:-1] + flip(agent_token[-1]),
        "agent token, first character wrong": flip(agent_token[0]) + agent_token[1:],
        "agent-length token, all wrong": "x" * len(agent_token),
        "operator token, right": OPERATOR_TOKEN,
        "operator token, last character wrong": OPERATOR_TOKEN[:-1] + "X",
        "operator token, first character wrong": "X" + OPERATOR_TOKEN[1:],
        "short token": "x",
    }
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind, token in kinds.items():  # interleaved, so drift hits each kind alike
            started = time.perf_counter()
            await authenticate(token, OPERATOR_TOKEN)
            samples[kind].append((time.perf_counter() - started) * 1e6)
    return {kind: statistics.median(values) for kind, values in samples.items()}


def print_matrix(outcomes: list[Outcome]) -> None:
    by_case: dict[str, dict[str, Outcome]] = {}
    for outcome in outcomes:
        name = f"{outcome.case.kind[:3]} {outcome.case.name}"
        by_case.setdefault(name, {})[outcome.caller] = outcome
    width = max(len(name) for name in by_case)
    print("authorization matrix (expected outcome, checked; answer in brackets)")
    print(f"{'operation':<{width}}  " + "  ".join(f"{c:<28}" for c in CALLERS))
    for name in sorted(by_case):
        cells = []
        for caller in CALLERS:
            o = by_case[name][caller]
            cells.append(f"{o.expected} [{o.answer}]"[:28].ljust(28))
        print(f"{name:<{width}}  " + "  ".join(cells))
    counts = Counter(o.expected for o in outcomes)
    kinds = Counter(case.kind for case in MATRIX)
    print(
        f"\n{len(MATRIX)} rows ({kinds['mutation']} mutation, {kinds['query']} query, "
        f"{kinds['subscription']} subscription) x {len(CALLERS)} callers = {len(outcomes)} "
        "checks, all as expected: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    )
    missing = missing_rows()
    print(f"operations of schema.graphql without a row: {missing or 'none'}\n")


def print_scan(scan: SecretScan) -> None:
    print(
        f"secret scan: {len(scan.secrets)} secrets looked for in {scan.answers} answers and "
        f"{scan.files} files, {scan.bytes / 1e3:.0f} kB in all; hits: {len(scan.hits)}"
    )
    for hit in scan.hits:
        print(f"  HIT {hit}")
    print()


def print_timing(timing: dict[str, float], rounds: int) -> None:
    print(f"token checks, median of {rounds} calls of authenticate() each (microseconds):")
    for kind, median in timing.items():
        print(f"  {kind:<40} {median:8.1f}")


if __name__ == "__main__":
    raise SystemExit(main())

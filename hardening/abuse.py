"""GraphQL abuse against a real server: `scripts/harden abuse [--rounds N]`.

Starts `worksite serve` on SQLite in a temporary directory and fires each kind of
abusive request (deep, wide, aliased, costly, fragment bombs, huge documents and
bodies, batches, invalid Unicode, deep JSON, oversized subscriptions and WebSocket
frames). For each it prints the status, the error message, the time the server took
to refuse it, and the server's RSS before and after; then the latency of a normal
query while abuse is being fired from another connection, beside its latency at rest.
Exits 1 when an abusive request was not refused or the server stopped answering.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2
from websockets.exceptions import ConnectionClosed

from tests.support.gqlws import GraphQLWebSocket
from tests.support.server import ServerProcess
from worksite.api import limits

TOKEN = "abuse-operator-token"
NORMAL = {"query": "query { viewer { role } projects { id key } }"}


def nested(depth: int) -> str:
    return "query { issues { " + "parent { " * depth + "id" + " }" * (depth + 1) + " }"


def fragment_bomb(levels: int) -> str:
    fragments = ["fragment F0 on Project { id name }"] + [
        f"fragment F{i} on Project {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return f"query {{ projects {{ ...F{levels} }} }} " + " ".join(fragments)


def http_abuses() -> list[tuple[str, Callable[[], bytes]]]:
    """(kind, body) for every HTTP abuse; bodies are built when fired."""

    def body(query: str, **extra: Any) -> bytes:
        return json.dumps({"query": query, **extra}).encode()

    return [
        ("deep nesting (depth 200)", lambda: body(nested(200))),
        ("wide (4,999 fields)", lambda: body("query { viewer { " + "role " * 4990 + "} }")),
        ("tokens (50,000)", lambda: body("query { viewer { " + "role " * 50_000 + "} }")),
        (
            "aliases (300 x projects)",
            lambda: body(
                "query { " + " ".join(f"a{i}: projects {{ id }}" for i in range(300)) + " }"
            ),
        ),
        (
            "cost (lists nested 6 deep)",
            lambda: body(
                "query { projects { issues { children { children { children { children "
                "{ id } } } } } } }"
            ),
        ),
        ("fragment bomb (2**60 fields)", lambda: body(fragment_bomb(60))),
        (
            "huge document (1 MiB of comment)",
            lambda: body("#" + "x" * 2**20 + "\n{ viewer { role } }"),
        ),
        (
            "huge body (50 MiB)",
            lambda: body("{ viewer { role } }", variables={"x": "a" * 50 * 2**20}),
        ),
        ("batch of 100", lambda: json.dumps([NORMAL] * 100).encode()),
        (
            "lone surrogate in a variable",
            lambda: body(
                "mutation($i: CreateAgentInput!) { createAgent(input: $i) { __typename } }",
                variables={"i": {"name": "\ud800"}},
            ),
        ),
        (
            "JSON nested 500,000 deep",
            lambda: (
                b'{"query": "{ viewer { role } }", "variables": {"x": '
                + b"[" * 500_000
                + b"]" * 500_000
                + b"}}"
            ),
        ),
    ]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def normal_latency(http: httpx2.Client) -> float:
    started = time.perf_counter()
    answer = http.post("/graphql", json=NORMAL)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200 or answer.json().get("errors"):
        raise RuntimeError(f"a normal query failed: {answer.status_code} {answer.text[:200]}")
    return elapsed


def fire_http(http: httpx2.Client, payload: bytes) -> tuple[int, str, float]:
    started = time.perf_counter()
    answer = http.post("/graphql", content=payload, headers={"Content-Type": "application/json"})
    elapsed = time.perf_counter() - started
    try:
        message = answer.json()["errors"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        message = answer.text[:120]
    return answer.status_code, message, elapsed


async def fire_websocket(server: ServerProcess) -> list[tuple[str, str, str, float]]:
    results = []
    async with GraphQLWebSocket.connect(server.ws_url, TOKEN) as client:
        for kind, document in (
            (
                "subscription document over the size limit",
                "#" + "x" * 2**20 + '\nsubscription { runChanged(projectId: "x") { __typename } }',
            ),
            (
                "subscription fragment bomb",
                'subscription { workspaceChanged(projectId: "x") '
                "{ ... on ExecutionWorkspace { project { ...F60 } } } } "
                + fragment_bomb(60).split(" } } ", 1)[1],
            ),
        ):
            started = time.perf_counter()
            message = await client.message(await client.subscribe(document))
            elapsed = time.perf_counter() - started
            payload = message.get("payload")
            text = payload[0]["message"] if isinstance(payload, list) else str(payload)[:120]
            results.append((kind, message["type"], text, elapsed))

        started = time.perf_counter()
        await client.websocket.send("x" * (limits.MAX_WS_MESSAGE_BYTES * 4))
        try:
            while True:
                await asyncio.wait_for(client.websocket.recv(), 60)
        except ConnectionClosed as closed:
            frame = closed.rcvd
            results.append(
                (
                    f"WebSocket frame of {limits.MAX_WS_MESSAGE_BYTES * 4 // 2**20} MiB",
                    f"close {frame.code if frame else None}",
                    frame.reason if frame else "",
                    time.perf_counter() - started,
                )
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times each HTTP abuse is fired (the median time is shown)",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="worksite-abuse-") as tmp:
        data_dir = Path(tmp) / "data"
        server = ServerProcess(data_dir, f"sqlite://{Path(tmp) / 'worksite.sqlite3'}", TOKEN)
        server.start()
        try:
            return run(server, options.rounds)
        finally:
            server.stop()


def run(server: ServerProcess, rounds: int) -> int:
    assert server.process is not None
    pid = server.process.pid
    failures = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx2.Client(base_url=server.url, headers=headers, timeout=120, trust_env=False) as http:
        at_rest = [normal_latency(http) for _ in range(20)]
        print(
            f"limits: body {limits.MAX_BODY_BYTES} B, document {limits.MAX_DOCUMENT_BYTES} B, "
            f"tokens {limits.MAX_TOKENS}, depth {limits.MAX_DEPTH}, aliases "
            f"{limits.MAX_ALIASES}, cost {limits.MAX_COST}, WebSocket frame "
            f"{limits.MAX_WS_MESSAGE_BYTES} B; batches refused"
        )
        print(f"normal query at rest: median {statistics.median(at_rest) * 1000:.1f} ms\n")
        print(
            f"{'abuse':40} {'status':>7} {'refused in':>11} {'RSS before':>11} "
            f"{'RSS after':>10}  message"
        )
        for kind, build in http_abuses():
            payload = build()
            before = rss_kib(pid)
            answers = [fire_http(http, payload) for _ in range(rounds)]
            after = rss_kib(pid)
            status, message, _ = answers[-1]
            elapsed = statistics.median(a[2] for a in answers)
            refused = status in (400, 413) or (status == 200 and message and "data" not in message)
            failures += 0 if refused else 1
            print(
                f"{kind:40} {status:>7} {elapsed * 1000:8.1f} ms {before:>7} KiB "
                f"{after:>6} KiB  {message[:110]}",
                flush=True,
            )

        before = rss_kib(pid)
        for kind, kind_of_answer, message, elapsed in asyncio.run(fire_websocket(server)):
            failures += 0 if kind_of_answer in ("error", "close 1009") else 1
            print(
                f"{kind:40} {kind_of_answer:>7} {elapsed * 1000:8.1f} ms {before:>7} KiB "
                f"{rss_kib(pid):>6} KiB  {message[:110]}",
                flush=True,
            )

        under_fire = latency_under_fire(server, http)
        print(
            f"\nnormal query while abuse is fired from another connection: median "
            f"{statistics.median(under_fire) * 1000:.1f} ms, max {max(under_fire) * 1000:.1f} ms "
            f"({len(under_fire)} queries); at rest median "
            f"{statistics.median(at_rest) * 1000:.1f} ms"
        )
        after = [normal_latency(http) for _ in range(20)]
        print(
            f"normal query afterwards: median {statistics.median(after) * 1000:.1f} ms; "
            f"server RSS {rss_kib(pid)} KiB"
        )
    print(f"\n{failures} abuse kinds not refused")
    return 1 if failures else 0


def latency_under_fire(server: ServerProcess, http: httpx2.Client) -> list[float]:
    """Normal queries on one connection while another fires every abuse, twice over."""
    done = threading.Event()

    def fire() -> None:
        with httpx2.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=120,
            trust_env=False,
        ) as attacker:
            for _ in range(2):
                for _, build in http_abuses():
                    fire_http(attacker, build())
        done.set()

    attacker = threading.Thread(target=fire)
    attacker.start()
    latencies = []
    while not done.is_set() or not latencies:
        latencies.append(normal_latency(http))
    attacker.join()
    return latencies


if __name__ == "__main__":
    sys.exit(main())

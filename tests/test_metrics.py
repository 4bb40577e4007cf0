"""/metrics: the Prometheus text format, read back with a strict parser, and numbers
that follow workspaces, services, operations and subscribers."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

from tests.support.api import Api
from tests.support.scenarios import WORKSPACE_CHANGED
from tests.support.services import checked_out, project_with, started, stop
from worksite.metrics import CONTENT_TYPE

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
VALUE = r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf)|NaN"
PAIR = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"'
SAMPLE = re.compile(rf"({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? ({VALUE})")
COMMENT = re.compile(rf"# (HELP|TYPE) ({NAME}) (.*)")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Series:
    """The samples of a text exposition; AssertionError at the first line that breaks it."""
    assert text.endswith("\n"), "the exposition ends with a line feed"
    types: dict[str, str] = {}
    series: Series = {}
    for number, line in enumerate(text.splitlines(), 1):
        comment = COMMENT.fullmatch(line)
        if comment:
            kind, name, rest = comment.groups()
            if kind == "TYPE":
                assert rest in TYPES and name not in types, f"line {number}: {line!r}"
                types[name] = rest
            continue
        sample = SAMPLE.fullmatch(line)
        assert sample, f"line {number} is not a sample: {line!r}"
        name, labels, value = sample.groups()
        family = _family(name, types)
        assert family is not None, f"line {number}: {name} has no TYPE before it"
        pairs = frozenset(re.findall(PAIR, labels or ""))
        assert (name, pairs) not in series, f"line {number}: a duplicate series"
        series[(name, pairs)] = float(value.replace("Inf", "inf"))
    _check_histograms(series, types)
    return series


def _family(name: str, types: dict[str, str]) -> str | None:
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name.removesuffix(suffix)
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return None


def _check_histograms(series: Series, types: dict[str, str]) -> None:
    for family in (name for name, kind in types.items() if kind == "histogram"):
        buckets: defaultdict[frozenset[tuple[str, str]], list[tuple[float, float]]]
        buckets = defaultdict(list)
        for (name, labels), value in series.items():
            if name == f"{family}_bucket":
                le = dict(labels)["le"]
                buckets[labels - {("le", le)}].append((float(le.replace("+Inf", "inf")), value))
        for labels, points in buckets.items():
            counts = [count for _, count in sorted(points)]
            assert counts == sorted(counts), f"{family}{set(labels)}: buckets must not decrease"
            assert sorted(points)[-1][0] == math.inf
            assert counts[-1] == series[(f"{family}_count", labels)]


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


async def scrape(api: Api) -> Series:
    operator = {"Authorization": f"Bearer {api.operator_token}"}
    response = await api.client.get("/metrics", headers=operator)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE
    return parse(response.text)


def test_the_parser_refuses_what_prometheus_would() -> None:
    good = '# TYPE a gauge\na{x="1"} 2\n'
    assert parse(good) == {("a", frozenset({("x", "1")})): 2.0}
    bad_ones = (
        "a 1\n",
        "# TYPE a gauge\na{x=1} 2\n",
        "# TYPE a gauge\na 1\na 2\n",
        "# TYPE a gauge\na one\n",
        "# TYPE a gauge\na 1",
    )
    for bad in bad_ones:
        try:
            parse(bad)
        except AssertionError:
            continue
        raise AssertionError(f"accepted {bad!r}")


async def test_metrics_need_the_operator_token(api: Api) -> None:
    _, agent_token = await api.agent()

    anonymous = await api.client.get("/metrics")
    wrong = await api.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    agent = await api.client.get("/metrics", headers={"Authorization": f"Bearer {agent_token}"})

    assert (anonymous.status_code, wrong.status_code, agent.status_code) == (401, 401, 403)


async def test_metrics_follow_workspaces_services_operations_and_subscribers(
    api: Api, git_repo: Path
) -> None:
    before = await scrape(api)
    assert value(before, "worksite_workspaces", status="active") == 0
    assert value(before, "worksite_live_subscriptions") == 0

    service = {"name": "web", "kind": "service", "command": "echo up; exec sleep 600"}
    project_id, agent_id, token = await project_with(
        api, git_repo, [service], provisionCommand="echo provisioned"
    )
    workspace = await checked_out(api, project_id, agent_id, token)
    await started(api, workspace, "web")
    async with api.subscribe(WORKSPACE_CHANGED, {"projectId": workspace.project_id}) as events:
        await anext(events)
        during = await scrape(api)
    await stop(api, workspace, "web")
    after = await scrape(api)

    assert value(during, "worksite_workspaces", status="active") == 1
    assert value(during, "worksite_services", status="running") == 1
    assert value(during, "worksite_live_subscriptions") == 1
    assert value(during, "worksite_log_bytes") > 0
    provisions = value(during, "worksite_operations_total", kind="provision", status="succeeded")
    assert provisions == 1
    assert value(during, "worksite_operation_duration_seconds_count", kind="provision") == 1
    assert value(during, "process_resident_memory_bytes") > 0
    assert value(after, "worksite_services", status="running") == 0
    assert value(after, "worksite_services", status="stopped") == 1
    assert value(after, "worksite_live_subscriptions") == 0
    assert value(after, "worksite_operations_total", kind="stop", status="succeeded") == 1

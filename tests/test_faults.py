"""Faults, bounded: the server SIGKILLed mid-operation, PostgreSQL stopped and started,
the logs' disk full. `scripts/harden faults` runs the same with more rounds and prints
figures; see hardening/faults.py for what each checks.
"""

from __future__ import annotations

import asyncio
import os
import random
import re

import pytest

from hardening import faults
from tests.conftest import new_postgres_database

# Printed, so that a failing run can be repeated: WORKSITE_FAULTS_SEED=<seed>.
SEED = int(os.environ.get("WORKSITE_FAULTS_SEED") or random.randrange(1 << 30))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_during_each_kind_of_operation_breaks_no_invariant(
    backend: str, request: pytest.FixtureRequest
) -> None:
    database_url = None
    if backend == "postgres":
        database_url = new_postgres_database(request.getfixturevalue("postgres"))

    report = faults.kill_rounds(len(faults.KINDS), SEED, database_url, report=print)

    assert {result.kind for result in report.results} == set(faults.KINDS)
    # Each kind was timed unkilled first; its kills wait no longer than 1.2 times that.
    for result in report.results:
        assert result.delay <= faults.KILL_WINDOW_STRETCH * report.durations[result.kind]
    assert report.passed == len(report.results), "\n".join(report.lines())


def test_requests_fail_clearly_while_postgresql_is_down_and_the_server_recovers() -> None:
    report = faults.with_cluster(
        lambda cluster, url: asyncio.run(faults.database_outage(cluster, url))
    )

    assert not report.problems, "\n".join(report.lines())
    assert report.subscription_open
    assert [answer[3] for answer in report.answers] == [
        "The database is unavailable; try again shortly. (code DATABASE_UNAVAILABLE)"
    ] * 2


def test_a_full_disk_stops_the_log_with_a_marker_and_the_service_goes_on() -> None:
    report = faults.disk_full()

    assert not report.problems, "\n".join(report.lines())
    assert report.marker and report.grew_after == 0 and report.service_alive
    # A job that could not log is not started: it fails as an operation, not as an
    # internal error, and its log has no room for the reason, so the excerpt carries it.
    assert report.job_while_full.startswith("FAILED"), report.job_while_full
    assert re.search(
        r"could not start on this machine: .*the disk of the logs has \d+ bytes free",
        report.job_while_full,
    ), report.job_while_full

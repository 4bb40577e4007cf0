"""The load run of hardening/load.py, small: it asserts only the loss checks.

A few workspaces, ten subscribers and two agents for about ten seconds against a
real server on each database; every log line reaches every subscriber of its log
once and in order, every call that succeeded is recorded, every run ends, every
row stream ends on the rows as they are. No figure is asserted: the machine may
be slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening import load
from tests.support.server import ServerProcess

SMALL = load.LoadConfig(
    seconds=10.0, workspaces=3, subscribers=10, agents=2, operators=1, rate=20.0
)


@pytest.mark.load
@pytest.mark.timeout(400)
async def test_a_small_load_run_loses_nothing(server: ServerProcess, tmp_path: Path) -> None:
    report = await load.run(server, tmp_path, SMALL)
    assert not report.failures, report.text()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"agents": 4, "workspaces": 3}, "--agents"),
        ({"seconds": 0}, "--seconds"),
        ({"subscribers": 5}, "--subscribers"),
        ({"rate": -1}, "--rate"),
    ],
)
def test_a_run_that_could_not_be_made_is_refused_naming_the_option(
    options: dict[str, float], named: str
) -> None:
    with pytest.raises(ValueError, match=f"^{named}: expected"):
        load.LoadConfig(**options)  # type: ignore[arg-type]

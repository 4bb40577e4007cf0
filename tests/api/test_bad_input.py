"""Every mutation against bad input: a typed answer, no change on error, nothing run.

The properties live in tests/support/bad_input.py; `scripts/harden input` runs them
with many more examples and prints the counts. Here each runs a small, derandomized
number of examples on SQLite; test_bad_input_postgres.py runs a few on PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import OPERATOR_TOKEN
from tests.support.bad_input import WorldRunner, cases, make_repo, run_case
from tests.support.supervisors import stop_supervisors
from worksite.api.schema import schema
from worksite.settings import Settings

EXAMPLES = 10
CASES = {case.name: case for case in cases()}


def world_runner(tmp: Path, database_url: str) -> Iterator[WorldRunner]:
    data_dir = tmp / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir, database_url=database_url, operator_token=OPERATOR_TOKEN)
    runner = WorldRunner()
    try:
        with runner.running(settings, OPERATOR_TOKEN, make_repo(tmp / "repo"), tmp / "outside"):
            yield runner
    finally:
        stop_supervisors(data_dir)


@pytest.fixture(scope="module")
def sqlite_world(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[WorldRunner]:
    tmp = tmp_path_factory.mktemp("bad-input-sqlite")
    shutil.copyfile(sqlite_template, tmp / "worksite.sqlite3")
    yield from world_runner(tmp, f"sqlite://{tmp / 'worksite.sqlite3'}")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(CASES))
def test_mutation_answers_bad_input_with_a_typed_error_and_no_change(
    sqlite_world: WorldRunner, name: str
) -> None:
    counts = run_case(sqlite_world, CASES[name], EXAMPLES)
    assert sum(counts.values()) >= EXAMPLES


def test_every_mutation_of_the_schema_has_its_bad_input_case() -> None:
    mutations = set(schema._schema.mutation_type.fields)  # type: ignore[union-attr]
    assert mutations == {case.name for case in cases()}

"""A few of the bad-input properties on PostgreSQL, whose text and JSON types refuse
what SQLite stores (NUL, invalid Unicode). A module of its own: one world at a time
holds the ORM's global connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.test_bad_input import CASES, world_runner
from tests.conftest import new_postgres_database
from tests.support.bad_input import WorldRunner, run_case

EXAMPLES = 6
ON_POSTGRES = (
    "createProject",
    "updateProjectWorkspace",
    "createIssue",
    "saveExecutionWorkspace",
    "createEnvironment",
)


@pytest.fixture(scope="module")
def postgres_world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[WorldRunner]:
    url = new_postgres_database(request.getfixturevalue("postgres"))
    yield from world_runner(tmp_path_factory.mktemp("bad-input-postgres"), url)


@pytest.mark.postgres
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", ON_POSTGRES)
def test_mutation_answers_bad_input_on_postgres(postgres_world: WorldRunner, name: str) -> None:
    counts = run_case(postgres_world, CASES[name], EXAMPLES)
    assert sum(counts.values()) >= EXAMPLES

"""Fixtures shared by the whole suite.

Database tests run twice, on SQLite and on a real PostgreSQL cluster that the
session starts on a free loopback port. Each test gets a fresh database copied
from one migrated template, and a data directory of its own.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest

from tests.support.api import Api
from tests.support.postgres import PostgresCluster
from tests.support.server import ServerProcess
from tests.support.sshd import SshServer
from tests.support.supervisors import stop_supervisors
from worksite import db
from worksite.app import create_app
from worksite.settings import Settings, port_range

OPERATOR_TOKEN = "operator-test-token"
# Suites running side by side on one machine lease "auto" ports from ranges of their
# own, so one suite's service does not bind a port another suite just leased. The
# servers the suite starts as processes read it from the environment.
_first_port = 20000 + (os.getpid() % 23) * 500
os.environ.setdefault("WORKSITE_SERVICE_PORTS", f"{_first_port}-{_first_port + 499}")
SERVICE_PORTS = port_range(os.environ["WORKSITE_SERVICE_PORTS"])
BACKENDS = ("sqlite", "postgres")
_database_numbers = itertools.count(1)

# Fresh machines have no git identity; commits made by tests need one.
os.environ.setdefault("GIT_AUTHOR_NAME", "Worksite Tests")
os.environ.setdefault("GIT_AUTHOR_EMAIL", "tests@worksite.invalid")
os.environ.setdefault("GIT_COMMITTER_NAME", "Worksite Tests")
os.environ.setdefault("GIT_COMMITTER_EMAIL", "tests@worksite.invalid")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    try:
        cluster.psql("CREATE DATABASE worksite_template")
        asyncio.run(db.migrate(cluster.url("worksite_template")))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshServer]:
    """An OpenSSH server on a loopback port that the whole session shares."""
    server = SshServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def own_sshd() -> Iterator[SshServer]:
    """An OpenSSH server of this test's own, for tests that stop it or change its key."""
    server = SshServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    asyncio.run(db.migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "worksite.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite://{target}"
    return new_postgres_database(request.getfixturevalue("postgres"))


def new_postgres_database(cluster: PostgresCluster) -> str:
    """The URL of a fresh, migrated database on the session's cluster."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    cluster.psql(f"CREATE DATABASE {name} TEMPLATE worksite_template")
    return cluster.url(name)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    yield Settings(
        data_dir=data_dir,
        database_url=database_url,
        operator_token=OPERATOR_TOKEN,
        service_ports=SERVICE_PORTS,
    )
    # Services and jobs outlive the app by design; the test's end is theirs too.
    stop_supervisors(data_dir)


@asynccontextmanager
async def serve_in_process(settings: Settings) -> AsyncIterator[Api]:
    """The app with its lifespan running, and a client for it; leaving it is a shutdown."""
    app = create_app(settings, migrate=False)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client, settings, OPERATOR_TOKEN)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with serve_in_process(settings) as client:
        yield client


@pytest.fixture
def server(settings: Settings) -> Iterator[ServerProcess]:
    """A real `worksite serve` process on the test's database and data directory."""
    process = ServerProcess(settings.data_dir, settings.database_url, OPERATOR_TOKEN)
    try:
        process.start()
        yield process
    finally:
        process.stop()
        stop_supervisors(settings.logs_dir)


@pytest.fixture
async def server_api(server: ServerProcess, settings: Settings) -> AsyncIterator[Api]:
    """The test API client, talking HTTP to the `server` process."""
    async with httpx2.AsyncClient(base_url=server.url, timeout=120.0) as client:
        yield Api(client, settings, OPERATOR_TOKEN)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real repository with two commits on `main`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "README.md").write_text("# demo\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "first")
    (repo / "app.py").write_text("print('hello')\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "second")
    return repo

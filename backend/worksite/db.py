"""Database configuration and migrations (Tortoise native migrations)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

log = logging.getLogger(__name__)

MODELS = ["worksite.models"]


def tortoise_config(database_url: str) -> dict[str, object]:
    """The Tortoise config for one database URL; migrations live in `migrations/`.

    The connection is named after the dialect: Tortoise caches prepared SQL by
    connection name, so a process that opens SQLite and then PostgreSQL (the test
    suite) must not reuse one name for both.
    """
    dialect = database_url.split(":", 1)[0]
    return {
        "connections": {dialect: _with_sqlite_defaults(database_url)},
        "apps": {
            "worksite": {
                "models": MODELS,
                "default_connection": dialect,
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _with_sqlite_defaults(database_url: str) -> str:
    """SQLite in WAL mode with synchronous=NORMAL unless the URL says otherwise.

    NORMAL skips the fsync on every commit; the database stays consistent after a
    crash of the server (and after a power loss it only loses the last commits).
    FULL would make each commit wait for the disk, and on ext4 such an fsync also
    waits for the files a checkout has just written, which git itself never does.
    """
    if not database_url.startswith("sqlite://") or "synchronous=" in database_url:
        return database_url
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}synchronous=NORMAL"


# Read by the `tortoise` CLI (`tortoise makemigrations`) through pyproject.toml.
TORTOISE_ORM = tortoise_config(
    os.environ.get("WORKSITE_DATABASE_URL", "sqlite://./worksite-data/worksite.sqlite3")
)


def check_url(database_url: str) -> None:
    """Fail early and clearly where the driver would fail late or not at all."""
    if database_url.startswith("sqlite://"):
        path = Path(database_url.removeprefix("sqlite://").split("?", 1)[0])
        if str(path) != ":memory:" and not path.parent.is_dir():
            raise SystemExit(
                f"WORKSITE_DATABASE_URL names an SQLite file in {path.parent}, "
                "which is not a directory"
            )
    elif not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "WORKSITE_DATABASE_URL: expected sqlite://PATH or postgres://..., "
            f"got {database_url.split(':', 1)[0]}:..."
        )


async def migrate(database_url: str) -> None:
    """Apply every pending migration, then close the connections it opened."""
    check_url(database_url)
    await run_migrations(config=tortoise_config(database_url))
    await Tortoise.close_connections()
    log.info("database migrated")


async def connect(database_url: str) -> None:
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()


UNAVAILABLE = "The database is unavailable; try again shortly."


def is_unavailable(error: BaseException | None) -> bool:
    """Whether error (or what caused it) says the database cannot be reached now.

    PostgreSQL stopping or restarting ends connections (asyncpg's connection errors
    and operator interventions such as admin shutdown); while it is down, new
    connections are refused (OSError). The pool reconnects once it is back.
    """
    import asyncpg  # type: ignore[import-untyped]
    from tortoise.exceptions import DBConnectionError

    outage = (
        asyncpg.PostgresConnectionError,
        asyncpg.OperatorInterventionError,
        asyncpg.InterfaceError,
        DBConnectionError,
        ConnectionError,
        TimeoutError,
    )
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, outage):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False

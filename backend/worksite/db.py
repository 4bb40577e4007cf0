"""Database configuration and migrations (Tortoise native migrations)."""

from __future__ import annotations

import logging
import os

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
        "connections": {dialect: database_url},
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


# Read by the `tortoise` CLI (`tortoise makemigrations`) through pyproject.toml.
TORTOISE_ORM = tortoise_config(
    os.environ.get("WORKSITE_DATABASE_URL", "sqlite://./worksite-data/worksite.sqlite3")
)


async def migrate(database_url: str) -> None:
    """Apply every pending migration, then close the connections it opened."""
    await run_migrations(config=tortoise_config(database_url))
    await Tortoise.close_connections()
    log.info("database migrated")


async def connect(database_url: str) -> None:
    await Tortoise.init(
        config=tortoise_config(database_url), _enable_global_fallback=True
    )


async def disconnect() -> None:
    await Tortoise.close_connections()

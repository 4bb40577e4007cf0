"""Database configuration and migrations (Tortoise native migrations)."""

from __future__ import annotations

import logging
import os

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

log = logging.getLogger(__name__)

MODELS = ["worksite.models"]


def tortoise_config(database_url: str) -> dict[str, object]:
    """The Tortoise config for one database URL; migrations live in `migrations/`."""
    return {
        "connections": {"default": database_url},
        "apps": {
            "worksite": {
                "models": MODELS,
                "default_connection": "default",
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

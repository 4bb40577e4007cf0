"""The SQLite connection settings the server runs with."""

from __future__ import annotations

from pathlib import Path

from tortoise import connections

from worksite import db


async def pragma(name: str) -> object:
    rows = await connections.get("sqlite").execute_query_dict(f"PRAGMA {name}")
    return next(iter(rows[0].values()))


async def test_sqlite_runs_in_wal_mode_without_an_fsync_per_commit(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'w.sqlite3'}"
    await db.connect(url)
    try:
        assert await pragma("journal_mode") == "wal"
        assert await pragma("synchronous") == 1  # NORMAL
    finally:
        await db.disconnect()


async def test_a_synchronous_setting_in_the_url_wins(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'w.sqlite3'}?synchronous=FULL"
    await db.connect(url)
    try:
        assert await pragma("synchronous") == 2  # FULL
    finally:
        await db.disconnect()

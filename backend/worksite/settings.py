"""Server settings, read once from the environment.

WORKSITE_DATA_DIR      database, logs, repositories and sandbox workspaces
WORKSITE_DATABASE_URL  defaults to SQLite inside the data directory
WORKSITE_TOKEN         the operator token; generated and kept in the data dir if unset
WORKSITE_CLEANUP_INTERVAL  seconds between automatic cleanup sweeps (default 60)
WORKSITE_SERVICE_PORTS     ports for commands that ask for "auto" (default 20000-31999)
WORKSITE_SECRET_KEY        the key sealing secrets at rest (a Fernet key); generated
                           and kept in the data dir if unset
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

TOKEN_FILE = "operator-token"
# Below Linux's ephemeral range (32768-60999), so outgoing connections do not take
# a leased port before its service binds it.
SERVICE_PORTS = "20000-31999"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    operator_token: str
    # Seconds between automatic cleanup sweeps.
    cleanup_interval: float = 60.0
    # Ports handed to commands whose runtime config asks for "port": "auto".
    service_ports: range = range(20000, 32000)
    # The key that seals secrets at rest; None: the key file in the data directory.
    secret_key: str | None = field(default=None, repr=False)

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def repos_dir(self) -> Path:
        return self.data_dir / "repos"

    @property
    def sandbox_dir(self) -> Path:
        return self.data_dir / "workspaces"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment, creating the data directory."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("WORKSITE_DATA_DIR") or "./worksite-data").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = env.get("WORKSITE_DATABASE_URL") or (f"sqlite://{data_dir / 'worksite.sqlite3'}")
    token = env.get("WORKSITE_TOKEN") or _stored_token(data_dir)
    interval = float(env.get("WORKSITE_CLEANUP_INTERVAL") or 60)
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        operator_token=token,
        cleanup_interval=interval,
        service_ports=port_range(env.get("WORKSITE_SERVICE_PORTS") or SERVICE_PORTS),
        secret_key=env.get("WORKSITE_SECRET_KEY") or None,
    )


def port_range(text: str) -> range:
    """ "20000-31999" as a range of ports, both ends included."""
    first, _, last = text.partition("-")
    try:
        ports = range(int(first), int(last) + 1)
    except ValueError:
        ports = range(0)
    if not ports or ports.start < 1 or ports.stop > 65536:
        raise ValueError(
            f"WORKSITE_SERVICE_PORTS: expected FIRST-LAST within 1-65535, like "
            f"{SERVICE_PORTS}, got {text!r}"
        )
    return ports


def _stored_token(data_dir: Path) -> str:
    path = data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    # Created private: the token grants everything an operator can do.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token

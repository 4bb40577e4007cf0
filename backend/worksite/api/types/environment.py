from __future__ import annotations

import strawberry

from worksite.api.types.enums import EnvironmentKind
from worksite.models import Environment as EnvironmentModel


@strawberry.type
class Environment:
    """Where workspaces are made. Keys and secrets never appear here."""

    id: strawberry.ID
    name: str
    kind: EnvironmentKind
    host: str | None
    port: int | None
    user: str | None
    root_dir: str | None


def environment_type(row: EnvironmentModel) -> Environment:
    return Environment(
        id=strawberry.ID(str(row.id)), name=row.name, kind=row.kind, host=row.host,
        port=row.port, user=row.user, root_dir=row.root_dir,
    )

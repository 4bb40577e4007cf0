"""Per-request context: who is calling, the settings, and the request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from strawberry.types import Info as StrawberryInfo

from worksite.api.loaders import Loaders
from worksite.domain.auth import Principal
from worksite.settings import Settings


@dataclass
class Context:
    principal: Principal
    settings: Settings
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    # Workspaces whose command output the caller may read, as found out so far.
    readable_workspaces: dict[UUID, bool] = field(default_factory=dict)


Info = StrawberryInfo[Context, None]

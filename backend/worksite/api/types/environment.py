from __future__ import annotations

import strawberry

from worksite.api.types.enums import EnvironmentKind
from worksite.domain.environments import EnvironmentReport
from worksite.models import Environment as EnvironmentModel


@strawberry.type
class Environment:
    """Where workspaces are made. The private key is never returned."""

    id: strawberry.ID
    name: str
    kind: EnvironmentKind
    host: str | None
    port: int | None
    user: str | None
    root_dir: str | None = strawberry.field(description="Where workspaces are made.")
    host_key: str | None = strawberry.field(
        description="The public key or fingerprint the host must present."
    )
    trust_on_first_use: bool = strawberry.field(
        description="No host key yet: the key the host presents first will be recorded."
    )
    has_private_key: bool = strawberry.field(
        description="Whether a private key is stored (it is never shown)."
    )


def environment_type(row: EnvironmentModel) -> Environment:
    return Environment(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        kind=row.kind,
        host=row.host,
        port=row.port,
        user=row.user,
        root_dir=row.root_dir,
        host_key=row.host_key,
        trust_on_first_use=row.trust_on_first_use,
        has_private_key=bool(row.private_key_encrypted),
    )


@strawberry.type
class EnvironmentCheck:
    """One thing testEnvironment looked at on the host."""

    name: str
    ok: bool
    detail: str


@strawberry.type
class EnvironmentTest:
    """What testEnvironment found: every check, and what is missing (empty: ready)."""

    ok: bool
    checks: list[EnvironmentCheck]
    missing: list[str]
    environment: Environment


def environment_test_type(report: EnvironmentReport, row: EnvironmentModel) -> EnvironmentTest:
    return EnvironmentTest(
        ok=report.ok,
        checks=[EnvironmentCheck(name=c.name, ok=c.ok, detail=c.detail) for c in report.checks],
        missing=list(report.missing),
        environment=environment_type(row),
    )

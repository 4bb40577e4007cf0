from __future__ import annotations

from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import Errors, returns_errors
from worksite.api.inputs import provided
from worksite.api.types.enums import EnvironmentKind
from worksite.api.types.environment import (
    Environment,
    EnvironmentTest,
    environment_test_type,
    environment_type,
)
from worksite.domain import environments
from worksite.models.enums import EnvironmentKind as Kind

EnvironmentResult = Annotated[Environment | Errors, strawberry.union("EnvironmentResult")]
TestEnvironmentResult = Annotated[
    EnvironmentTest | Errors, strawberry.union("TestEnvironmentResult")
]


# Every field is optional here and checked in the domain: a value that GraphQL itself
# refused would be echoed in the error, and the private key must never be echoed.
@strawberry.input
class EnvironmentInput:
    name: str | None = strawberry.UNSET
    host: str | None = strawberry.UNSET
    port: int | None = strawberry.UNSET
    user: str | None = strawberry.UNSET
    private_key: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="An OpenSSH or PEM private key without a passphrase; stored sealed.",
    )
    host_key: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The host's public key (`ssh-ed25519 AAAA...`) or its fingerprint "
        "(`SHA256:...`); null clears it.",
    )
    trust_on_first_use: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Without a host key: record the key the host presents first.",
    )
    root_dir: str | None = strawberry.field(
        default=strawberry.UNSET, description="The absolute directory for workspaces."
    )


@strawberry.input
class CreateEnvironmentInput(EnvironmentInput):
    kind: EnvironmentKind | None = strawberry.field(
        default=strawberry.UNSET, description="SSH, the only kind that can be added."
    )


@strawberry.type
class EnvironmentMutations:
    @strawberry.mutation(description="Add an SSH host where workspaces can be made.")
    @returns_errors
    async def create_environment(
        self, info: Info, input: CreateEnvironmentInput
    ) -> EnvironmentResult:
        fields = provided(input)
        fields["kind"] = Kind(fields.get("kind") or Kind.SSH)
        row = await environments.create_environment(
            info.context.settings, info.context.principal, fields
        )
        return environment_type(row)

    @strawberry.mutation
    @returns_errors
    async def update_environment(
        self, info: Info, id: strawberry.ID, input: EnvironmentInput
    ) -> EnvironmentResult:
        row = await environments.update_environment(
            info.context.settings, info.context.principal, id, provided(input)
        )
        return environment_type(row)

    @strawberry.mutation(description="Connect to the host and check what workspaces need.")
    @returns_errors
    async def test_environment(self, info: Info, id: strawberry.ID) -> TestEnvironmentResult:
        report = await environments.test_environment(
            info.context.settings, info.context.principal, id
        )
        row = await environments.get_environment(id)
        return environment_test_type(report, row)

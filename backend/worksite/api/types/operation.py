from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import ConflictError
from worksite.api.types.enums import OperationCategory, OperationStatus
from worksite.domain.auth import can_access_workspace, require_output_access
from worksite.domain.live import OperationOutput
from worksite.domain.operations import log_dir
from worksite.models import Operation
from worksite.runtime import logs

if TYPE_CHECKING:
    from worksite.api.types.workspace import ExecutionWorkspace

WorkspaceType = Annotated["ExecutionWorkspace", strawberry.lazy("worksite.api.types.workspace")]


@strawberry.type
class LogChunk:
    """A piece of an operation's combined output, from a byte offset."""

    content: str
    next_offset: int
    complete: bool


@strawberry.enum
class OutputStream(str, Enum):
    STDOUT = "stdout"
    STDERR = "stderr"


@strawberry.type
class OutputChunk:
    """Bytes `offset` to `nextOffset` of an operation's log, all from one stream.

    Resume a stream with `nextOffset` to get every later byte exactly once.
    Offsets count bytes; content is UTF-8 with invalid bytes replaced.
    """

    operation_id: strawberry.ID = strawberry.field(
        description="The operation whose log this is (for a service: its run)."
    )
    stream: OutputStream
    content: str
    offset: int
    next_offset: int


def output_chunk_type(output: OperationOutput) -> OutputChunk:
    chunk = output.chunk
    return OutputChunk(
        operation_id=strawberry.ID(str(output.operation_id)),
        stream=OutputStream(chunk.stream),
        content=chunk.content,
        offset=chunk.offset,
        next_offset=chunk.next_offset,
    )


@strawberry.type
class WorkspaceOperation:
    """One thing Worksite ran or did to a workspace."""

    id: strawberry.ID
    category: OperationCategory
    phase: str
    command: str
    service_name: str | None
    status: OperationStatus
    exit_code: int | None
    started_at: datetime
    finished_at: datetime | None
    model: strawberry.Private[Operation]

    @strawberry.field(description="The tail of its standard output.")
    async def stdout_excerpt(self, info: Info) -> str:
        await _require_output_access(info, self.model)
        return self.model.stdout_excerpt

    @strawberry.field(description="The tail of its standard error.")
    async def stderr_excerpt(self, info: Info) -> str:
        await _require_output_access(info, self.model)
        return self.model.stderr_excerpt

    @strawberry.field
    async def workspace(self, info: Info) -> WorkspaceType:
        from worksite.api.types.workspace import workspace_type

        row = await info.context.loaders.workspace.load(self.model.workspace_id)  # type: ignore[attr-defined]
        return workspace_type(row)

    @strawberry.field(description="The full log from `offset` (bytes), at most `limit` bytes.")
    async def log(self, info: Info, offset: int = 0, limit: int = 65536) -> LogChunk:
        await _require_output_access(info, self.model)
        directory = log_dir(info.context.settings, self.model)
        chunk = logs.read(directory, offset, limit)
        finished = self.model.finished_at is not None
        return LogChunk(
            content=chunk.content,
            next_offset=chunk.next_offset,
            complete=finished and chunk.next_offset >= logs.size(directory),
        )


@strawberry.type
class ProvisionFailedError(ConflictError):
    """The provision command failed; its operation holds the output."""

    operation: WorkspaceOperation


def operation_type(row: Operation) -> WorkspaceOperation:
    return WorkspaceOperation(
        id=strawberry.ID(str(row.id)),
        category=row.category,
        phase=row.phase,
        command=row.command,
        service_name=row.service_name,
        status=row.status,
        exit_code=row.exit_code,
        started_at=row.started_at,
        finished_at=row.finished_at,
        model=row,
    )


async def _require_output_access(info: Info, operation: Operation) -> None:
    # Asked once per workspace and request: a list of operations costs one query.
    principal = info.context.principal
    if principal.is_operator:
        return
    workspace_id = operation.workspace_id  # type: ignore[attr-defined]
    readable = info.context.readable_workspaces
    if workspace_id not in readable:
        readable[workspace_id] = await can_access_workspace(principal, workspace_id)
    if not readable[workspace_id]:
        await require_output_access(principal, workspace_id)

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import ConflictError
from worksite.api.types.enums import OperationCategory, OperationStatus
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
        stream=OutputStream(chunk.stream), content=chunk.content,
        offset=chunk.offset, next_offset=chunk.next_offset,
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
    stdout_excerpt: str
    stderr_excerpt: str
    model: strawberry.Private[Operation]

    @strawberry.field
    async def workspace(self, info: Info) -> WorkspaceType:
        from worksite.api.types.workspace import workspace_type

        row = await info.context.loaders.workspace.load(self.model.workspace_id)  # type: ignore[attr-defined]
        return workspace_type(row)

    @strawberry.field(description="The full log from `offset` (bytes), at most `limit` bytes.")
    def log(self, info: Info, offset: int = 0, limit: int = 65536) -> LogChunk:
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
        stdout_excerpt=row.stdout_excerpt,
        stderr_excerpt=row.stderr_excerpt,
        model=row,
    )

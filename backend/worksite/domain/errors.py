"""Errors the domain raises; api/errors.py maps each to a GraphQL union member.

WorksiteError
 +-- NotFound          an id or identifier that names nothing
 +-- InvalidInput      a value that breaks a rule; names the field
 +-- Conflict          a valid request the current state refuses
 |    +-- ProvisionFailed   the provision command failed; carries the operation
 +-- Forbidden         the caller may not do this
 +-- WorkspaceClosed   a live stream's workspace was closed; the stream ends
"""

from __future__ import annotations

from typing import Any


class WorksiteError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(WorksiteError):
    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"No {entity} with id {key!r}.")
        self.entity = entity
        self.key = key


class InvalidInput(WorksiteError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Conflict(WorksiteError):
    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


class ProvisionFailed(Conflict):
    def __init__(self, message: str, operation: Any) -> None:
        super().__init__(message)
        self.operation = operation


class Forbidden(WorksiteError):
    # Raised by a field (not a mutation), it becomes a top-level error with this code.
    extensions = {"code": "FORBIDDEN"}


class WorkspaceClosed(WorksiteError):
    def __init__(self, workspace_id: str, name: str) -> None:
        super().__init__(f"Workspace {name} was closed; this stream has ended.")
        self.workspace_id = workspace_id

"""The GraphQL error types and the one place domain errors become them.

Every mutation returns a union of its success type and these; clients branch on
`__typename`. Unexpected exceptions are not caught here: they reach the client
as a generic top-level error and are logged once with the traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import strawberry

from worksite.domain import errors as domain

P = ParamSpec("P")
R = TypeVar("R")


@strawberry.interface(name="Error")
class Error:
    """Something a client asked for could not be done; the message says why."""

    message: str


@strawberry.type
class NotFoundError(Error):
    """The id or identifier names nothing."""

    entity: str
    key: str


@strawberry.type
class InvalidInputError(Error):
    """A value broke a rule; `field` names it, as the API spells it."""

    field: str


@strawberry.type
class ConflictError(Error):
    """The request is valid but the current state refuses it."""

    reasons: list[str]


@strawberry.type
class ForbiddenError(Error):
    """The caller may not do this."""


@strawberry.type
class WorkspaceClosedError(Error):
    """The workspace a live stream follows was closed; the stream ends."""

    workspace_id: strawberry.ID


def as_error(exc: domain.WorksiteError) -> Error:
    if isinstance(exc, domain.NotFound):
        return NotFoundError(message=exc.message, entity=exc.entity, key=exc.key)
    if isinstance(exc, domain.InvalidInput):
        return InvalidInputError(message=exc.message, field=exc.field)
    if isinstance(exc, domain.ProvisionFailed):
        from worksite.api.types.operation import ProvisionFailedError, operation_type

        return ProvisionFailedError(
            message=exc.message,
            reasons=exc.reasons,
            operation=operation_type(exc.operation),
        )
    if isinstance(exc, domain.Conflict):
        return ConflictError(message=exc.message, reasons=exc.reasons)
    if isinstance(exc, domain.Forbidden):
        return ForbiddenError(message=exc.message)
    if isinstance(exc, domain.WorkspaceClosed):
        return WorkspaceClosedError(
            message=exc.message, workspace_id=strawberry.ID(exc.workspace_id)
        )
    raise TypeError(f"no GraphQL error type for {type(exc).__name__}")


def returns_errors(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[Any]]:
    """Turn the domain's exceptions into union members of the mutation's result."""

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return await resolver(*args, **kwargs)
        except domain.WorksiteError as exc:
            return as_error(exc)

    return wrapper


# The members every mutation result shares: `Project | Errors`.
Errors = NotFoundError | InvalidInputError | ConflictError | ForbiddenError

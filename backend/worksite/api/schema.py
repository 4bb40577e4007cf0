"""The schema: the root Query; Mutation and Subscription merged from per-entity pieces."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from worksite import db, secretbox
from worksite.api import limits
from worksite.api.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    WorkspaceClosedError,
)
from worksite.api.mutations.agents import AgentMutations
from worksite.api.mutations.environments import EnvironmentMutations
from worksite.api.mutations.issues import IssueMutations
from worksite.api.mutations.jobs import JobMutations
from worksite.api.mutations.projects import ProjectMutations
from worksite.api.mutations.services import ServiceMutations
from worksite.api.mutations.workspaces import WorkspaceMutations
from worksite.api.queries import Query
from worksite.api.subscriptions.issues import IssueSubscriptions
from worksite.api.subscriptions.operations import OperationSubscriptions
from worksite.api.subscriptions.runs import RunSubscriptions
from worksite.api.subscriptions.services import ServiceSubscriptions
from worksite.api.subscriptions.workspaces import WorkspaceSubscriptions
from worksite.api.types.operation import ProvisionFailedError
from worksite.domain.errors import Forbidden, WorksiteError

log = logging.getLogger(__name__)
# How much of a refused request's message goes into the log.
MESSAGE_LOG_LIMIT = 1000

Mutation = merge_types(
    "Mutation",
    (
        ProjectMutations,
        AgentMutations,
        IssueMutations,
        WorkspaceMutations,
        ServiceMutations,
        JobMutations,
        EnvironmentMutations,
    ),
)
Subscription = merge_types(
    "Subscription",
    (
        OperationSubscriptions,
        ServiceSubscriptions,
        WorkspaceSubscriptions,
        RunSubscriptions,
        IssueSubscriptions,
    ),
)


def _should_mask(error: GraphQLError) -> bool:
    # Validation errors, variable coercion errors (their original is graphql's own
    # message, "Expected a value of non-null type 'ID!'...") and the domain's own
    # messages are for the client; anything else is an internal failure whose text
    # must not leak.
    original = error.original_error
    return original is not None and not isinstance(original, (WorksiteError, GraphQLError))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # A refusal the domain raised in a field (a read the caller may not make) is
        # expected: one line, no traceback. So is a request GraphQL itself turned away
        # (syntax, validation, a variable of the wrong type, a limit): the client's
        # mistake, told to the client, worth an info line. Anything else is ours, and
        # strawberry logs it in full.
        ours = []
        for error in errors:
            if isinstance(error.original_error, Forbidden):
                log.warning("refused a read: %s (at %s)", error.message, error.path)
            elif error.original_error is None or isinstance(error.original_error, GraphQLError):
                # The message may quote the request's values: a private key among them
                # must not reach the log, nor a megabyte of text.
                message = secretbox.mask(error.message.splitlines()[0])
                log.info("refused a request: %s", message[:MESSAGE_LOG_LIMIT])
            else:
                ours.append(error)
        super().process_errors(ours, execution_context)


class MaskInternalErrors(MaskErrors):
    """Hide internal failures; say plainly when the database cannot be reached."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if not db.is_unavailable(error.original_error):
            return super().anonymise_error(error)
        return GraphQLError(
            db.UNAVAILABLE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "DATABASE_UNAVAILABLE"},
        )


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[
        NotFoundError,
        InvalidInputError,
        ConflictError,
        ForbiddenError,
        ProvisionFailedError,
        WorkspaceClosedError,
    ],
    extensions=[
        # What one request may ask for: api/limits.py explains each limit.
        lambda: MaxTokensLimiter(max_token_count=limits.MAX_TOKENS),
        limits.QueryCostLimiter,
        lambda: QueryDepthLimiter(max_depth=limits.MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=limits.MAX_ALIASES),
        lambda: MaskInternalErrors(
            should_mask_error=_should_mask, error_message="Internal server error."
        ),
    ],
)

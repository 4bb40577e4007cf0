"""Who is calling, and what they may do.

Operators may do everything. An agent acts only on issues assigned to it and on
workspaces linked to those issues, and never changes commands the host executes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

from worksite.domain.errors import Forbidden
from worksite.models import Agent, Issue, IssueWorkspaceLink


@dataclass(frozen=True)
class Principal:
    role: str  # "operator" or "agent"
    name: str
    agent_id: UUID | None = None

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


OPERATOR = Principal(role="operator", name="operator")


def new_token() -> str:
    return "wsa_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def authenticate(token: str, operator_token: str) -> Principal | None:
    """The principal a bearer token names, or None for an unknown or revoked token.

    Neither comparison leaks how much of a wrong token was right: the operator's is
    compared as SHA-256 digests with hmac.compare_digest (constant time), and an
    agent's is found by the SHA-256 digest of what was sent, through the unique
    index on `token_hash`; the database's comparison sees digests, whose shared
    prefix says nothing about the token's.
    """
    if not token:
        return None
    if hmac.compare_digest(hash_token(token), hash_token(operator_token)):
        return OPERATOR
    agent = await Agent.get_or_none(token_hash=hash_token(token), revoked_at=None)
    if agent is None:
        return None
    return Principal(role="agent", name=agent.name, agent_id=agent.id)


def require_operator(principal: Principal, action: str) -> None:
    if not principal.is_operator:
        raise Forbidden(f"Only an operator may {action}.")


def can_access_issue(principal: Principal, issue: Issue) -> bool:
    return principal.is_operator or issue.assignee_id == principal.agent_id  # type: ignore[attr-defined]


def require_issue_access(principal: Principal, issue: Issue) -> None:
    if not can_access_issue(principal, issue):
        raise Forbidden(f"Issue {issue.identifier} is not assigned to agent {principal.name}.")


async def can_access_workspace(principal: Principal, workspace_id: UUID) -> bool:
    if principal.is_operator:
        return True
    return await IssueWorkspaceLink.filter(
        workspace_id=workspace_id, issue__assignee_id=principal.agent_id
    ).exists()


async def require_output_access(principal: Principal, workspace_id: UUID) -> None:
    """Output of commands (logs, excerpts) is read only by those who may act there."""
    if not await can_access_workspace(principal, workspace_id):
        raise Forbidden(
            f"The output of workspace {workspace_id} is not for agent {principal.name}: "
            "the workspace is not linked to one of its issues."
        )


async def require_workspace_access(principal: Principal, workspace_id: UUID) -> None:
    if not await can_access_workspace(principal, workspace_id):
        raise Forbidden(
            f"Workspace {workspace_id} is not linked to an issue of agent {principal.name}."
        )

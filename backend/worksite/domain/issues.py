"""Issues: identifiers, assignment, and how their workspace is chosen."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from worksite.domain import cleanup, validation
from worksite.domain.auth import Principal, require_issue_access, require_operator
from worksite.domain.errors import Forbidden, InvalidInput, NotFound
from worksite.domain.lookup import find
from worksite.domain.projects import get_project
from worksite.events import bus, issues_topic
from worksite.models import Agent, Issue, IssueWorkspaceLink, Project
from worksite.models.enums import IssuePriority, IssueStatus, WorkspaceMode

# Fields an agent may change on its own issues; the rest is the operator's.
AGENT_EDITABLE = {"title", "description", "status", "priority"}
# Values of _issue_values that are rows of another table.
RELATIONS = {"assignee", "parent", "inherit_workspace_from"}


async def get_issue(issue_id: UUID | str) -> Issue:
    return await find(Issue, "issue", "issueId", issue_id)


async def get_issue_by_identifier(identifier: str) -> Issue:
    issue = await Issue.get_or_none(identifier=identifier.strip().upper())
    if issue is None:
        raise NotFound("issue", identifier)
    return issue


async def create_issue(
    principal: Principal, project_id: UUID | str, fields: dict[str, Any]
) -> Issue:
    require_operator(principal, "create issues")
    project = await get_project(project_id)
    values = await _issue_values(project, fields)
    values["title"] = validation.text("title", fields.get("title") or "", 500, required=True)
    async with in_transaction():
        # The row lock taken by this update makes concurrent creators wait their turn.
        await Project.filter(id=project.id).update(issue_counter=F("issue_counter") + 1)
        number = (await Project.get(id=project.id)).issue_counter
        issue = await Issue.create(
            project=project, number=number, identifier=f"{project.key}-{number}", **values
        )
    announce(issue)
    return issue


async def update_issue(principal: Principal, issue_id: UUID | str, fields: dict[str, Any]) -> Issue:
    issue = await get_issue(issue_id)
    require_issue_access(principal, issue)
    if not principal.is_operator and set(fields) - AGENT_EDITABLE:
        names = ", ".join(sorted(validation.camel(f) for f in set(fields) - AGENT_EDITABLE))
        raise Forbidden(f"An agent may not change {names}.")
    project = await Project.get(id=issue.project_id)  # type: ignore[attr-defined]
    values = await _issue_values(project, fields, issue=issue)
    if "title" in fields:
        values["title"] = validation.text("title", fields["title"] or "", 500, required=True)
    issue.update_from_dict(values)
    # Only the fields asked for: a checkout may have linked a workspace or moved the
    # status since the issue was read, and writing every column back would undo it.
    changed = [f"{name}_id" if name in RELATIONS else name for name in values]
    await issue.save(update_fields=[*changed, "updated_at"])
    await issue.refresh_from_db()
    announce(issue)
    links = await IssueWorkspaceLink.filter(issue_id=issue.id)
    await cleanup.refresh([link.workspace_id for link in links])  # type: ignore[attr-defined]
    return issue


def announce(issue: Issue) -> None:
    """Tell followers of the project's issues that this one was created or changed."""
    bus.publish(issues_topic(issue.project_id), issue)  # type: ignore[attr-defined]


async def _issue_values(
    project: Project, fields: dict[str, Any], issue: Issue | None = None
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "description" in fields:
        values["description"] = validation.text("description", fields["description"] or "", 100_000)
    if fields.get("status") is not None:
        values["status"] = IssueStatus(fields["status"])
    if fields.get("priority") is not None:
        values["priority"] = IssuePriority(fields["priority"])
    if "workspace_mode" in fields:
        values["workspace_mode"] = (
            WorkspaceMode(fields["workspace_mode"]) if fields["workspace_mode"] else None
        )
    if "assignee_id" in fields:
        values["assignee"] = await _agent(fields["assignee_id"])
    for field, attribute in (
        ("parent_id", "parent"),
        ("inherit_execution_workspace_from_issue_id", "inherit_workspace_from"),
    ):
        if field in fields:
            values[attribute] = await _related_issue(project, field, fields[field], issue)
    return values


async def _agent(agent_id: UUID | str | None) -> Agent | None:
    if not agent_id:
        return None
    return await find(Agent, "agent", "assigneeId", agent_id)


async def _related_issue(
    project: Project, field: str, value: UUID | str | None, issue: Issue | None
) -> Issue | None:
    if not value:
        return None
    name = validation.camel(field)
    related = await find(Issue, "issue", name, value)
    if related.project_id != project.id:  # type: ignore[attr-defined]
        raise InvalidInput(
            name, f"expected an issue of project {project.key}, got {related.identifier}"
        )
    if issue is not None and await _is_self_or_descendant(related, issue):
        raise InvalidInput(name, f"{related.identifier} would make a cycle with {issue.identifier}")
    return related


async def _is_self_or_descendant(candidate: Issue, issue: Issue) -> bool:
    # Walk up from the candidate; meeting `issue` means the link would loop.
    seen: set[UUID] = set()
    current: Issue | None = candidate
    while current is not None and current.id not in seen:
        if current.id == issue.id:
            return True
        seen.add(current.id)
        parent_id = current.parent_id  # type: ignore[attr-defined]
        current = await Issue.get_or_none(id=parent_id) if parent_id else None
    return False

"""Projects and their project workspaces (the base configuration)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from worksite.domain import runtime_config, validation
from worksite.domain.auth import Principal, require_operator
from worksite.domain.errors import Conflict, InvalidInput
from worksite.domain.lookup import find
from worksite.models import Environment, Project, ProjectWorkspace
from worksite.models.enums import EnvironmentKind, WorkspaceMode
from worksite.settings import Settings

LOCAL_ENVIRONMENT = "local"


async def ensure_local_environment(settings: Settings) -> Environment:
    """The local sandbox exists by default; its root follows the data directory."""
    environment, _ = await Environment.get_or_create(
        name=LOCAL_ENVIRONMENT,
        defaults={"kind": EnvironmentKind.LOCAL, "root_dir": str(settings.sandbox_dir)},
    )
    if environment.root_dir != str(settings.sandbox_dir):
        environment.root_dir = str(settings.sandbox_dir)
        await environment.save(update_fields=["root_dir"])
    settings.sandbox_dir.mkdir(parents=True, exist_ok=True)
    return environment


async def get_project(project_id: UUID | str) -> Project:
    return await find(Project, "project", "projectId", project_id)


async def create_project(
    principal: Principal,
    key: str,
    name: str,
    description: str = "",
    default_workspace_mode: WorkspaceMode = WorkspaceMode.ISOLATED,
) -> Project:
    require_operator(principal, "create projects")
    key = validation.project_key(key)
    name = validation.text("name", name, 200, required=True)
    description = validation.text("description", description, 10_000)
    if await Project.filter(key=key).exists():
        raise Conflict(f"A project with key {key!r} already exists.")
    try:
        return await Project.create(
            key=key,
            name=name,
            description=description,
            default_workspace_mode=default_workspace_mode,
        )
    except IntegrityError:
        raise Conflict(f"A project with key {key!r} already exists.") from None


async def update_project(
    principal: Principal, project_id: UUID | str, fields: dict[str, Any]
) -> Project:
    require_operator(principal, "change projects")
    project = await get_project(project_id)
    values: dict[str, Any] = {}
    if fields.get("name") is not None:
        values["name"] = validation.text("name", fields["name"], 200, required=True)
    if fields.get("description") is not None:
        values["description"] = validation.text("description", fields["description"], 10_000)
    if fields.get("default_workspace_mode") is not None:
        values["default_workspace_mode"] = WorkspaceMode(fields["default_workspace_mode"])
    if "cleanup_retention_seconds" in fields:
        window = fields["cleanup_retention_seconds"]
        if window is not None and not 1 <= window <= 10 * 365 * 86400:
            raise InvalidInput(
                "cleanupRetentionSeconds",
                f"expected seconds from 1 to ten years, or null for off, got {window}",
            )
        values["cleanup_retention_seconds"] = window
    project.update_from_dict(values)
    # Only the settings asked for: issues created meanwhile have moved issue_counter,
    # and writing the counter back as it was read would hand out a number twice.
    if values:
        await project.save(update_fields=list(values))
    await project.refresh_from_db()
    return project


async def create_project_workspace(
    principal: Principal, project_id: UUID | str, fields: dict[str, Any]
) -> ProjectWorkspace:
    require_operator(principal, "create project workspaces")
    project = await get_project(project_id)
    values = await _workspace_values(fields, creating=True)
    values.setdefault("environment", await Environment.get(name=LOCAL_ENVIRONMENT))
    is_first = not await ProjectWorkspace.filter(project=project).exists()
    values["is_primary"] = values.get("is_primary", False) or is_first
    async with in_transaction():
        if values["is_primary"]:
            await ProjectWorkspace.filter(project=project).update(is_primary=False)
        return await ProjectWorkspace.create(project=project, **values)


async def update_project_workspace(
    principal: Principal, workspace_id: UUID | str, fields: dict[str, Any]
) -> ProjectWorkspace:
    require_operator(principal, "change project workspaces")
    workspace = await find(ProjectWorkspace, "project workspace", "id", workspace_id)
    values = await _workspace_values(fields, creating=False)
    if values.get("is_primary") is False and workspace.is_primary:
        raise InvalidInput(
            "isPrimary", "make another project workspace primary instead of unsetting this one"
        )
    async with in_transaction():
        if values.get("is_primary"):
            await ProjectWorkspace.filter(project_id=workspace.project_id).update(  # type: ignore[attr-defined]
                is_primary=False
            )
        workspace.update_from_dict(values)
        if values:
            # Only what was asked for: a concurrent edit of another field stays.
            await workspace.save(
                update_fields=[
                    "environment_id" if name == "environment" else name for name in values
                ]
            )
    return workspace


async def _workspace_values(fields: dict[str, Any], creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in fields or creating:
        values["name"] = validation.text("name", fields.get("name") or "", 200, required=True)
    for key in ("provision_command", "cleanup_command", "teardown_command"):
        if key in fields:
            values[key] = validation.text(validation.camel(key), fields[key] or "", 10_000)
    if fields.get("repo_url"):
        values["repo_url"] = _repo_url(fields["repo_url"])
    if fields.get("base_ref"):
        values["base_ref"] = validation.git_ref("baseRef", fields["base_ref"])
    if fields.get("cwd"):
        values["cwd"] = validation.absolute_path("cwd", fields["cwd"])
    if "is_primary" in fields and fields["is_primary"] is not None:
        values["is_primary"] = bool(fields["is_primary"])
    if "runtime_config" in fields:
        values["runtime_config"] = runtime_config.parse(fields["runtime_config"], "runtimeConfig")
    if fields.get("environment_id"):
        values["environment"] = await find(
            Environment, "environment", "environmentId", fields["environment_id"]
        )
    if creating and not values.get("repo_url") and not values.get("cwd"):
        raise InvalidInput("repoUrl", "expected a repo URL or a local checkout path (cwd)")
    return values


def _repo_url(value: str) -> str:
    value = validation.text("repoUrl", value, 2000).strip()
    allowed = ("https://", "http://", "ssh://", "git://", "file://", "/")
    if value.startswith("-") or not (value.startswith(allowed) or "@" in value.split(":")[0]):
        raise InvalidInput(
            "repoUrl",
            "expected an https://, ssh://, git://, file:// URL, user@host:path "
            f"or an absolute path, got {value!r}",
        )
    if any(ord(c) < 32 for c in value):
        raise InvalidInput("repoUrl", "expected a URL without control characters")
    return value

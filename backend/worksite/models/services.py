from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model

from worksite.models.enums import ServiceHealth, ServiceStatus, check_in

if TYPE_CHECKING:
    from worksite.models.operations import Operation
    from worksite.models.workspaces import ExecutionWorkspace


class RuntimeService(Model):
    """A service command of one workspace: its current run, or its last one.

    One row per (workspace, command name), so a service is never duplicated; the
    process fields describe the run that `start_operation` records.
    """

    id = fields.UUIDField(primary_key=True)
    workspace: fields.ForeignKeyRelation[ExecutionWorkspace] = fields.ForeignKeyField(
        "worksite.ExecutionWorkspace", related_name="services", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    status = fields.CharEnumField(ServiceStatus, max_length=16, default=ServiceStatus.STOPPED)
    health = fields.CharEnumField(ServiceHealth, max_length=16, default=ServiceHealth.UNKNOWN)
    command = fields.TextField(default="")
    cwd = fields.TextField(default="")
    # The readiness check of this run, as the runtime config gave it.
    readiness: Any = fields.JSONField(null=True)
    port = fields.IntField(null=True)
    url: str | None = fields.TextField(null=True)
    pid = fields.IntField(null=True)
    supervisor_pid = fields.IntField(null=True)
    supervisor_start_ticks = fields.BigIntField(null=True)
    start_operation: fields.ForeignKeyNullableRelation[Operation] = fields.ForeignKeyField(
        "worksite.Operation",
        related_name="started_services",
        null=True,
        on_delete=fields.SET_NULL,
    )
    started_at = fields.DatetimeField(null=True)
    ready_at = fields.DatetimeField(null=True)
    stopped_at = fields.DatetimeField(null=True)
    exit_code = fields.IntField(null=True)
    failure_reason: str | None = fields.TextField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "runtime_service"
        # A constraint rather than unique_together: Tortoise 1.1 rebuilds a SQLite
        # table to add a check constraint and forgets unique_together on the way.
        constraints = (
            UniqueConstraint(fields=("workspace", "name"), name="runtime_service_workspace_name"),
            CheckConstraint(check=check_in("status", ServiceStatus), name="runtime_service_status"),
            CheckConstraint(check=check_in("health", ServiceHealth), name="runtime_service_health"),
        )


class PortLease(Model):
    """A port held for one command of one workspace, so no two workspaces share it."""

    id = fields.IntField(primary_key=True)
    port = fields.IntField(unique=True)
    workspace: fields.ForeignKeyRelation[ExecutionWorkspace] = fields.ForeignKeyField(
        "worksite.ExecutionWorkspace", related_name="port_leases", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    leased_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "port_lease"
        unique_together = (("workspace", "name"),)

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from worksite.models.enums import OperationCategory, OperationStatus, check_in

if TYPE_CHECKING:
    from worksite.models.workspaces import ExecutionWorkspace


class Operation(Model):
    """One thing Worksite ran or did to a workspace, with its full log on disk."""

    id = fields.UUIDField(primary_key=True)
    workspace: fields.ForeignKeyRelation[ExecutionWorkspace] = fields.ForeignKeyField(
        "worksite.ExecutionWorkspace", related_name="operations", on_delete=fields.CASCADE
    )
    category = fields.CharEnumField(OperationCategory, max_length=16)
    phase = fields.CharField(max_length=32)
    command = fields.TextField(default="")
    service_name = fields.CharField(max_length=100, null=True)
    status = fields.CharEnumField(OperationStatus, max_length=16, default=OperationStatus.RUNNING)
    exit_code = fields.IntField(null=True)
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    stdout_excerpt = fields.TextField(default="")
    stderr_excerpt = fields.TextField(default="")
    # Directory of the log files, relative to the data directory's logs/.
    log_path = fields.TextField(default="")

    class Meta:
        table = "operation"
        constraints = (
            CheckConstraint(
                check=check_in("category", OperationCategory), name="operation_category"
            ),
            CheckConstraint(check=check_in("status", OperationStatus), name="operation_status"),
        )

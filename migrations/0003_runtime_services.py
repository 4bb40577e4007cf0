# Runtime services and port leases. Hand-adjusted for Tortoise 1.1 as in 0001: check
# constraints are added after CreateModel (CREATE TABLE leaves them out), and the
# unique constraint after them (SQLite rebuilds the table for each check constraint).
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from worksite.models.enums import ServiceHealth, ServiceStatus
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('worksite', '0002_close_and_cleanup')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PortLease',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('port', fields.IntField(unique=True)),
                ('workspace', fields.ForeignKeyField('worksite.ExecutionWorkspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='port_leases', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('leased_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'port_lease', 'app': 'worksite', 'unique_together': (('workspace', 'name'),), 'pk_attr': 'id', 'table_description': 'A port held for one command of one workspace, so no two workspaces share it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RuntimeService',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('worksite.ExecutionWorkspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='services', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('status', fields.CharEnumField(default=ServiceStatus.STOPPED, description='STARTING: starting\nRUNNING: running\nSTOPPING: stopping\nSTOPPED: stopped\nFAILED: failed', enum_type=ServiceStatus, max_length=16)),
                ('health', fields.CharEnumField(default=ServiceHealth.UNKNOWN, description='HEALTHY: healthy\nUNHEALTHY: unhealthy\nUNKNOWN: unknown', enum_type=ServiceHealth, max_length=16)),
                ('command', fields.TextField(default='', unique=False)),
                ('cwd', fields.TextField(default='', unique=False)),
                ('readiness', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('port', fields.IntField(null=True)),
                ('url', fields.TextField(null=True, unique=False)),
                ('pid', fields.IntField(null=True)),
                ('supervisor_pid', fields.IntField(null=True)),
                ('supervisor_start_ticks', fields.BigIntField(null=True)),
                ('start_operation', fields.ForeignKeyField('worksite.Operation', source_field='start_operation_id', null=True, db_constraint=True, to_field='id', related_name='started_services', on_delete=OnDelete.SET_NULL)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ready_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('stopped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('exit_code', fields.IntField(null=True)),
                ('failure_reason', fields.TextField(null=True, unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'runtime_service', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'A service command of one workspace: its current run, or its last one.'},
            bases=['Model'],
        ),
        ops.AddConstraint(
            model_name='RuntimeService',
            constraint=CheckConstraint(check="status IN ('starting', 'running', 'stopping', 'stopped', 'failed')", name='runtime_service_status'),
        ),
        ops.AddConstraint(
            model_name='RuntimeService',
            constraint=CheckConstraint(check="health IN ('healthy', 'unhealthy', 'unknown')", name='runtime_service_health'),
        ),
        # Last: on SQLite each check constraint above rebuilds the table, which would
        # drop a unique index made before it.
        ops.AddConstraint(
            model_name='RuntimeService',
            constraint=UniqueConstraint(fields=('workspace', 'name'), name='runtime_service_workspace_name'),
        ),
    ]

# Hand-adjusted for Tortoise 1.1: check constraints are added after CreateModel
# (CREATE TABLE leaves them out), and source_issue is added after Issue exists
# (PostgreSQL drops every foreign key of a model whose target does not exist yet).
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from worksite.models.enums import EnvironmentKind, IssuePriority, IssueStatus, OperationCategory, OperationStatus, ProviderType, RunStatus, WorkspaceMode, WorkspaceStatus
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Agent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'agent', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'A coding agent, which authenticates with a token stored here as a hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Environment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('kind', fields.CharEnumField(description='LOCAL: local\nSSH: ssh', enum_type=EnvironmentKind, max_length=16)),
                ('host', fields.CharField(null=True, max_length=255)),
                ('port', fields.IntField(null=True)),
                ('user', fields.CharField(null=True, max_length=100)),
                ('private_key_encrypted', fields.TextField(null=True, unique=False)),
                ('host_key', fields.TextField(null=True, unique=False)),
                ('root_dir', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'environment', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'Where workspaces are made: the local sandbox or an SSH host.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Project',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=10)),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('default_workspace_mode', fields.CharEnumField(default=WorkspaceMode.ISOLATED, description='ISOLATED: isolated\nREUSE: reuse\nPROJECT_PRIMARY: project_primary', enum_type=WorkspaceMode, max_length=32)),
                ('issue_counter', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'project', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'A codebase under management, whose key prefixes issue identifiers.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProjectWorkspace',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('worksite.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='workspaces', on_delete=OnDelete.CASCADE)),
                ('environment', fields.ForeignKeyField('worksite.Environment', source_field='environment_id', db_constraint=True, to_field='id', related_name='project_workspaces', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=200)),
                ('is_primary', fields.BooleanField(default=False)),
                ('repo_url', fields.TextField(default='', unique=False)),
                ('base_ref', fields.CharField(default='', max_length=255)),
                ('cwd', fields.TextField(default='', unique=False)),
                ('provision_command', fields.TextField(default='', unique=False)),
                ('cleanup_command', fields.TextField(default='', unique=False)),
                ('teardown_command', fields.TextField(default='', unique=False)),
                ('runtime_config', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'project_workspace', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'The base configuration of a project: where the code lives, how to run it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ExecutionWorkspace',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('worksite.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='execution_workspaces', on_delete=OnDelete.CASCADE)),
                ('project_workspace', fields.ForeignKeyField('worksite.ProjectWorkspace', source_field='project_workspace_id', db_constraint=True, to_field='id', related_name='execution_workspaces', on_delete=OnDelete.RESTRICT)),
                ('environment', fields.ForeignKeyField('worksite.Environment', source_field='environment_id', db_constraint=True, to_field='id', related_name='execution_workspaces', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=200)),
                ('mode', fields.CharEnumField(description='ISOLATED: isolated\nREUSE: reuse\nPROJECT_PRIMARY: project_primary', enum_type=WorkspaceMode, max_length=32)),
                ('provider_type', fields.CharEnumField(description='GIT_WORKTREE: git_worktree\nLOCAL_FS: local_fs', enum_type=ProviderType, max_length=32)),
                ('status', fields.CharEnumField(default=WorkspaceStatus.PROVISIONING, description='PROVISIONING: provisioning\nACTIVE: active\nCLOSING: closing\nARCHIVED: archived\nCLEANUP_FAILED: cleanup_failed', enum_type=WorkspaceStatus, max_length=32)),
                ('branch_name', fields.CharField(default='', max_length=255)),
                ('cwd', fields.TextField(default='', unique=False)),
                ('provider_ref', fields.TextField(default='', unique=False)),
                ('repo_url', fields.TextField(default='', unique=False)),
                ('base_ref', fields.CharField(default='', max_length=255)),
                ('provision_command', fields.TextField(default='', unique=False)),
                ('cleanup_command', fields.TextField(default='', unique=False)),
                ('teardown_command', fields.TextField(default='', unique=False)),
                ('runtime_override', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_branch', fields.BooleanField(default=False)),
                ('provisioned', fields.BooleanField(default=False)),
                ('derived_from', fields.ForeignKeyField('worksite.ExecutionWorkspace', source_field='derived_from_id', null=True, db_constraint=True, to_field='id', related_name='derivatives', on_delete=OnDelete.SET_NULL)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cleanup_eligible_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cleanup_reason', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'execution_workspace', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'One concrete working directory tied to task runs.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Issue',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('worksite.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='issues', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('identifier', fields.CharField(unique=True, max_length=32)),
                ('title', fields.CharField(max_length=500)),
                ('description', fields.TextField(default='', unique=False)),
                ('status', fields.CharEnumField(default=IssueStatus.TODO, description='BACKLOG: backlog\nTODO: todo\nIN_PROGRESS: in_progress\nIN_REVIEW: in_review\nDONE: done\nCANCELLED: cancelled', enum_type=IssueStatus, max_length=32)),
                ('priority', fields.CharEnumField(default=IssuePriority.NONE, description='NONE: none\nLOW: low\nMEDIUM: medium\nHIGH: high\nURGENT: urgent', enum_type=IssuePriority, max_length=16)),
                ('assignee', fields.ForeignKeyField('worksite.Agent', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='issues', on_delete=OnDelete.SET_NULL)),
                ('parent', fields.ForeignKeyField('worksite.Issue', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.SET_NULL)),
                ('inherit_workspace_from', fields.ForeignKeyField('worksite.Issue', source_field='inherit_workspace_from_id', null=True, db_constraint=True, to_field='id', related_name='inheritors', on_delete=OnDelete.SET_NULL)),
                ('workspace_mode', fields.CharEnumField(null=True, description='ISOLATED: isolated\nREUSE: reuse\nPROJECT_PRIMARY: project_primary', enum_type=WorkspaceMode, max_length=32)),
                ('execution_workspace', fields.ForeignKeyField('worksite.ExecutionWorkspace', source_field='execution_workspace_id', null=True, db_constraint=True, to_field='id', related_name='current_issues', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'issue', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'A unit of work, identified by the project key and a number (`PAP-12`).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IssueWorkspaceLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('issue', fields.ForeignKeyField('worksite.Issue', source_field='issue_id', db_constraint=True, to_field='id', related_name='workspace_links', on_delete=OnDelete.CASCADE)),
                ('workspace', fields.ForeignKeyField('worksite.ExecutionWorkspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='issue_links', on_delete=OnDelete.CASCADE)),
                ('linked_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'issue_workspace_link', 'app': 'worksite', 'unique_together': (('issue', 'workspace'),), 'pk_attr': 'id', 'table_description': 'Every issue that has ever been attached to a workspace.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Operation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('workspace', fields.ForeignKeyField('worksite.ExecutionWorkspace', source_field='workspace_id', db_constraint=True, to_field='id', related_name='operations', on_delete=OnDelete.CASCADE)),
                ('category', fields.CharEnumField(description='PROVISION: provision\nRUNTIME: runtime\nCLEANUP: cleanup', enum_type=OperationCategory, max_length=16)),
                ('phase', fields.CharField(max_length=32)),
                ('command', fields.TextField(default='', unique=False)),
                ('service_name', fields.CharField(null=True, max_length=100)),
                ('status', fields.CharEnumField(default=OperationStatus.RUNNING, description='RUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed', enum_type=OperationStatus, max_length=16)),
                ('exit_code', fields.IntField(null=True)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('stdout_excerpt', fields.TextField(default='', unique=False)),
                ('stderr_excerpt', fields.TextField(default='', unique=False)),
                ('log_path', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'operation', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'One thing Worksite ran or did to a workspace, with its full log on disk.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Run',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('issue', fields.ForeignKeyField('worksite.Issue', source_field='issue_id', db_constraint=True, to_field='id', related_name='runs', on_delete=OnDelete.CASCADE)),
                ('agent', fields.ForeignKeyField('worksite.Agent', source_field='agent_id', db_constraint=True, to_field='id', related_name='runs', on_delete=OnDelete.CASCADE)),
                ('workspace', fields.ForeignKeyField('worksite.ExecutionWorkspace', source_field='workspace_id', null=True, db_constraint=True, to_field='id', related_name='runs', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=RunStatus.RUNNING, description='RUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed\nCANCELLED: cancelled', enum_type=RunStatus, max_length=16)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'run', 'app': 'worksite', 'pk_attr': 'id', 'table_description': 'The work of one agent on one issue, from checkout to finish.'},
            bases=['Model'],
        ),
            # Added after Issue exists: ExecutionWorkspace and Issue refer to each other.
        ops.AddField(
            model_name='ExecutionWorkspace',
            name='source_issue',
            field=fields.ForeignKeyField('worksite.Issue', source_field='source_issue_id', null=True, db_constraint=True, to_field='id', related_name='sourced_workspaces', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddConstraint(
            model_name='Environment',
            constraint=CheckConstraint(check="kind IN ('local', 'ssh')", name='environment_kind'),
        ),
        ops.AddConstraint(
            model_name='Project',
            constraint=CheckConstraint(check="default_workspace_mode IN ('isolated', 'reuse', 'project_primary')", name='project_default_workspace_mode'),
        ),
        ops.AddConstraint(
            model_name='ExecutionWorkspace',
            constraint=CheckConstraint(check="mode IN ('isolated', 'reuse', 'project_primary')", name='ew_mode'),
        ),
        ops.AddConstraint(
            model_name='ExecutionWorkspace',
            constraint=CheckConstraint(check="status IN ('provisioning', 'active', 'closing', 'archived', 'cleanup_failed')", name='ew_status'),
        ),
        ops.AddConstraint(
            model_name='ExecutionWorkspace',
            constraint=CheckConstraint(check="provider_type IN ('git_worktree', 'local_fs')", name='ew_provider_type'),
        ),
        ops.AddConstraint(
            model_name='Issue',
            constraint=CheckConstraint(check="status IN ('backlog', 'todo', 'in_progress', 'in_review', 'done', 'cancelled')", name='issue_status'),
        ),
        ops.AddConstraint(
            model_name='Issue',
            constraint=CheckConstraint(check="priority IN ('none', 'low', 'medium', 'high', 'urgent')", name='issue_priority'),
        ),
        ops.AddConstraint(
            model_name='Issue',
            constraint=CheckConstraint(check="workspace_mode IS NULL OR workspace_mode IN ('isolated', 'reuse', 'project_primary')", name='issue_workspace_mode'),
        ),
        ops.AddConstraint(
            model_name='Operation',
            constraint=CheckConstraint(check="category IN ('provision', 'runtime', 'cleanup')", name='operation_category'),
        ),
        ops.AddConstraint(
            model_name='Operation',
            constraint=CheckConstraint(check="status IN ('running', 'succeeded', 'failed')", name='operation_status'),
        ),
        ops.AddConstraint(
            model_name='Run',
            constraint=CheckConstraint(check="status IN ('running', 'succeeded', 'failed', 'cancelled')", name='run_status'),
        ),
]

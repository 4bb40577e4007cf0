from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('worksite', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ExecutionWorkspace',
            name='close_steps_done',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='ExecutionWorkspace',
            name='saved_work_ref',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Project',
            name='cleanup_retention_seconds',
            field=fields.IntField(null=True),
        ),
    ]

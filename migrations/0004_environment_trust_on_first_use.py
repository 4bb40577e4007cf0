from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('worksite', '0003_runtime_services')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Environment',
            name='trust_on_first_use',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]

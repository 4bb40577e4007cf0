from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from worksite.models.enums import EnvironmentKind, check_in


class Environment(Model):
    """Where workspaces are made: the local sandbox or an SSH host."""

    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    kind = fields.CharEnumField(EnvironmentKind, max_length=16)
    host = fields.CharField(max_length=255, null=True)
    port = fields.IntField(null=True)
    user = fields.CharField(max_length=100, null=True)
    # Sealed with worksite.secretbox; never leaves the server.
    private_key_encrypted = fields.TextField(null=True)
    # The host's public key (`ssh-ed25519 AAAA...`) or its fingerprint (`SHA256:...`).
    host_key = fields.TextField(null=True)
    # Record the host key at the first connection; cleared once it is recorded.
    trust_on_first_use = fields.BooleanField(default=False, db_default=False)
    root_dir = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "environment"
        constraints = (
            CheckConstraint(check=check_in("kind", EnvironmentKind), name="environment_kind"),
        )

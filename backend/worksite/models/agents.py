from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Agent(Model):
    """A coding agent, which authenticates with a token stored here as a hash."""

    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "agent"

"""Fetching a row by the id a client sent: a bad id and an unknown one differ."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from tortoise.models import Model

from worksite.domain.errors import NotFound
from worksite.domain.validation import parse_id

M = TypeVar("M", bound=Model)


async def find(model: type[M], entity: str, field: str, value: UUID | str) -> M:
    """The row of `model` with this id; InvalidInput names `field`, else NotFound."""
    row = await model.get_or_none(id=parse_id(field, value))
    if row is None:
        raise NotFound(entity, str(value))
    return row

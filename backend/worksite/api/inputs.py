"""Helpers shared by the mutation modules."""

from __future__ import annotations

import dataclasses
from typing import Any

from strawberry import UNSET


def provided(value: object) -> dict[str, Any]:
    """The fields of a strawberry input the client actually sent, by Python name."""
    return {
        field.name: getattr(value, field.name)
        for field in dataclasses.fields(value)  # type: ignore[arg-type]
        if getattr(value, field.name) is not UNSET
    }

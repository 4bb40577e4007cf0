"""Subscriptions, one module per entity; the root Subscription merges them in api/schema.py.

Each yields a union of its event type and the errors that can end it: a
failure inside a stream reaches the client as a typed event, not as a dropped
stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

from worksite import metrics
from worksite.api.context import Info
from worksite.api.errors import as_error
from worksite.api.loaders import Loaders
from worksite.domain.errors import WorksiteError

T = TypeVar("T")


async def events(
    info: Info, stream: AsyncIterator[T], convert: Callable[[T], Any]
) -> AsyncGenerator[Any, None]:
    """The stream's items as GraphQL values; a domain error as its typed event, last.

    Any other exception becomes a generic error event, then the stream ends.
    """
    metrics.live.subscriptions += 1
    try:
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for item in stream:
                # One connection lives long: cached rows would go stale and pile up.
                info.context.loaders = Loaders()
                yield convert(item)
    except WorksiteError as exc:
        yield as_error(exc)
    except Exception as exc:
        # Yielded, graphql-core reports it as the event's error, which strawberry
        # logs with its traceback and masks for the client; raised, it would end
        # the stream as if it had completed.
        yield exc
    finally:
        metrics.live.subscriptions -= 1

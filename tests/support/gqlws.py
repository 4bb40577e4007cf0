"""A small graphql-transport-ws client over `websockets`, for tests and benchmarks.

    async with GraphQLWebSocket.connect(url, token) as client:
        sub = await client.subscribe(OPERATION_LOG, {"operationId": op_id})
        async for value in client.values(sub):
            ...

It reads the socket only when asked for a message, so a test can be a slow
reader by simply not asking; messages for other subscriptions of the same
connection wait in a buffer until asked for.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"
TIMEOUT = 60.0
MAX_MESSAGE = 16 * 1024 * 1024


class Refused(Exception):
    """The server closed the connection during the handshake."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


class StreamError(AssertionError):
    """The server answered a subscription with an `error` message."""


class GraphQLWebSocket:
    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self._ids = itertools.count(1)
        self._buffered: defaultdict[str, deque[dict[str, Any]]] = defaultdict(deque)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        token: str | None,
        *,
        payload: dict[str, Any] | None = None,
        timeout: float = TIMEOUT,
    ) -> AsyncIterator[GraphQLWebSocket]:
        """Open, send connection_init with the token, and wait for the ack."""
        if payload is None:
            payload = {"authorization": f"Bearer {token}"} if token is not None else {}
        async with connect(
            url,
            subprotocols=[PROTOCOL],
            max_size=MAX_MESSAGE,
            open_timeout=timeout,  # type: ignore[list-item]
        ) as websocket:
            await websocket.send(json.dumps({"type": "connection_init", "payload": payload}))
            try:
                ack = json.loads(await asyncio.wait_for(websocket.recv(), timeout))
            except ConnectionClosed as closed:
                frame = closed.rcvd
                raise Refused(
                    frame.code if frame else None, frame.reason if frame else ""
                ) from None
            assert ack["type"] == "connection_ack", ack
            yield cls(websocket)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        """Start a subscription; its id names it in later calls."""
        operation_id = str(next(self._ids))
        message = {
            "id": operation_id,
            "type": "subscribe",
            "payload": {"query": query, "variables": variables or {}},
        }
        await self.websocket.send(json.dumps(message))
        return operation_id

    def drop(self) -> None:
        """Cut the connection without a closing handshake, as a network failure would."""
        self.websocket.transport.abort()

    async def complete(self, operation_id: str) -> None:
        """Stop a subscription from this side."""
        await self.websocket.send(json.dumps({"id": operation_id, "type": "complete"}))

    async def message(self, operation_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next `next`, `error` or `complete` message of one subscription."""
        deadline = time.monotonic() + timeout
        buffered = self._buffered[operation_id]
        while not buffered:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no message for subscription {operation_id} in {timeout} s")
            try:
                raw = await asyncio.wait_for(self.websocket.recv(), remaining)
            except TimeoutError:
                continue
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.websocket.send(json.dumps({"type": "pong"}))
            elif "id" in message:
                self._buffered[message["id"]].append(message)
        return buffered.popleft()

    async def next_value(self, operation_id: str, timeout: float = TIMEOUT) -> Any:
        """The value of the next event; AssertionError if the stream ended instead."""
        message = await self.message(operation_id, timeout)
        if message["type"] != "next":
            raise AssertionError(f"expected an event, got {message}")
        return _value(message)

    async def values(self, operation_id: str, timeout: float = TIMEOUT) -> AsyncIterator[Any]:
        """Each event's value until the server completes the subscription.

        `timeout` bounds the wait for each message, not the whole stream.
        """
        while True:
            message = await self.message(operation_id, timeout)
            if message["type"] == "complete":
                return
            yield _value(message)


def _value(message: dict[str, Any]) -> Any:
    if message["type"] == "error":
        raise StreamError(f"subscription {message['id']} failed: {message['payload']}")
    payload = message["payload"]
    if payload.get("errors"):
        raise StreamError(f"subscription {message['id']}: {payload['errors']}")
    (value,) = payload["data"].values()
    return value

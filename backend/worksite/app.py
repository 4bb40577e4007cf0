"""The Starlette app: /graphql (HTTP and WebSocket), /healthz, and the SPA."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from worksite import db, metrics
from worksite.api import limits
from worksite.api.connections import Connections
from worksite.api.context import Context
from worksite.api.schema import schema
from worksite.domain import checkout, cleanup, close
from worksite.domain.auth import Principal, authenticate
from worksite.domain.monitor import Monitor
from worksite.domain.projects import ensure_local_environment
from worksite.events import bus
from worksite.providers.ssh import pool as ssh_pool
from worksite.secretbox import MaskSecrets, MaskTokenQuery
from worksite.settings import Settings

log = logging.getLogger(__name__)

FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
# Until connection_init names someone, a WebSocket acts for nobody.
NOBODY = Principal(role="none", name="nobody")


def bearer(value: str | None) -> str:
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip()
    return ""


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the document size limit that HTTP requests have."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged:
            try:
                limits.check_document_size(message["payload"].get("query"))
            except limits.LimitExceeded as error:
                log.warning("refused a subscription: %s", error.message)
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [{"message": error.message}]}
                )
                return
        await super().handle_subscribe(message)


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with bearer-token authentication on every request."""

    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            schema,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.settings = settings
        self.connections = Connections()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] != "GET":
            request = Request(scope, receive)
            principal = await authenticate(
                bearer(request.headers.get("authorization")), self.settings.operator_token
            )
            if principal is None:
                log.warning("refused a request to /graphql with a missing or unknown token")
                await unauthorized()(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
            try:
                receive = await self._checked_body(request, receive)
            except limits.LimitExceeded as error:
                log.warning("refused a request to /graphql: %s", error.message)
                response = JSONResponse(
                    {"errors": [{"message": error.message}]}, status_code=error.status
                )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics.live.websockets += 1
        try:
            await super().__call__(scope, receive, send)
        finally:
            metrics.live.websockets -= 1
            self.connections.forget(scope)

    async def _checked_body(self, request: Request, receive: Receive) -> Receive:
        """Read the body within MAX_BODY_BYTES, check it, and hand it on to Strawberry."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.MAX_BODY_BYTES:
            raise limits.LimitExceeded(_too_large(f"{declared} bytes"), status=413)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limits.MAX_BODY_BYTES:
                raise limits.LimitExceeded(_too_large(f"over {size} bytes"), status=413)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if "json" in request.headers.get("content-type", ""):
            try:
                decoded = json.loads(body)
            except (ValueError, RecursionError) as error:
                reason = "nested too deeply" if isinstance(error, RecursionError) else error
                raise limits.LimitExceeded(
                    f"The request body is not valid JSON: {reason}."
                ) from None
            limits.check_body(decoded)

        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        principal = request.scope.get("state", {}).get("principal", NOBODY)
        return Context(
            principal=principal, settings=self.settings, request=request, response=response
        )

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        value = params.get("authorization") if isinstance(params, dict) else None
        token = bearer(value) if isinstance(value, str) else ""
        principal = await authenticate(token, self.settings.operator_token)
        if principal is None:
            log.warning("refused a WebSocket with a missing or unknown token")
            raise ConnectionRejectionError()
        context.principal = principal
        if principal.agent_id is not None:
            self.connections.add(principal.agent_id, context.request)


def _too_large(size: str) -> str:
    return f"The request body is {size}; the body size limit is {limits.MAX_BODY_BYTES} bytes."


class SinglePageApp(StaticFiles):
    """The built SPA; paths without a file extension fall back to index.html."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if "." not in Path(path).name and not path.startswith("assets"):
            return FileResponse(Path(str(self.directory)) / "index.html")
        return await super().get_response(path, scope)


def unauthorized() -> Response:
    return JSONResponse(
        {"errors": [{"message": "Missing or unknown bearer token."}]},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def metrics_endpoint(settings: Settings) -> Any:
    """/metrics for Prometheus; it wants the operator token, like everything else."""

    async def endpoint(request: Request) -> Response:
        principal = await authenticate(
            bearer(request.headers.get("authorization")), settings.operator_token
        )
        if principal is None:
            log.warning("refused a request to /metrics with a missing or unknown token")
            return unauthorized()
        if not principal.is_operator:
            return JSONResponse(
                {"errors": [{"message": "Only an operator may read /metrics."}]},
                status_code=403,
            )
        return Response(await metrics.render(settings), media_type=metrics.CONTENT_TYPE)

    return endpoint


def create_app(settings: Settings, migrate: bool = True) -> Starlette:
    graphql = GraphQLApp(settings)
    # Errors for malformed input quote it; a private key sent there must not be logged.
    execution_log = logging.getLogger("strawberry.execution")
    if not any(isinstance(f, MaskSecrets) for f in execution_log.filters):
        execution_log.addFilter(MaskSecrets())
    # The sign-in link carries the operator token; an access log must not keep it.
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskTokenQuery) for f in access_log.filters):
        access_log.addFilter(MaskTokenQuery())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate:
            await db.migrate(settings.database_url)
        await db.connect(settings.database_url)
        await ensure_local_environment(settings)
        await bus.start(settings.database_url)
        # What a killed server left half done; before the monitor adopts its runs.
        await checkout.recover_interrupted()
        await close.recover_interrupted()
        monitor = Monitor(settings)
        await monitor.start()
        cleanup_task = asyncio.create_task(cleanup.run_forever(settings))
        revocations = asyncio.create_task(graphql.connections.follow_revocations())
        try:
            yield
        finally:
            for task in (cleanup_task, revocations):
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            # Services and jobs outlive the server; the next one adopts them.
            await monitor.close()
            await bus.stop()
            await ssh_pool.close_all()
            await db.disconnect()

    routes: list[Any] = [
        Route("/healthz", healthz),
        Route("/metrics", metrics_endpoint(settings)),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    if (FRONTEND_DIST / "index.html").exists():
        routes.append(Mount("/", SinglePageApp(directory=FRONTEND_DIST, html=True)))
    else:
        routes.append(Route("/", _frontend_missing))
    return Starlette(routes=routes, lifespan=lifespan)


async def _frontend_missing(request: Request) -> Response:
    return PlainTextResponse(
        "The web app is not built: run `npm ci && npm run build` in frontend/ "
        "(scripts/serve does it).",
        status_code=503,
    )

"""What one request may ask for: each limit just under and just over, over HTTP and
graphql-transport-ws, and the web app's own documents well inside every limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
from graphql import (
    FragmentDefinitionNode,
    Lexer,
    OperationDefinitionNode,
    Source,
    TokenKind,
    parse,
    specified_rules,
    validate,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from websockets.exceptions import ConnectionClosed

from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket
from tests.support.server import ServerProcess
from worksite.api import limits
from worksite.api.schema import schema

FRONTEND_SRC = Path(__file__).resolve().parents[2] / "frontend" / "src"


def nested_issues(depth: int) -> str:
    """`issues { parent { ... { id } } }`, `depth` levels below the root field."""
    return "query { issues { " + "parent { " * (depth - 1) + "id" + " }" * depth + " }"


async def errors_of(api: Api, query: str) -> list[str]:
    response = await api.post(query)
    assert response.status_code == 200, response.text
    return [error["message"] for error in response.json().get("errors", [])]


async def test_depth_up_to_the_limit_is_answered_and_beyond_it_refused(api: Api) -> None:
    assert await errors_of(api, nested_issues(limits.MAX_DEPTH)) == []
    refused = await errors_of(api, nested_issues(limits.MAX_DEPTH + 1))
    assert refused == [f"'anonymous' exceeds maximum operation depth of {limits.MAX_DEPTH}"]


async def test_aliases_up_to_the_limit_are_answered_and_beyond_it_refused(api: Api) -> None:
    def aliased(count: int) -> str:
        return "query { " + " ".join(f"a{i}: viewer {{ role }}" for i in range(count)) + " }"

    assert await errors_of(api, aliased(limits.MAX_ALIASES)) == []
    refused = await errors_of(api, aliased(limits.MAX_ALIASES + 1))
    assert refused == [f"{limits.MAX_ALIASES + 1} aliases found. Allowed: {limits.MAX_ALIASES}"]


async def test_cost_multiplies_under_lists_and_is_refused_over_the_limit(api: Api) -> None:
    # Each `issues`/`children` is a list: 1 + 10 * (1 + 10 * (1 + 10 * 1)) = 1111.
    within = "query { issues { children { children { id } } } }"
    beyond = "query { projects { issues { children { children { id } } } } }"

    assert await errors_of(api, within) == []
    (message,) = await errors_of(api, beyond)
    assert message.startswith(f"The query cost is 11111; the cost limit is {limits.MAX_COST}")


async def test_fragments_spread_many_times_are_costed_without_expanding_them(api: Api) -> None:
    # 40 fragments, each spreading the one before twice: 2**40 fields once expanded.
    fragments = ["fragment F0 on Project { id name }"] + [
        f"fragment F{i} on Project {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 41)
    ]
    query = "query { projects { ...F40 } } " + " ".join(fragments)

    (message,) = await errors_of(api, query)
    assert f"The query cost is {1 + 10 * 2 * 2**40}" in message


async def test_tokens_beyond_the_limit_are_refused_while_parsing(api: Api) -> None:
    def wide(fields: int) -> str:
        return "query { viewer { " + "role " * fields + "} }"

    # Thousands of one field trip graphql-core's own budget for comparing fields
    # ("Validation aborted."), but not the token limit.
    assert not [m for m in await errors_of(api, wide(limits.MAX_TOKENS - 10)) if "token" in m]
    (message,) = await errors_of(api, wide(limits.MAX_TOKENS))
    assert f"more than {limits.MAX_TOKENS} tokens" in message


async def test_a_document_over_the_size_limit_is_refused_before_parsing(api: Api) -> None:
    comment = "#" + "x" * (limits.MAX_DOCUMENT_BYTES - 100) + "\n"
    assert await errors_of(api, comment + "query { viewer { role } }") == []

    response = await api.post(comment + "#" + "y" * 200 + "\nquery { viewer { role } }")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"].endswith(
        f"bytes; the document size limit is {limits.MAX_DOCUMENT_BYTES} bytes."
    )


async def test_a_body_over_the_size_limit_is_refused_with_413(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.operator_token}", "Content-Type": "application/json"}
    big = json.dumps(
        {"query": "query { viewer { role } }", "variables": {"x": "a" * limits.MAX_BODY_BYTES}}
    ).encode()

    declared = await api.client.post("/graphql", content=big, headers=headers)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = await api.client.post("/graphql", content=chunks(), headers=headers)
    for response in (declared, streamed):
        assert response.status_code == 413
        (error,) = response.json()["errors"]
        assert f"the body size limit is {limits.MAX_BODY_BYTES} bytes" in error["message"]
    assert str(len(big)) in declared.json()["errors"][0]["message"]


async def test_batched_requests_are_refused_with_one_operation_per_request_asked(
    api: Api,
) -> None:
    batch = [{"query": "query { viewer { role } }"}] * 3
    response = await api.client.post(
        "/graphql", json=batch, headers={"Authorization": f"Bearer {api.operator_token}"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "Batched requests are not supported: send one GraphQL operation per request "
        "(got a JSON array of 3)."
    )


async def test_invalid_unicode_and_deep_json_are_refused_naming_where(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.operator_token}", "Content-Type": "application/json"}
    surrogate = json.dumps(
        {
            "query": "mutation($input: CreateAgentInput!) { createAgent(input: $input) "
            "{ __typename } }",
            "variables": {"input": {"name": "\ud800"}},
        }
    )
    deep = (
        '{"query": "{ viewer { role } }", "variables": {"x": '
        + "[" * 100_000
        + "]" * 100_000
        + "}}"
    )

    refused = await api.client.post("/graphql", content=surrogate.encode(), headers=headers)
    too_deep = await api.client.post("/graphql", content=deep.encode(), headers=headers)

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == (
        "Invalid Unicode at variables.input.name: a lone surrogate (U+D800); "
        "text must be valid UTF-8."
    )
    in_a_key = await api.client.post(
        "/graphql",
        headers=headers,
        content=json.dumps(
            {"query": "{ viewer { role } }", "variables": {"x": {"\udc00": 1}}}
        ).encode(),
    )
    assert in_a_key.status_code == 400
    assert in_a_key.json()["errors"][0]["message"].startswith(
        "Invalid Unicode at variables.x.\\udc00: a lone surrogate (U+DC00)"
    )
    assert too_deep.status_code == 400
    assert "nested too deeply" in too_deep.json()["errors"][0]["message"]
    agents = await api.gql("query { agents { id } }")
    assert agents["agents"] == []


async def test_the_same_limits_apply_to_subscriptions_and_a_huge_frame_closes_the_socket(
    server: ServerProcess,
) -> None:
    ok = 'subscription { runChanged(projectId: "00000000-0000-0000-0000-000000000000") { __typename } }'
    too_big = "#" + "x" * limits.MAX_DOCUMENT_BYTES + "\n" + ok
    too_deep = (
        'subscription { workspaceChanged(projectId: "x") { ... on ExecutionWorkspace { '
        + ("derivedFrom { " * limits.MAX_DEPTH + "id" + " }" * limits.MAX_DEPTH)
        + " } } }"
    )

    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        for document, words in (
            (too_big, "document size limit"),
            (too_deep, "maximum operation depth"),
        ):
            message = await client.message(await client.subscribe(document))
            assert message["type"] == "error", message
            assert words in message["payload"][0]["message"]
        answered = await client.message(await client.subscribe(ok))
        assert answered["type"] == "next", answered

        await client.websocket.send("x" * (limits.MAX_WS_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # events of the subscription may come first
                await asyncio.wait_for(client.websocket.recv(), 60)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    # The server is still answering.
    async with httpx2.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            "/graphql",
            json={"query": "query { viewer { role } }"},
            headers={"Authorization": f"Bearer {server.token}"},
        )
    assert response.json() == {"data": {"viewer": {"role": "OPERATOR"}}}


def test_the_web_apps_documents_fit_well_inside_every_limit() -> None:
    sources = sorted(FRONTEND_SRC.rglob("*.graphql"))
    text = "\n".join(path.read_text() for path in sources)
    document = parse(text)
    extensions = [factory() for factory in schema.extensions]  # type: ignore[operator]
    rules = [
        rule
        for extension in extensions
        if isinstance(extension, AddValidationRules)
        for rule in extension.validation_rules
    ]
    assert sources and len(rules) == 2  # depth and aliases
    assert any(isinstance(extension, MaxTokensLimiter) for extension in extensions)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    cost = limits.QueryCost(schema._schema, fragments)

    assert validate(schema._schema, document, [*specified_rules, *rules]) == []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else "?"
            assert cost.of(definition) < limits.MAX_COST / 4, name
    for path in sources:
        text = path.read_text()
        assert len(text.encode()) < limits.MAX_DOCUMENT_BYTES / 4, path
        tokens = len(list(_tokens(text)))
        assert tokens < limits.MAX_TOKENS / 4, path


def _tokens(text: str) -> Iterator[object]:
    lexer = Lexer(Source(text))
    while (token := lexer.advance()).kind != TokenKind.EOF:
        yield token

"""Looking for secrets where they must not be: API answers, log files, server output.

`full_selection` builds, from the schema a server reports by introspection, a
document that asks for every field a type has (to a depth), so a secret behind
any field would come back in the answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_leaf_type,
    parse,
)
from graphql.language import Lexer, Source, TokenKind

from tests.support.api import Api
from worksite.api.limits import MAX_COST, QueryCost

# The server refuses documents of more tokens than this (api/schema.py allows 5000).
TOKEN_BUDGET = 4500


async def introspected_schema(api: Api, token: str | None = None) -> GraphQLSchema:
    data = await api.gql(get_introspection_query(), token=token)
    return build_client_schema(data)


def full_selection(schema: GraphQLSchema, type_: Any, depth: int) -> str:
    """`{ ... }` with every field of the type that needs no argument, `depth` levels down."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if isinstance(named, (GraphQLUnionType, GraphQLInterfaceType)):
        members = [
            f"... on {member.name} {full_selection(schema, member, depth)}"
            for member in schema.get_possible_types(named)
        ]
        return "{ __typename " + " ".join(members) + " }"
    assert isinstance(named, GraphQLObjectType)
    parts = ["__typename"]
    for name, child in named.fields.items():
        needs_argument = any(
            isinstance(arg.type, GraphQLNonNull) and arg.default_value is None
            for arg in child.args.values()
        )
        nested = not is_leaf_type(get_named_type(child.type))
        if needs_argument or (nested and depth == 0):
            continue
        parts.append(f"{name} {full_selection(schema, child.type, depth - 1)}".strip())
    return "{ " + " ".join(parts) + " }"


def deepest_document(schema: GraphQLSchema, head: str, type_: Any, depth: int = 4) -> str:
    """`head` with the deepest full selection of `type_` that the server accepts."""
    for level in range(depth, -1, -1):
        document = f"{head} {full_selection(schema, type_, level)} }}"
        if token_count(document) <= TOKEN_BUDGET and cost(schema, document) <= MAX_COST:
            return document
    raise AssertionError(
        f"no selection of {head!r} fits in {TOKEN_BUDGET} tokens and cost {MAX_COST}"
    )


def cost(schema: GraphQLSchema, document: str) -> int:
    """The cost the server's limit (api/limits.py) puts on the document."""
    (operation,) = parse(document).definitions
    return QueryCost(schema, {}).of(operation)  # type: ignore[arg-type]


def token_count(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


@dataclass
class SecretScan:
    """Secrets by name, and where each was found."""

    secrets: dict[str, str]
    hits: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    answers: int = 0

    def answer(self, where: str, body: Any) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        self.answers += 1
        self._look(where, text.encode())

    def tree(self, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                self.files += 1
                self._look(str(path), data)

    def _look(self, where: str, data: bytes) -> None:
        self.bytes += len(data)
        for name, secret in self.secrets.items():
            if secret.encode() in data:
                self.hits.append(f"{name} in {where}")


def key_material(private_key: str) -> dict[str, str]:
    """The lines of a private key that carry key material, each a secret of its own."""
    # Short lines (the last one can be a few characters) would match by chance.
    lines = [line for line in private_key.splitlines() if len(line) >= 16 and "-----" not in line]
    return {f"private key line {n}": line for n, line in enumerate(lines, 1)}

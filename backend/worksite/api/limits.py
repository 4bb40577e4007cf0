"""How much one request may ask of the server, checked before any work is done.

In the order a request meets them:

    body size      MAX_BODY_BYTES, from Content-Length or while the body is read;
                   HTTP 413, the rest of the body is never read
    batch          a JSON array body is refused: one operation per request
    text           lone surrogates (invalid Unicode) anywhere in the body: HTTP 400
    document size  MAX_DOCUMENT_BYTES of GraphQL text, before it is parsed
                   (HTTP and graphql-transport-ws subscribe messages alike)
    tokens         MAX_TOKENS, counted by the parser, which stops there
    depth          MAX_DEPTH levels of nested selections
    aliases        MAX_ALIASES in one document
    cost           MAX_COST: each field selected counts 1, and every field under a
                   list counts LIST_FACTOR times for each list above it

A WebSocket frame larger than MAX_WS_MESSAGE_BYTES closes the connection (1009),
set on the server in cli.py. Each refusal names its limit and the value found.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLObjectType, GraphQLOutputType
from strawberry.extensions import SchemaExtension

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_WS_MESSAGE_BYTES = MAX_BODY_BYTES
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_TOKENS = 5000
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_COST = 10_000
LIST_FACTOR = 10


class LimitExceeded(Exception):
    """A request asked for more than a limit allows; the message names both."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def check_document_size(query: object) -> None:
    if isinstance(query, str) and len(query) * 4 > MAX_DOCUMENT_BYTES:
        size = len(query.encode("utf-8", "surrogatepass"))
        if size > MAX_DOCUMENT_BYTES:
            raise LimitExceeded(
                f"The GraphQL document is {size} bytes; the document size limit is "
                f"{MAX_DOCUMENT_BYTES} bytes."
            )


def check_body(body: Any) -> None:
    """A decoded request body: one operation, valid Unicode, a document within limits."""
    if isinstance(body, list):
        raise LimitExceeded(
            "Batched requests are not supported: send one GraphQL operation per "
            f"request (got a JSON array of {len(body)})."
        )
    for path, text in _strings(body, ""):
        bad = next((c for c in text if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            # The path may hold the surrogate itself (a key): escaped, so it can be sent.
            path = path.encode("utf-8", "backslashreplace").decode()
            raise LimitExceeded(
                f"Invalid Unicode at {path or 'the body'}: a lone surrogate "
                f"(U+{ord(bad):04X}); text must be valid UTF-8."
            )
    if isinstance(body, dict):
        check_document_size(body.get("query"))


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    # Iterative, so a deeply nested body cannot exhaust the stack.
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, child in item.items():
                yield f"{where}.{key}".lstrip("."), key
                stack.append((f"{where}.{key}".lstrip("."), child))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))


# The cost of a document


class QueryCost:
    """The estimated cost of operations; each fragment is costed once, so the work is
    linear in the document's size however often its fragments are spread."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self._fragment_costs: dict[str, int] = {}

    def of(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self._selection_set(operation.selection_set, root, frozenset())

    def _selection_set(
        self, selection_set: SelectionSetNode, parent: Any, seen: frozenset[str]
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += 1 + self._field_children(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self._selection_set(selection.selection_set, target or parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, seen)
        return total

    def _field_children(self, field: FieldNode, parent: Any, seen: frozenset[str]) -> int:
        if field.selection_set is None:
            return 0
        definition = None
        if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            definition = parent.fields.get(field.name.value)
        if definition is None:  # unknown fields are the validator's to report
            return self._selection_set(field.selection_set, parent, seen)
        factor = LIST_FACTOR ** _list_depth(definition.type)
        children = self._selection_set(field.selection_set, get_named_type(definition.type), seen)
        return factor * children

    def _fragment(self, name: str, seen: frozenset[str]) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in seen:
            return 0  # unknown and cyclic fragments are the validator's to report
        if name not in self._fragment_costs:
            target = self.schema.get_type(fragment.type_condition.name.value)
            self._fragment_costs[name] = self._selection_set(
                fragment.selection_set, target, seen | {name}
            )
        return self._fragment_costs[name]


def _list_depth(type_: GraphQLOutputType) -> int:
    depth = 0
    while True:
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        elif isinstance(type_, GraphQLList):
            depth += 1
            type_ = type_.of_type
        else:
            return depth


class QueryCostLimiter(SchemaExtension):
    """Refuse an operation whose estimated cost is over MAX_COST, before validation.

    It runs first because some validation rules (and the depth and alias limiters)
    expand fragment spreads: forty fragments that each spread the one before twice
    would keep them busy for hours. Setting the error here skips validation.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            cost = QueryCost(context.schema._schema, fragments)
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                value = cost.of(definition)
                if value > MAX_COST:
                    context.pre_execution_errors = [
                        GraphQLError(
                            f"The query cost is {value}; the cost limit is {MAX_COST} (each "
                            f"field counts 1, a field under a list {LIST_FACTOR} times per "
                            "list above it). Select fewer fields or split the query.",
                            definition,
                        )
                    ]
                    break
        yield

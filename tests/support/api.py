"""A tiny GraphQL client for tests, and builders for the usual fixtures' data."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from worksite.api.context import Context
from worksite.api.schema import schema
from worksite.domain.auth import authenticate
from worksite.settings import Settings


class GraphQLErrors(AssertionError):
    pass


class Api:
    def __init__(self, client: httpx2.AsyncClient, settings: Settings, token: str) -> None:
        self.client = client
        self.settings = settings
        self.operator_token = token

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {token or self.operator_token}"}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The `data` of a successful answer; top-level errors fail the test."""
        response = await self.post(query, variables, token)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise GraphQLErrors(f"{response.status_code}: {body}")
        return body["data"]  # type: ignore[no-any-return]

    async def mutate(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The single mutation's result object (success or typed error)."""
        data = await self.gql(query, variables, token)
        (result,) = data.values()
        return result  # type: ignore[no-any-return]

    async def ok(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Like mutate, but a typed error fails the test."""
        result = await self.mutate(query, variables, token)
        if result.get("message") and "Error" in result.get("__typename", ""):
            raise AssertionError(f"expected success, got {result}")
        return result

    @contextlib.asynccontextmanager
    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> AsyncIterator[AsyncIterator[Any]]:
        """Run a subscription in-process (no socket): yields each event's value."""
        principal = await authenticate(token or self.operator_token, self.operator_token)
        assert principal is not None, "unknown token"
        context = Context(principal=principal, settings=self.settings)
        results = await schema.subscribe(query, variables, context_value=context)

        async def values() -> AsyncIterator[Any]:
            async for result in results:  # type: ignore[union-attr]
                if result.errors:
                    raise GraphQLErrors(str(result.errors))
                (value,) = result.data.values()
                yield value

        async with contextlib.aclosing(results):  # type: ignore[type-var]
            yield values()

    # Builders for the data most tests need.

    async def project(self, key: str = "PAP", mode: str = "ISOLATED") -> dict[str, Any]:
        return await self.ok(
            CREATE_PROJECT,
            {"input": {"key": key, "name": f"{key} project", "defaultWorkspaceMode": mode}},
        )

    async def project_workspace(self, project_id: str, **fields: Any) -> dict[str, Any]:
        return await self.ok(
            CREATE_PROJECT_WORKSPACE, {"input": {"projectId": project_id, "name": "main", **fields}}
        )

    async def agent(self, name: str = "coder") -> tuple[str, str]:
        result = await self.ok(CREATE_AGENT, {"input": {"name": name}})
        return result["agent"]["id"], result["token"]

    async def issue(
        self, project_id: str, title: str = "Fix the login form", **fields: Any
    ) -> dict[str, Any]:
        return await self.ok(
            CREATE_ISSUE, {"input": {"projectId": project_id, "title": title, **fields}}
        )

    async def checkout(self, issue_id: str, token: str) -> dict[str, Any]:
        return await self.mutate(CHECKOUT, {"issueId": issue_id}, token)


CREATE_PROJECT = """
mutation($input: CreateProjectInput!) { createProject(input: $input) {
  __typename ... on Project { id key name defaultWorkspaceMode }
  ... on Error { message } ... on InvalidInputError { field } } }
"""
CREATE_PROJECT_WORKSPACE = """
mutation($input: CreateProjectWorkspaceInput!) { createProjectWorkspace(input: $input) {
  __typename ... on ProjectWorkspace { id name isPrimary cwd repoUrl baseRef runtimeConfig }
  ... on Error { message } ... on InvalidInputError { field } } }
"""
CREATE_AGENT = """
mutation($input: CreateAgentInput!) { createAgent(input: $input) {
  __typename ... on CreateAgentSuccess { token agent { id name } } ... on Error { message } } }
"""
CREATE_ISSUE = """
mutation($input: CreateIssueInput!) { createIssue(input: $input) {
  __typename ... on Issue { id identifier title status workspaceMode }
  ... on Error { message } ... on InvalidInputError { field } } }
"""
CHECKOUT = """
mutation($issueId: ID!) { checkoutIssue(issueId: $issueId) {
  __typename
  ... on CheckoutIssueSuccess { run { id status } workspace {
      id name mode status branchName cwd baseRef providerType provisioned
      derivedFrom { id } sourceIssue { identifier } issues { identifier }
      operations { id phase status exitCode stdoutExcerpt stderrExcerpt } } }
  ... on ProvisionFailedError { message operation { id status exitCode stderrExcerpt } }
  ... on Error { message } ... on InvalidInputError { field } } }
"""

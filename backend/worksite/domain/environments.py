"""Environments: where workspaces are made, and the host each one stands for.

The local sandbox exists by default and follows the data directory. Operators add
SSH hosts: address, user, private key, the host key connections must match (or
trust on first use, which records the first key seen), and the root directory
workspaces are made in. The private key is sealed before it is stored and never
leaves the server: not in answers, not in logs, not in error messages.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncssh
from tortoise.exceptions import IntegrityError

from worksite import secretbox
from worksite.domain import validation
from worksite.domain.auth import Principal, require_operator
from worksite.domain.errors import Conflict, InvalidInput
from worksite.domain.lookup import find
from worksite.models import Environment, ExecutionWorkspace
from worksite.models.enums import EnvironmentKind
from worksite.providers.host import PYTHON_NEEDED, WorkspaceHost
from worksite.providers.local import LocalHost
from worksite.providers.ssh import (
    HostKeyRefused,
    HostUnreachable,
    LoginRefused,
    SshError,
    SshTarget,
    parse_host_key,
    pool,
)
from worksite.providers.ssh_host import SshHost
from worksite.settings import Settings

log = logging.getLogger(__name__)

_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_HOST_IP6 = re.compile(r"^[0-9A-Fa-f:.]{2,45}\Z")
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\Z")
SSH_FIELDS = ("host", "port", "user", "private_key", "host_key", "trust_on_first_use")


async def list_environments() -> list[Environment]:
    return await Environment.all().order_by("created_at")


async def get_environment(environment_id: UUID | str) -> Environment:
    return await find(Environment, "environment", "id", environment_id)


async def create_environment(
    settings: Settings, principal: Principal, fields: dict[str, Any]
) -> Environment:
    require_operator(principal, "create environments")
    if fields.get("kind", EnvironmentKind.SSH) != EnvironmentKind.SSH:
        raise InvalidInput("kind", "expected SSH; the local sandbox exists already")
    values = _ssh_values(settings, fields, creating=True)
    _check_complete(values)
    try:
        environment = await Environment.create(kind=EnvironmentKind.SSH, **values)
    except IntegrityError:
        raise Conflict(f"An environment named {values['name']!r} exists already.") from None
    log.info("environment %s created for %s", environment.name, _address(environment))
    return environment


async def update_environment(
    settings: Settings,
    principal: Principal,
    environment_id: UUID | str,
    fields: dict[str, Any],
) -> Environment:
    require_operator(principal, "change environments")
    environment = await get_environment(environment_id)
    if environment.kind != EnvironmentKind.SSH:
        raise Conflict(
            f"Environment {environment.name} is the local sandbox, which follows the "
            "server's data directory; it cannot be changed."
        )
    values = _ssh_values(settings, fields, creating=False)
    merged = {
        name: values.get(name, getattr(environment, name))
        for name in ("host", "root_dir", "host_key", "trust_on_first_use", "user")
    }
    _check_complete(merged)
    environment.update_from_dict(values)
    try:
        if values:
            await environment.save(update_fields=list(values))
    except IntegrityError:
        raise Conflict(f"An environment named {values['name']!r} exists already.") from None
    await pool.forget(str(environment.id))
    log.info("environment %s changed (%s)", environment.name, ", ".join(sorted(values)))
    return environment


# Reaching the host


def host_for(settings: Settings, environment: Environment) -> WorkspaceHost:
    """The machine an environment stands for, over its pooled connection if SSH."""
    if environment.kind == EnvironmentKind.LOCAL:
        return LocalHost(settings, environment.root_dir or str(settings.sandbox_dir))
    return SshHost(pool.link(ssh_target(settings, environment)), environment.root_dir or "")


def ssh_target(settings: Settings, environment: Environment) -> SshTarget:
    environment_id = environment.id

    async def record_host_key(line: str) -> None:
        await Environment.filter(id=environment_id).update(host_key=line, trust_on_first_use=False)

    try:
        private_key = secretbox.unseal(settings, environment.private_key_encrypted or "")
    except secretbox.SecretKeyError as error:
        raise Conflict(f"Environment {environment.name}: {error}") from None
    return SshTarget(
        key=str(environment.id),
        host=environment.host or "",
        port=environment.port or 22,
        user=environment.user or "",
        private_key=private_key,
        host_key=environment.host_key,
        trust_on_first_use=environment.trust_on_first_use,
        on_host_key=record_host_key,
    )


@dataclass
class EnvironmentCheck:
    name: str
    ok: bool
    detail: str


@dataclass
class EnvironmentReport:
    checks: list[EnvironmentCheck] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing

    def add(self, name: str, ok: bool, detail: str, missing: str | None = None) -> None:
        self.checks.append(EnvironmentCheck(name, ok, detail))
        if not ok:
            self.missing.append(missing or detail)


async def test_environment(
    settings: Settings, principal: Principal, environment_id: UUID | str
) -> EnvironmentReport:
    """Connect, then check git, python3 and the root directory; say what is missing."""
    require_operator(principal, "test environments")
    environment = await get_environment(environment_id)
    report = EnvironmentReport()
    try:
        host = host_for(settings, environment)
    except Conflict as error:
        report.add("private key", False, error.message, "a private key this server can open")
        return report
    try:
        facts = await host.inspect()
    except HostKeyRefused as error:
        report.add("host key", False, str(error), "a host key that matches the host")
        return report
    except LoginRefused as error:
        report.add("login", False, str(error), f"access for user {environment.user}")
        return report
    except (HostUnreachable, SshError) as error:
        report.add("connection", False, str(error), f"a connection to {host.label}")
        return report
    if environment.kind == EnvironmentKind.SSH:
        report.add("connection", True, f"connected to {host.label}; host key verified")

    report.add("git", facts.git is not None, facts.git or "git is not installed", "git")
    if not facts.time_limits:
        report.add(
            "timeout",
            False,
            "the `timeout` command (coreutils) is not installed",
            "the `timeout` command (coreutils), which ends overrunning commands",
        )
    needed = ".".join(map(str, PYTHON_NEEDED))
    report.add(
        "python3",
        facts.python_ok,
        f"python {facts.python}" if facts.python else "python3 is not installed",
        f"python3 {needed} or later (it runs the supervisor of every command)",
    )
    root = host.root
    if not facts.root_exists:
        report.add("root directory", False, f"{root} does not exist", f"the directory {root}")
    else:
        report.add(
            "root directory",
            facts.root_writable,
            f"{root} is writable" if facts.root_writable else f"{root} is not writable",
            f"write access to {root}",
        )
    log.info(
        "environment %s tested: %s",
        environment.name,
        "ready" if report.ok else "missing " + "; ".join(report.missing),
    )
    return report


# Validation


def _ssh_values(settings: Settings, fields: dict[str, Any], creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in fields or creating:
        values["name"] = validation.text("name", fields.get("name") or "", 200, required=True)
    if fields.get("host") is not None:
        values["host"] = _host(fields["host"])
    port = fields.get("port")
    if port is not None or creating:
        values["port"] = _port(22 if port is None else port)
    if fields.get("user") is not None:
        values["user"] = _user(fields["user"])
    if fields.get("private_key") is not None:
        values["private_key_encrypted"] = secretbox.seal(
            settings, _private_key(fields["private_key"])
        )
    if "host_key" in fields:
        values["host_key"] = _host_key(fields["host_key"]) if fields["host_key"] else None
    if fields.get("trust_on_first_use") is not None:
        values["trust_on_first_use"] = bool(fields["trust_on_first_use"])
    if fields.get("root_dir") is not None:
        values["root_dir"] = validation.absolute_path("rootDir", fields["root_dir"])
    if creating:
        for name, api_name in (("host", "host"), ("user", "user"), ("root_dir", "rootDir")):
            if not values.get(name):
                raise InvalidInput(api_name, "expected a value for an SSH environment")
        if "private_key_encrypted" not in values:
            raise InvalidInput("privateKey", "expected a private key for an SSH environment")
    return values


def _check_complete(values: dict[str, Any]) -> None:
    if not values.get("host_key") and not values.get("trust_on_first_use"):
        raise InvalidInput(
            "hostKey",
            "expected the host's public key or fingerprint, or trustOnFirstUse: true "
            "to record the key the host presents at the first connection",
        )


def _host(value: str) -> str:
    value = value.strip().removeprefix("[").removesuffix("]")
    if not (_HOST_NAME.match(value) or (":" in value and _HOST_IP6.match(value))):
        raise InvalidInput("host", f"expected a host name or IP address, got {value[:100]!r}")
    return value


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise InvalidInput("port", f"expected a port from 1 to 65535, got {value}")
    return value


def _user(value: str) -> str:
    if not _USER.match(value):
        raise InvalidInput(
            "user", f"expected a user name (letters, digits, _ . -), got {value[:40]!r}"
        )
    return value


def _private_key(value: str) -> str:
    """The key text if it is an unencrypted private key; the error never quotes it."""
    try:
        asyncssh.import_private_key(value)
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, ValueError) as error:
        if "assphrase" in str(error):
            got = "one protected by a passphrase"
        elif value.lstrip().startswith(("ssh-", "ecdsa-")):
            got = "a public key"
        else:
            got = "text that is not a private key"
        raise InvalidInput(
            "privateKey",
            f"expected an OpenSSH or PEM private key without a passphrase, got {got}",
        ) from None
    return value.strip() + "\n"


def _host_key(value: str) -> str:
    try:
        parse_host_key(value)
    except ValueError as error:
        raise InvalidInput("hostKey", str(error)) from None
    return value.strip()


def _address(environment: Environment) -> str:
    return f"{environment.user}@{environment.host}:{environment.port}"


async def workspace_host(settings: Settings, workspace: ExecutionWorkspace) -> WorkspaceHost:
    """The machine a workspace lives on."""
    environment = await Environment.get(id=workspace.environment_id)  # type: ignore[attr-defined]
    return host_for(settings, environment)

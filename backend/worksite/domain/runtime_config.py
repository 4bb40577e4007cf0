"""Runtime config: parse, validate and choose the effective one.

The current shape is {"commands": [...]} with entries of kind "service" or "job";
the legacy {"services": [...]} is read as services. Errors name the path inside
the document, as in `commands[2].kind: expected "service" or "job", got "daemon"`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from worksite.domain.errors import InvalidInput
from worksite.domain.validation import relative_path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}\Z")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
_ENTRY_KEYS = {"name", "kind", "command", "cwd", "env", "port", "readiness"}
_READINESS_KINDS = ("http", "tcp", "command")
MAX_COMMANDS = 100


class RuntimeConfigSource(str, Enum):
    EXECUTION_WORKSPACE_OVERRIDE = "execution workspace override"
    PROJECT_WORKSPACE_DEFAULT = "project workspace default"
    NONE = "none"


@dataclass(frozen=True)
class Readiness:
    kind: str  # "http", "tcp" or "command"
    target: str  # URL, port ("auto" meaning the leased one) or shell command
    timeout_seconds: float


@dataclass(frozen=True)
class WorkspaceCommand:
    name: str
    kind: str  # "service" or "job"
    command: str
    cwd: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    port: int | str | None = None  # a number, "auto", or None
    readiness: Readiness | None = None


def parse(value: object, field: str) -> dict[str, Any] | None:
    """Validate JSON text or a decoded object; return the normalised document.

    None and empty text mean "no config". The result always uses "commands".
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    document = _decode(value, field)
    commands = [
        _entry(entry, f"{field}.{key}[{index}]", default_kind)
        for key, default_kind, entries in _entry_lists(document, field)
        for index, entry in enumerate(entries)
    ]
    _check_unique(commands, field)
    return {"commands": commands}


def commands_of(document: dict[str, Any] | None) -> list[WorkspaceCommand]:
    """The typed commands of a normalised document (as stored)."""
    if not document:
        return []
    return [_command(entry) for entry in document.get("commands", [])]


def effective(
    override: dict[str, Any] | None, inherited: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, RuntimeConfigSource]:
    if override is not None:
        return override, RuntimeConfigSource.EXECUTION_WORKSPACE_OVERRIDE
    if inherited is not None:
        return inherited, RuntimeConfigSource.PROJECT_WORKSPACE_DEFAULT
    return None, RuntimeConfigSource.NONE


def _decode(value: object, field: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                field,
                f"expected JSON text, got a parse error at line {exc.lineno} "
                f"column {exc.colno}: {exc.msg}",
            ) from None
    if not isinstance(value, dict):
        raise InvalidInput(
            field,
            f"expected a JSON object with 'commands' or 'services', got {_json_type(value)}",
        )
    return value


def _entry_lists(document: dict[str, Any], field: str) -> list[tuple[str, str | None, list[Any]]]:
    unknown = sorted(set(document) - {"commands", "services"})
    if unknown:
        raise InvalidInput(
            field, f"expected only 'commands' or 'services', got {', '.join(unknown)}"
        )
    if not document:
        raise InvalidInput(field, "expected 'commands' or 'services', got an empty object")
    lists: list[tuple[str, str | None, list[Any]]] = []
    for key, default_kind in (("commands", None), ("services", "service")):
        if key not in document:
            continue
        entries = document[key]
        if not isinstance(entries, list):
            raise InvalidInput(f"{field}.{key}", f"expected a list, got {_json_type(entries)}")
        lists.append((key, default_kind, entries))
    if sum(len(entries) for _, _, entries in lists) > MAX_COMMANDS:
        raise InvalidInput(field, f"expected at most {MAX_COMMANDS} commands")
    return lists


def _entry(entry: object, path: str, default_kind: str | None) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise InvalidInput(path, f"expected an object, got {_json_type(entry)}")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise InvalidInput(
            f"{path}.{unknown[0]}",
            f"unknown key; expected one of {', '.join(sorted(_ENTRY_KEYS))}",
        )
    result: dict[str, Any] = {
        "name": _name(entry.get("name"), f"{path}.name"),
        "kind": _kind(entry.get("kind", default_kind), f"{path}.kind"),
        "command": _command_text(entry.get("command"), f"{path}.command"),
    }
    if entry.get("cwd") not in (None, "", "."):
        result["cwd"] = _cwd(entry["cwd"], f"{path}.cwd")
    if entry.get("env"):
        result["env"] = _env(entry["env"], f"{path}.env")
    if entry.get("port") is not None:
        result["port"] = _port(entry["port"], f"{path}.port")
    if entry.get("readiness") is not None:
        result["readiness"] = _readiness(entry["readiness"], f"{path}.readiness")
    return result


def _name(value: object, path: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidInput(
            path,
            "expected a name of letters, digits and . _ : - (at most 100), "
            f"got {json.dumps(value)}",
        )
    return value


def _kind(value: object, path: str) -> str:
    if value not in ("service", "job"):
        raise InvalidInput(path, f'expected "service" or "job", got {json.dumps(value)}')
    return str(value)


def _command_text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(path, f"expected a non-empty command, got {json.dumps(value)}")
    if "\x00" in value or len(value) > 10_000:
        raise InvalidInput(path, "expected a command of at most 10000 characters, no NUL")
    return value


def _cwd(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(path, f"expected a relative path, got {_json_type(value)}")
    return relative_path(path, value)


def _env(value: object, path: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidInput(path, f"expected an object of strings, got {_json_type(value)}")
    for key, item in value.items():
        if not _ENV_NAME.match(key):
            raise InvalidInput(f"{path}.{key}", "expected a variable name like NODE_ENV")
        if not isinstance(item, str) or "\x00" in item:
            raise InvalidInput(f"{path}.{key}", f"expected a string, got {_json_type(item)}")
    return dict(value)


def _port(value: object, path: str) -> int | str:
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidInput(
            path, f'expected "auto" or a port from 1 to 65535, got {json.dumps(value)}'
        )
    return value


def _readiness(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(path, f"expected an object, got {_json_type(value)}")
    kinds = [kind for kind in _READINESS_KINDS if kind in value]
    if len(kinds) != 1:
        raise InvalidInput(path, 'expected exactly one of "http", "tcp" or "command"')
    kind = kinds[0]
    target = value[kind]
    if kind == "tcp":
        target = _port(target, f"{path}.tcp")
    elif kind == "http" and (not isinstance(target, str) or not re.match(r"^https?://", target)):
        raise InvalidInput(f"{path}.http", f"expected an http(s) URL, got {json.dumps(target)}")
    elif kind == "command":
        target = _command_text(target, f"{path}.command")
    timeout = value.get("timeoutSeconds", 30)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not (0 < timeout <= 3600)
    ):
        raise InvalidInput(
            f"{path}.timeoutSeconds",
            f"expected a number of seconds from 0 to 3600, got {json.dumps(timeout)}",
        )
    return {kind: target, "timeoutSeconds": timeout}


def _check_unique(commands: list[dict[str, Any]], field: str) -> None:
    seen: set[str] = set()
    for command in commands:
        if command["name"] in seen:
            raise InvalidInput(field, f"duplicate command name {command['name']!r}")
        seen.add(command["name"])


def _command(entry: dict[str, Any]) -> WorkspaceCommand:
    readiness = None
    if spec := entry.get("readiness"):
        kind = next(k for k in _READINESS_KINDS if k in spec)
        readiness = Readiness(kind, str(spec[kind]), float(spec["timeoutSeconds"]))
    return WorkspaceCommand(
        name=entry["name"],
        kind=entry["kind"],
        command=entry["command"],
        cwd=entry.get("cwd"),
        env=tuple(sorted(entry.get("env", {}).items())),
        port=entry.get("port"),
        readiness=readiness,
    )


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "an object"

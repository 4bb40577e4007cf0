"""Runtime config: both shapes accepted, every mistake named by its path."""

from __future__ import annotations

import pytest

from worksite.domain import runtime_config
from worksite.domain.errors import InvalidInput
from worksite.domain.runtime_config import RuntimeConfigSource


def invalid(value: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        runtime_config.parse(value, "runtimeOverride")
    return caught.value


def test_commands_shape_is_normalised() -> None:
    parsed = runtime_config.parse(
        '{"commands": [{"name": "web", "kind": "service", "command": "npm run dev",'
        ' "port": "auto", "readiness": {"http": "http://127.0.0.1/health"}},'
        ' {"name": "db:migrate", "kind": "job", "command": "make migrate", "cwd": "api"}]}',
        "runtimeOverride",
    )
    assert parsed == {
        "commands": [
            {
                "name": "web",
                "kind": "service",
                "command": "npm run dev",
                "port": "auto",
                "readiness": {"http": "http://127.0.0.1/health", "timeoutSeconds": 30},
            },
            {"name": "db:migrate", "kind": "job", "command": "make migrate", "cwd": "api"},
        ]
    }


def test_legacy_services_are_read_as_services() -> None:
    parsed = runtime_config.parse({"services": [{"name": "web", "command": "serve"}]}, "f")
    assert parsed == {"commands": [{"name": "web", "kind": "service", "command": "serve"}]}


def test_unknown_kind_names_the_path_and_the_value() -> None:
    error = invalid(
        {
            "commands": [
                {"name": "a", "kind": "job", "command": "x"},
                {"name": "b", "kind": "job", "command": "x"},
                {"name": "c", "kind": "daemon", "command": "x"},
            ]
        }
    )
    assert error.field == "runtimeOverride.commands[2].kind"
    assert error.message == (
        'runtimeOverride.commands[2].kind: expected "service" or "job", got "daemon"'
    )


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ("[1, 2]", "runtimeOverride", "got a list"),
        ("{not json", "runtimeOverride", "parse error at line 1"),
        ('"text"', "runtimeOverride", "got a string"),
        ({}, "runtimeOverride", "empty object"),
        ({"commands": {}}, "runtimeOverride.commands", "expected a list"),
        (
            {"commands": [{"name": "a", "kind": "job", "command": "  "}]},
            "runtimeOverride.commands[0].command",
            "non-empty command",
        ),
        (
            {"commands": [{"name": "a", "kind": "job", "command": "x", "cwd": "../up"}]},
            "runtimeOverride.commands[0].cwd",
            "stays inside the workspace",
        ),
        (
            {"commands": [{"name": "a", "kind": "job", "command": "x", "cwd": "/etc"}]},
            "runtimeOverride.commands[0].cwd",
            "relative to the workspace",
        ),
        (
            {"commands": [{"name": "a", "kind": "job", "command": "x", "port": 70000}]},
            "runtimeOverride.commands[0].port",
            "from 1 to 65535",
        ),
        (
            {"commands": [{"name": "--rm", "kind": "job", "command": "x"}]},
            "runtimeOverride.commands[0].name",
            "expected a name",
        ),
        (
            {"commands": [{"name": "a", "kind": "job", "command": "x", "env": {"A B": "1"}}]},
            "runtimeOverride.commands[0].env.A B",
            "variable name",
        ),
        (
            {"commands": [{"name": "hello\n", "kind": "job", "command": "x"}]},
            "runtimeOverride.commands[0].name",
            "expected a name",
        ),
        (
            {"commands": [{"name": "a", "kind": "job", "command": "x", "env": {"PATH\n": "1"}}]},
            "runtimeOverride.commands[0].env.PATH\n",
            "variable name",
        ),
        (
            {"commands": [{"name": "a", "kind": "job", "command": "x", "shell": "zsh"}]},
            "runtimeOverride.commands[0].shell",
            "unknown key",
        ),
        (
            {
                "commands": [
                    {
                        "name": "a",
                        "kind": "service",
                        "command": "x",
                        "readiness": {"tcp": 80, "http": "http://x"},
                    }
                ]
            },
            "runtimeOverride.commands[0].readiness",
            "exactly one of",
        ),
    ],
)
def test_mistakes_are_named(value: object, field: str, words: str) -> None:
    error = invalid(value)
    assert error.field == field
    assert words in error.message


def test_duplicate_names_are_refused() -> None:
    error = invalid(
        {
            "commands": [
                {"name": "web", "kind": "service", "command": "a"},
                {"name": "web", "kind": "job", "command": "b"},
            ]
        }
    )
    assert "duplicate command name 'web'" in error.message


def test_empty_text_means_no_config() -> None:
    assert runtime_config.parse("  ", "f") is None
    assert runtime_config.parse(None, "f") is None


def test_effective_config_prefers_the_override() -> None:
    own, inherited = {"commands": []}, {"commands": [{"name": "x"}]}
    assert runtime_config.effective(own, inherited) == (
        own,
        RuntimeConfigSource.EXECUTION_WORKSPACE_OVERRIDE,
    )
    assert runtime_config.effective(None, inherited) == (
        inherited,
        RuntimeConfigSource.PROJECT_WORKSPACE_DEFAULT,
    )
    assert runtime_config.effective(None, None) == (None, RuntimeConfigSource.NONE)

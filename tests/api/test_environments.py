"""Environments through the API: SSH hosts created, changed, tested; keys kept secret."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.postgres import free_port
from tests.support.sshd import SshServer
from worksite import secretbox
from worksite.models import Environment

FIELDS = "id name kind host port user rootDir hostKey trustOnFirstUse hasPrivateKey"
CREATE = f"""
mutation($input: CreateEnvironmentInput!) {{ createEnvironment(input: $input) {{
  __typename ... on Environment {{ {FIELDS} }}
  ... on Error {{ message }} ... on InvalidInputError {{ field }} }} }}
"""
UPDATE = f"""
mutation($id: ID!, $input: EnvironmentInput!) {{ updateEnvironment(id: $id, input: $input) {{
  __typename ... on Environment {{ {FIELDS} }}
  ... on Error {{ message }} ... on InvalidInputError {{ field }} }} }}
"""
TEST = f"""
mutation($id: ID!) {{ testEnvironment(id: $id) {{
  __typename ... on EnvironmentTest {{ ok missing checks {{ name ok detail }}
    environment {{ {FIELDS} }} }}
  ... on Error {{ message }} }} }}
"""
LIST = f"query {{ environments {{ {FIELDS} }} }}"


def ssh_input(server: SshServer, root: Path, **changes: Any) -> dict[str, Any]:
    return {
        "name": "build-1",
        "host": "127.0.0.1",
        "port": server.port,
        "user": server.user,
        "privateKey": server.user_private_key,
        "hostKey": server.host_public_key,
        "rootDir": str(root),
        **changes,
    }


def key_body(server: SshServer) -> list[str]:
    """The lines of the private key that carry key material."""
    return [line for line in server.user_private_key.splitlines() if "-----" not in line]


async def create(api: Api, server: SshServer, root: Path, **changes: Any) -> dict[str, Any]:
    return await api.ok(CREATE, {"input": ssh_input(server, root, **changes)})


async def test_an_ssh_environment_is_listed_without_its_private_key(
    api: Api, sshd: SshServer, tmp_path: Path
) -> None:
    created = await create(api, sshd, tmp_path)
    listing = await api.post(LIST)

    assert created["kind"] == "SSH"
    assert created["hasPrivateKey"] is True
    assert created["hostKey"] == sshd.host_public_key
    names = [row["name"] for row in listing.json()["data"]["environments"]]
    assert names == ["local", "build-1"]
    assert not any(line in listing.text for line in key_body(sshd))
    fields = await api.gql('{ __type(name: "Environment") { fields { name } } }')
    assert not any("private" == f["name"][:7].lower() for f in fields["__type"]["fields"])


async def test_the_private_key_is_sealed_at_rest_with_a_private_key_file(
    api: Api, sshd: SshServer, tmp_path: Path
) -> None:
    created = await create(api, sshd, tmp_path)

    row = await Environment.get(id=created["id"])
    key_file = api.settings.data_dir / secretbox.KEY_FILE

    assert row.private_key_encrypted
    assert not any(line in row.private_key_encrypted for line in key_body(sshd))
    assert secretbox.unseal(api.settings, row.private_key_encrypted).strip() == (
        sshd.user_private_key.strip()
    )
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"host": "-oProxyCommand=touch x"}, "host", "expected a host name"),
        ({"host": "a b"}, "host", "expected a host name"),
        ({"port": 0}, "port", "from 1 to 65535"),
        ({"user": "root; rm -rf /"}, "user", "expected a user name"),
        ({"user": "root\n"}, "user", "expected a user name"),
        ({"rootDir": "relative/dir"}, "rootDir", "absolute path"),
        ({"hostKey": "ssh-ed25519 nonsense"}, "hostKey", "public key"),
        ({"hostKey": None}, "hostKey", "trustOnFirstUse"),
        ({"privateKey": "hello"}, "privateKey", "got text that is not a private key"),
        ({"kind": "LOCAL"}, "kind", "expected SSH"),
        ({"name": " "}, "name", "non-empty"),
    ],
)
async def test_bad_settings_name_their_field(
    api: Api,
    sshd: SshServer,
    tmp_path: Path,
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    result = await api.mutate(CREATE, {"input": ssh_input(sshd, tmp_path, **changes)})

    assert result["__typename"] == "InvalidInputError"
    assert result["field"] == field
    assert words in result["message"]


async def test_a_public_key_given_as_the_private_key_is_refused_without_echo(
    api: Api, sshd: SshServer, tmp_path: Path
) -> None:
    public = sshd.user_key.with_suffix(".pub").read_text()

    result = await api.mutate(CREATE, {"input": ssh_input(sshd, tmp_path, privateKey=public)})

    assert result["field"] == "privateKey"
    assert "got a public key" in result["message"]
    assert public.split()[1] not in result["message"]


async def test_the_private_key_never_reaches_the_log(
    api: Api, sshd: SshServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await create(api, sshd, tmp_path)
    # A malformed input is quoted in GraphQL's own error, which is logged.
    bad = {**ssh_input(sshd, tmp_path, name="build-2"), "colour": "blue"}
    await api.post(CREATE, {"input": bad})

    assert "colour" in caplog.text
    assert not any(line in caplog.text for line in key_body(sshd))


async def test_names_are_unique(api: Api, sshd: SshServer, tmp_path: Path) -> None:
    await create(api, sshd, tmp_path)

    again = await api.mutate(CREATE, {"input": ssh_input(sshd, tmp_path)})

    assert again["__typename"] == "ConflictError"


async def test_an_update_changes_only_what_it_names(
    api: Api, sshd: SshServer, tmp_path: Path
) -> None:
    created = await create(api, sshd, tmp_path)

    moved = await api.ok(
        UPDATE,
        {
            "id": created["id"],
            "input": {
                "rootDir": str(tmp_path / "elsewhere"),
                "hostKey": sshd.host_fingerprint,
            },
        },
    )
    unpinned = await api.mutate(UPDATE, {"id": created["id"], "input": {"hostKey": None}})

    assert moved["rootDir"] == str(tmp_path / "elsewhere")
    assert moved["hostKey"] == sshd.host_fingerprint
    assert (moved["host"], moved["port"], moved["hasPrivateKey"]) == (
        "127.0.0.1",
        sshd.port,
        True,
    )
    assert unpinned["field"] == "hostKey"


async def test_the_local_sandbox_cannot_be_changed(api: Api) -> None:
    listing = await api.gql(LIST)
    local = listing["environments"][0]

    result = await api.mutate(UPDATE, {"id": local["id"], "input": {"rootDir": "/tmp"}})

    assert local["kind"] == "LOCAL"
    assert result["__typename"] == "ConflictError"


async def test_agents_may_not_add_change_or_test_environments(
    api: Api, sshd: SshServer, tmp_path: Path
) -> None:
    created = await create(api, sshd, tmp_path)
    _, token = await api.agent()

    attempts = [
        await api.mutate(CREATE, {"input": ssh_input(sshd, tmp_path, name="x")}, token),
        await api.mutate(UPDATE, {"id": created["id"], "input": {"name": "y"}}, token),
        await api.mutate(TEST, {"id": created["id"]}, token),
    ]

    assert [a["__typename"] for a in attempts] == ["ForbiddenError"] * 3


# testEnvironment against the real sshd


async def test_a_ready_host_passes_every_check(api: Api, sshd: SshServer, tmp_path: Path) -> None:
    created = await create(api, sshd, tmp_path)

    report = await api.ok(TEST, {"id": created["id"]})

    assert report["ok"] is True and report["missing"] == []
    checks = {check["name"]: check for check in report["checks"]}
    assert list(checks) == ["connection", "git", "python3", "root directory"]
    assert all(check["ok"] for check in checks.values())
    assert checks["git"]["detail"].startswith("git version")
    assert checks["root directory"]["detail"] == f"{tmp_path} is writable"


async def test_a_missing_root_directory_is_reported(
    api: Api, sshd: SshServer, tmp_path: Path
) -> None:
    created = await create(api, sshd, tmp_path / "nowhere")

    report = await api.ok(TEST, {"id": created["id"]})

    assert report["ok"] is False
    assert report["missing"] == [f"the directory {tmp_path / 'nowhere'}"]


async def test_a_changed_host_key_is_refused_with_a_clear_reason(
    api: Api, sshd: SshServer, tmp_path: Path
) -> None:
    impostor = SshServer()  # only for a key that is not sshd's
    try:
        created = await create(api, sshd, tmp_path, hostKey=impostor.host_public_key)
    finally:
        impostor.remove()

    report = await api.ok(TEST, {"id": created["id"]})

    assert report["ok"] is False
    assert report["missing"] == ["a host key that matches the host"]
    (check,) = report["checks"]
    assert check["name"] == "host key"
    assert "not the one on record" in check["detail"]
    assert sshd.host_fingerprint in check["detail"]


async def test_an_unreachable_host_is_reported(api: Api, sshd: SshServer, tmp_path: Path) -> None:
    created = await create(api, sshd, tmp_path, port=free_port())

    report = await api.ok(TEST, {"id": created["id"]})

    (check,) = report["checks"]
    assert check["name"] == "connection"
    assert "connection refused" in check["detail"]


async def test_trust_on_first_use_records_the_host_key(
    api: Api, sshd: SshServer, tmp_path: Path
) -> None:
    created = await create(api, sshd, tmp_path, hostKey=None, trustOnFirstUse=True)

    report = await api.ok(TEST, {"id": created["id"]})

    assert created["hostKey"] is None and created["trustOnFirstUse"] is True
    assert report["ok"] is True
    recorded = report["environment"]
    assert recorded["hostKey"] == " ".join(sshd.host_public_key.split()[:2])
    assert recorded["trustOnFirstUse"] is False

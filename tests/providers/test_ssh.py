"""The SSH transport against a real OpenSSH server: quoting, limits, host keys, links."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.hosts import target_for
from tests.support.postgres import free_port
from tests.support.sshd import SshServer
from worksite.providers.ssh import (
    MAX_SESSIONS,
    CommandTimeout,
    HostKeyRefused,
    HostUnreachable,
    LoginRefused,
    SshLink,
    SshPool,
    parse_host_key,
)

WAIT = 20.0


@pytest.fixture
async def link(sshd: SshServer) -> AsyncIterator[SshLink]:
    link = SshLink(target_for(sshd))
    try:
        yield link
    finally:
        await link.close()


async def wait_until(condition, timeout: float = WAIT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_arguments_reach_the_host_exactly_and_unexpanded(
    link: SshLink, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    hostile = [
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"; touch {marker}",
        "it's",
        'say "hi"',
        "two  spaces",
        "line\nbreak",
        "*",
        "~",
        "$HOME",
        "-n",
        "",
    ]

    result = await link.run(["printf", "%s\\0", *hostile])

    assert result.ok
    assert result.stdout.split("\0")[:-1] == hostile
    assert not marker.exists()


async def test_a_failing_command_reports_its_status_and_output(link: SshLink) -> None:
    result = await link.run(["sh", "-c", "echo out; echo err >&2; exit 3"])

    assert (result.exit_status, result.stdout, result.stderr) == (3, "out\n", "err\n")


async def test_the_time_limit_ends_the_command_on_the_host(link: SshLink, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    with pytest.raises(CommandTimeout, match="did not finish within 1 s"):
        await link.run(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 60"], timeout=1)

    pid = int(pid_file.read_text())

    async def gone() -> bool:
        return not Path(f"/proc/{pid}").exists()

    await wait_until(gone)


async def test_files_are_read_by_offset_and_written_whole(link: SshLink, tmp_path: Path) -> None:
    path = str(tmp_path / "deep" / "file.txt")

    await link.write(path, b"0123456789")

    assert await link.read(path) == b"0123456789"
    assert await link.read(path, 4) == b"456789"
    assert await link.read(path, 4, 3) == b"456"
    assert await link.size(path) == 10
    assert await link.read(str(tmp_path / "missing")) is None
    assert not Path(path + ".partial").exists()


async def test_concurrent_commands_beyond_the_session_limit_all_run(link: SshLink) -> None:
    count = 3 * MAX_SESSIONS

    results = await asyncio.gather(*(link.run(["sleep", "0.2"]) for _ in range(count)))

    assert [result.exit_status for result in results] == [0] * count
    assert link.connects == 1


async def test_the_host_key_may_be_pinned_by_fingerprint(sshd: SshServer) -> None:
    link = SshLink(target_for(sshd, host_key=sshd.host_fingerprint))
    try:
        assert (await link.run(["true"])).ok
    finally:
        await link.close()


async def test_another_host_key_is_refused_before_logging_in(
    sshd: SshServer, tmp_path: Path
) -> None:
    other = SshServer()  # its key is not sshd's
    try:
        link = SshLink(target_for(sshd, host_key=other.host_public_key))
        with pytest.raises(HostKeyRefused) as refused:
            await link.run(["touch", str(tmp_path / "ran")])
    finally:
        other.remove()

    message = str(refused.value)
    assert sshd.host_fingerprint in message
    assert "not the one on record" in message
    assert not (tmp_path / "ran").exists()
    assert "Accepted publickey" not in _log_since_refusal(sshd)


def _log_since_refusal(server: SshServer) -> str:
    # The refusal is the last connection in the log; no login follows it.
    text = server.log_path.read_text()
    return text[text.rfind("Connection from") :]


async def test_no_host_key_and_no_trust_on_first_use_is_refused(sshd: SshServer) -> None:
    link = SshLink(target_for(sshd, host_key=None))

    with pytest.raises(HostKeyRefused, match="no host key is on record"):
        await link.run(["true"])


async def test_trust_on_first_use_records_the_key_and_then_holds_to_it(
    own_sshd: SshServer,
) -> None:
    recorded: list[str] = []

    async def record(line: str) -> None:
        recorded.append(line)

    link = SshLink(target_for(own_sshd, host_key=None, trust_on_first_use=True, on_host_key=record))
    try:
        assert (await link.run(["true"])).ok
        assert recorded == [" ".join(own_sshd.host_public_key.split()[:2])]

        own_sshd.rotate_host_key()  # also drops the connection

        with pytest.raises(HostKeyRefused):
            await link.run(["true"])
    finally:
        await link.close()
    assert len(recorded) == 1


async def test_a_key_the_host_does_not_know_is_refused(sshd: SshServer, tmp_path: Path) -> None:
    stranger = SshServer()  # a server object only for its fresh user key
    try:
        target = target_for(sshd)
        link = SshLink(
            type(target)(**{**target.__dict__, "private_key": stranger.user_private_key})
        )
        with pytest.raises(LoginRefused, match="refused the private key"):
            await link.run(["true"])
    finally:
        stranger.remove()


async def test_an_unreachable_host_fails_with_a_clear_error(sshd: SshServer) -> None:
    link = SshLink(target_for(sshd, port=free_port()))

    with pytest.raises(HostUnreachable, match="Cannot reach .*connection refused"):
        await link.run(["true"])


async def test_a_dropped_connection_is_made_again_on_next_use(own_sshd: SshServer) -> None:
    link = SshLink(target_for(own_sshd))
    try:
        assert (await link.run(["true"])).ok

        own_sshd.stop()  # the listener and every open connection
        with pytest.raises(HostUnreachable):
            await link.run(["true"])

        own_sshd.start()
        assert (await link.run(["true"])).ok
        assert await link.read("/proc/self/stat") is not None
        assert link.connects == 2
    finally:
        await link.close()


async def test_a_host_back_after_a_restart_is_used_again_at_once(
    own_sshd: SshServer,
) -> None:
    link = SshLink(target_for(own_sshd))
    try:
        assert (await link.run(["true"])).ok
        own_sshd.stop()
        own_sshd.start()  # back before the link noticed

        assert (await link.run(["echo", "again"])).stdout == "again\n"
        assert link.connects == 2
    finally:
        await link.close()


async def test_the_pool_keeps_one_link_per_environment_until_it_changes(
    sshd: SshServer,
) -> None:
    pool = SshPool()
    try:
        first = pool.link(target_for(sshd, key="a"))
        assert pool.link(target_for(sshd, key="a")) is first
        assert pool.link(target_for(sshd, key="b")) is not first

        changed = pool.link(target_for(sshd, key="a", host_key=sshd.host_fingerprint))
        assert changed is not first
        assert (await changed.run(["true"])).ok
    finally:
        await pool.close_all()


@pytest.mark.parametrize(
    "text",
    ["not a key", "ssh-ed25519 !!!!", "SHA1:abc", ""],
)
def test_host_keys_that_are_neither_key_nor_fingerprint_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="expected the host's public key"):
        parse_host_key(text)


def test_a_known_hosts_line_gives_its_key(sshd: SshServer) -> None:
    pin = parse_host_key(f"[127.0.0.1]:{sshd.port} {sshd.host_public_key}")

    assert pin.key is not None
    assert pin.describe().endswith(sshd.host_fingerprint)

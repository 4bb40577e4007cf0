"""SSH connections to the hosts of SSH environments (asyncssh), pooled per environment.

One connection per environment carries everything: commands (one session each, at
most MAX_SESSIONS at a time, below OpenSSH's default of 10 per connection) and one
SFTP session for files, which reads logs and state by offset without starting a
process on the host. A connection that dropped is made again on next use; a call
that failed because the link went away is retried once on the new connection when
it is safe to repeat (reads, and commands the caller marks idempotent).

Host keys are pinned: the server must present the key (or a key with the
fingerprint) stored for the environment, else the connection is refused before
authenticating. With trust on first use and nothing stored yet, the key presented
first is accepted and handed to `on_host_key` to be stored.

    SshError
     +-- HostUnreachable    no TCP connection, no SSH answer, or the link dropped
     +-- HostKeyRefused     the host presented a key other than the pinned one
     +-- LoginRefused       the host refused the user or the key
     +-- CommandTimeout     a command ran past its time limit
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import asyncssh

log = logging.getLogger(__name__)

# Sessions one connection may hold at once; the SFTP session is one more.
MAX_SESSIONS = 8
CONNECT_TIMEOUT = 10.0
COMMAND_TIMEOUT = 600.0
# A command's time limit is enforced on the host (`timeout`), since OpenSSH keeps a
# command running when its channel closes; the client waits this much longer.
TIMEOUT_MARGIN = 10.0
KEEPALIVE_INTERVAL = 10.0
KEEPALIVE_COUNT_MAX = 3
READ_CHUNK = 1 << 20

T = TypeVar("T")

# What asyncssh raises when the connection goes away under a call.
LINK_ERRORS: tuple[type[BaseException], ...] = (
    asyncssh.ConnectionLost,
    asyncssh.DisconnectError,
    asyncssh.ChannelOpenError,
    asyncssh.SFTPConnectionLost,
    BrokenPipeError,
    ConnectionError,
)


class SshError(Exception):
    """Something between this server and an SSH host failed; the message says what."""


class HostUnreachable(SshError):
    pass


class HostKeyRefused(SshError):
    pass


class LoginRefused(SshError):
    pass


class CommandTimeout(SshError):
    pass


@dataclass(frozen=True)
class SshTarget:
    """Everything needed to reach one environment's host."""

    key: str  # the environment's id: one pooled connection per key
    host: str
    port: int
    user: str
    private_key: str = field(repr=False)
    host_key: str | None  # public key line or fingerprint; None with trust on first use
    trust_on_first_use: bool = False
    # Called with the presented key (`ssh-ed25519 AAAA...`) when it was trusted first.
    on_host_key: Callable[[str], Awaitable[None]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class Completed:
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


# Host keys


@dataclass(frozen=True)
class HostKeyPin:
    """What the host must present: one exact key, or any key with this fingerprint."""

    key: asyncssh.SSHKey | None = None
    fingerprint: str | None = None

    def accepts(self, presented: asyncssh.SSHKey) -> bool:
        if self.key is not None:
            return bool(presented.public_data == self.key.public_data)
        assert self.fingerprint is not None
        kind = "md5" if self.fingerprint.startswith("MD5:") else "sha256"
        return bool(presented.get_fingerprint(kind) == self.fingerprint)

    def describe(self) -> str:
        if self.key is not None:
            return f"{self.key.algorithm.decode()} {self.key.get_fingerprint()}"
        return str(self.fingerprint)


def parse_host_key(text: str) -> HostKeyPin:
    """A pin from `ssh-ed25519 AAAA... [comment]`, a known_hosts line, or a fingerprint.

    Raises ValueError saying what was expected.
    """
    text = text.strip()
    if text.startswith(("SHA256:", "MD5:")):
        return HostKeyPin(fingerprint=text)
    words = text.split()
    # A known_hosts line starts with the host names; the key type follows.
    for start in range(min(2, len(words))):
        candidate = " ".join(words[start : start + 2])
        try:
            return HostKeyPin(key=asyncssh.import_public_key(candidate))
        except (asyncssh.KeyImportError, ValueError):
            continue
    raise ValueError(
        "expected the host's public key (`ssh-ed25519 AAAA...`, as in "
        "/etc/ssh/ssh_host_ed25519_key.pub) or its fingerprint (`SHA256:...`)"
    )


def public_key_line(key: asyncssh.SSHKey) -> str:
    """`ssh-ed25519 AAAA...`, without a comment."""
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


class _Client(asyncssh.SSHClient):
    """Checks the host key against the pin before anything is sent to the host."""

    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.pin = parse_host_key(target.host_key) if target.host_key else None
        self.presented: asyncssh.SSHKey | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.presented = key
        if self.pin is None:
            return self.target.trust_on_first_use
        return self.pin.accepts(key)


# Connections


class SshLink:
    """The pooled connection to one environment's host."""

    def __init__(self, target: SshTarget, max_sessions: int = MAX_SESSIONS) -> None:
        self.target = target
        self.sessions = asyncio.Semaphore(max_sessions)
        self._connection: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._connecting = asyncio.Lock()
        self._facts: dict[str, Any] = {}  # learned about the host, per connection
        self.connects = 0

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    def fact(self, name: str) -> Any:
        """Something learned about the host on this connection (None: not yet)."""
        return self._facts.get(name)

    def remember(self, name: str, value: Any) -> None:
        self._facts[name] = value

    async def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = COMMAND_TIMEOUT,
        idempotent: bool = True,
        stdin: str | None = None,
        limit_on_host: bool = True,
    ) -> Completed:
        """Run argv on the host, every argument quoted for its shell; never raises for
        a non-zero exit. The host ends the command after `timeout` seconds (unless
        limit_on_host is off: then only this side stops waiting)."""
        limit = ["timeout", str(max(1, round(timeout)))] if limit_on_host else []
        command = shlex.join([*limit, *argv])

        async def attempt(connection: asyncssh.SSHClientConnection) -> Completed:
            async with self.sessions:
                result = await connection.run(
                    command,
                    check=False,
                    input=stdin,
                    timeout=timeout + TIMEOUT_MARGIN,
                    encoding="utf-8",
                    errors="replace",
                )
            if result.exit_status is None:  # the channel closed without a status
                raise asyncssh.ConnectionLost("the command's channel closed early")
            if result.exit_status == 124 and limit_on_host:
                raise CommandTimeout(
                    f"{self.target.label}: `{shlex.join(argv)[:200]}` did not finish "
                    f"within {timeout:g} s"
                )
            return Completed(result.exit_status, str(result.stdout or ""), str(result.stderr or ""))

        started = time.monotonic()
        try:
            return await self._on_connection(attempt, retry=idempotent)
        except asyncssh.TimeoutError:
            raise CommandTimeout(
                f"{self.target.label}: no answer to `{shlex.join(argv)[:200]}` within "
                f"{timeout + TIMEOUT_MARGIN:g} s"
            ) from None
        finally:
            log.debug(
                "ssh %s: %s (%.3f s)",
                self.target.label,
                shlex.join(argv)[:200],
                time.monotonic() - started,
            )

    async def read(self, path: str, offset: int = 0, limit: int | None = None) -> bytes | None:
        """Bytes of a file on the host from offset (to its end, or `limit` of them);
        None when the file does not exist."""

        async def attempt(connection: asyncssh.SSHClientConnection) -> bytes | None:
            sftp = await self._sftp_client(connection)
            try:
                async with sftp.open(path, "rb") as handle:
                    if limit is not None:
                        return _bytes(await handle.read(limit, offset))
                    chunks, at = [], offset
                    while chunk := _bytes(await handle.read(READ_CHUNK, at)):
                        chunks.append(chunk)
                        at += len(chunk)
                    return b"".join(chunks)
            except asyncssh.SFTPNoSuchFile:
                return None

        return await self._on_connection(attempt, retry=True)

    async def size(self, path: str) -> int | None:
        """A file's size on the host; None when it does not exist."""

        async def attempt(connection: asyncssh.SSHClientConnection) -> int | None:
            sftp = await self._sftp_client(connection)
            try:
                return (await sftp.stat(path)).size
            except asyncssh.SFTPNoSuchFile:
                return None

        return await self._on_connection(attempt, retry=True)

    async def is_dir(self, path: str) -> bool:
        async def attempt(connection: asyncssh.SSHClientConnection) -> bool:
            return bool(await (await self._sftp_client(connection)).isdir(path))

        return await self._on_connection(attempt, retry=True)

    async def realpath(self, path: str) -> str | None:
        """The path with symlinks resolved (its last part may not exist); None when a
        directory on the way does not exist."""

        async def attempt(connection: asyncssh.SSHClientConnection) -> str | None:
            sftp = await self._sftp_client(connection)
            try:
                return str(await sftp.realpath(path))
            except asyncssh.SFTPNoSuchFile:
                return None

        return await self._on_connection(attempt, retry=True)

    async def open_tcp(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection made from the host (direct-tcpip), as asyncio streams.

        ConnectionRefusedError when the host could not connect."""
        connection, _ = await self._connect()
        try:
            reader, writer = await connection.open_connection(host, port)
        except asyncssh.ChannelOpenError as error:
            if connection.is_closed():
                self._drop(connection)
                raise HostUnreachable(
                    f"The connection to {self.target.label} dropped: {_reason(error)}"
                ) from None
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"{host}:{port} on {self.target.label}: {error.reason}"
            ) from None
        return reader, writer  # type: ignore[return-value]  # the same stream methods

    async def write(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Put a file on the host whole: written beside it, then renamed over it."""

        async def attempt(connection: asyncssh.SSHClientConnection) -> None:
            sftp = await self._sftp_client(connection)
            parent = path.rsplit("/", 1)[0] or "/"
            await sftp.makedirs(parent, exist_ok=True)
            partial = f"{path}.partial"
            async with sftp.open(partial, "wb", asyncssh.SFTPAttrs(permissions=mode)) as out:
                await out.write(data)
            await sftp.posix_rename(partial, path)

        await self._on_connection(attempt, retry=True)

    async def close(self) -> None:
        connection, self._connection, self._sftp = self._connection, None, None
        if connection is not None:
            connection.close()
            await connection.wait_closed()

    # The connection

    async def _on_connection(
        self,
        action: Callable[[asyncssh.SSHClientConnection], Awaitable[T]],
        retry: bool,
    ) -> T:
        """Run action on the live connection; reconnect once if an old one dropped."""
        connection, fresh = await self._connect()
        try:
            return await action(connection)
        except LINK_ERRORS as error:
            self._drop(connection)
            if fresh or not retry:
                raise HostUnreachable(
                    f"The connection to {self.target.label} dropped: {_reason(error)}"
                ) from None
        log.info("ssh %s: the connection had dropped; connecting again", self.target.label)
        connection, _ = await self._connect()
        try:
            return await action(connection)
        except LINK_ERRORS as error:
            self._drop(connection)
            raise HostUnreachable(
                f"The connection to {self.target.label} dropped: {_reason(error)}"
            ) from None

    async def _connect(self) -> tuple[asyncssh.SSHClientConnection, bool]:
        """The live connection, and whether this call made it."""
        async with self._connecting:
            if self._connection is not None and not self._connection.is_closed():
                return self._connection, False
            self._drop(self._connection)
            started = time.monotonic()
            self._connection = await self._open()
            self.connects += 1
            log.info("ssh %s: connected in %.2f s", self.target.label, time.monotonic() - started)
            return self._connection, True

    async def _open(self) -> asyncssh.SSHClientConnection:
        target = self.target
        client = _Client(target)
        try:
            key = asyncssh.import_private_key(target.private_key)
        except (asyncssh.KeyImportError, ValueError) as error:
            raise LoginRefused(f"The private key of {target.label} is unusable: {error}") from None
        try:
            connection, _ = await asyncio.wait_for(
                asyncssh.create_connection(
                    lambda: client,
                    target.host,
                    target.port,
                    username=target.user,
                    client_keys=[key],
                    known_hosts=([], [], []),
                    server_host_key_algs=_host_key_algorithms(client.pin),
                    agent_path=None,
                    config=[],
                    preferred_auth=["publickey"],
                    password=None,
                    kbdint_auth=False,
                    gss_auth=False,
                    keepalive_interval=KEEPALIVE_INTERVAL,
                    keepalive_count_max=KEEPALIVE_COUNT_MAX,
                    connect_timeout=CONNECT_TIMEOUT,
                ),
                CONNECT_TIMEOUT + 5,
            )
        except asyncssh.HostKeyNotVerifiable:
            raise _key_refused(client) from None
        except asyncssh.PermissionDenied:
            raise LoginRefused(
                f"{target.host}:{target.port} refused the private key for user "
                f"{target.user}; is its public key in ~{target.user}/.ssh/authorized_keys?"
            ) from None
        except (OSError, asyncssh.Error, TimeoutError) as error:
            raise HostUnreachable(f"Cannot reach {target.label}: {_reason(error)}") from None

        if client.pin is None and client.presented is not None:
            await self._trusted_first(client.presented)
        return connection

    async def _trusted_first(self, presented: asyncssh.SSHKey) -> None:
        """Pin the key a host presented at its first connection, for every later one."""
        line = public_key_line(presented)
        log.warning(
            "ssh %s: trusted the host key %s on first use",
            self.target.label,
            presented.get_fingerprint(),
        )
        if self.target.on_host_key is not None:
            await self.target.on_host_key(line)
        self.target = replace(self.target, host_key=line, trust_on_first_use=False)

    async def _sftp_client(self, connection: asyncssh.SSHClientConnection) -> asyncssh.SFTPClient:
        if self._sftp is None or self._connection is not connection:
            try:
                self._sftp = await connection.start_sftp_client()
            except (asyncssh.ChannelOpenError, asyncssh.SFTPError) as error:
                if connection.is_closed():
                    raise
                raise SshError(
                    f"{self.target.label} offers no SFTP subsystem, which Worksite uses "
                    f"to read logs and state: {_reason(error)}"
                ) from None
        return self._sftp

    def _drop(self, connection: asyncssh.SSHClientConnection | None) -> None:
        if connection is None:
            return
        if connection is self._connection:
            self._connection, self._sftp = None, None
            self._facts.clear()
        connection.abort()


def _host_key_algorithms(pin: HostKeyPin | None) -> Sequence[str] | str:
    # Ask for the pinned key's own algorithm, so a host with several keys shows that one.
    if pin is not None and pin.key is not None:
        return [algorithm.decode() for algorithm in pin.key.sig_algorithms]
    return "default"


def _key_refused(client: _Client) -> HostKeyRefused:
    target, presented = client.target, client.presented
    shown = (
        f"{presented.algorithm.decode()} {presented.get_fingerprint()}"
        if presented is not None
        else "no usable key"
    )
    if client.pin is None:
        return HostKeyRefused(
            f"{target.host}:{target.port} presented the host key {shown}, but no host "
            "key is on record and trust on first use is off; set the environment's "
            "host key."
        )
    return HostKeyRefused(
        f"The host key of {target.host}:{target.port} is not the one on record: it "
        f"presented {shown}, expected {client.pin.describe()}. If the host was rebuilt, "
        "update the environment's host key; otherwise someone may be impersonating it."
    )


def _bytes(data: object) -> bytes:
    # A file opened in binary mode reads bytes; asyncssh's annotations say str.
    assert isinstance(data, bytes)
    return data


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno:
        return os.strerror(error.errno).lower()  # asyncio's own text names no cause
    if isinstance(error, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:g} s"
    return str(error) or type(error).__name__


class SshPool:
    """One SshLink per environment, kept for as long as its settings do not change."""

    def __init__(self) -> None:
        self._links: dict[str, SshLink] = {}

    def link(self, target: SshTarget) -> SshLink:
        current = self._links.get(target.key)
        if current is not None and current.target == target:
            return current
        if current is not None:
            self._closing(current)
        link = self._links[target.key] = SshLink(target)
        return link

    async def forget(self, key: str) -> None:
        """Close the connection of an environment whose settings changed."""
        link = self._links.pop(key, None)
        if link is not None:
            await link.close()

    async def close_all(self) -> None:
        links, self._links = list(self._links.values()), {}
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)

    def _closing(self, link: SshLink) -> None:
        task = asyncio.get_running_loop().create_task(link.close())
        task.add_done_callback(lambda done: done.exception())


pool = SshPool()

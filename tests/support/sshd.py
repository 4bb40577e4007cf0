"""A real OpenSSH server on a free loopback port, for tests and benchmarks.

Everything it uses lives in a temporary directory: a generated host key, a
generated user key whose public half is the only authorized key, the config and
the log. The server runs in the foreground (`sshd -D`) as a child of the test
process and is stopped through its pid; `stop` can also end the per-connection
sshd processes it forked, which is what a host going down looks like to a client.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.postgres import free_port

SSHD = Path("/usr/sbin/sshd")
# As root, sshd insists on this directory for its privilege-separated children.
PRIVSEP_DIR = Path("/run/sshd")

CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
# The key files sit under /tmp, which is world-writable; sshd would refuse them.
StrictModes no
UsePAM no
PrintMotd no
Subsystem sftp internal-sftp
MaxStartups 100
LogLevel VERBOSE
"""


class SshServer:
    def __init__(self, port: int | None = None) -> None:
        if not SSHD.exists():
            raise RuntimeError(
                f"{SSHD} not found: install the openssh-server package (scripts/test does)"
            )
        self.root = Path(tempfile.mkdtemp(prefix="worksite-sshd-"))
        self.port = port or free_port()
        self.user = getpass.getuser()
        self.host_key = self.root / "host_ed25519"
        self.user_key = self.root / "user_ed25519"
        self.config = self.root / "sshd_config"
        self.log_path = self.root / "sshd.log"
        self.process: subprocess.Popen[bytes] | None = None
        _keygen(self.host_key, "worksite-test-host")
        _keygen(self.user_key, "worksite-test-user")
        shutil.copyfile(self.user_key.with_suffix(".pub"), self.root / "authorized_keys")
        self.config.write_text(
            CONFIG.format(port=self.port, host_key=self.host_key, root=self.root, user=self.user)
        )

    @property
    def host_public_key(self) -> str:
        """The host key as a known_hosts entry would hold it: `ssh-ed25519 AAAA...`."""
        return self.host_key.with_suffix(".pub").read_text().strip()

    @property
    def host_fingerprint(self) -> str:
        """`SHA256:...`, as `ssh-keygen -lf` prints it."""
        listing = _run("ssh-keygen", "-lf", str(self.host_key.with_suffix(".pub")))
        return listing.split()[1]

    @property
    def user_private_key(self) -> str:
        return self.user_key.read_text()

    def start(self, timeout: float = 30.0) -> None:
        if os.geteuid() == 0:
            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited early:\n{self.log_path.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sshd did not answer:\n{self.log_path.read_text()}")
            time.sleep(0.02)

    def stop(self, drop_connections: bool = True) -> None:
        """Stop the listener; with drop_connections, the open connections end too."""
        if self.process is None or self.process.poll() is not None:
            return
        sessions = _descendants(self.process.pid) if drop_connections else []
        self.process.terminate()
        self.process.wait(10)
        for pid in sessions:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def rotate_host_key(self) -> None:
        """Give the server a new host key (a rebuilt host, or an impostor)."""
        running = self.process is not None and self.process.poll() is None
        self.stop()
        self.host_key.unlink()
        self.host_key.with_suffix(".pub").unlink()
        _keygen(self.host_key, "worksite-test-host-2")
        if running:
            self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(8).startswith(b"SSH-")
        except OSError:
            return False


def _keygen(path: Path, comment: str) -> None:
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path))


def _run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip()}")
    return result.stdout


def _descendants(root: int) -> list[int]:
    """The pids of root's live descendants, found through the ppid links in /proc."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    found, parents = [], [root]
    while parents:
        for pid in children.get(parents.pop(), []):
            found.append(pid)
            parents.append(pid)
    return found

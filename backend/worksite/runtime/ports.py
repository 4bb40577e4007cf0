"""Ports on this machine: is one free, and which process holds it.

A port counts as free when it can be bound on every IPv4 and IPv6 address; the probe
socket is closed at once and never listens. The holder of a port is found through
/proc/net/tcp and tcp6 (sockets by local port) and /proc/<pid>/fd (whose socket it
is), so a conflict can name the process without touching it.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

_ADDRESSES = ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::"))


def is_free(port: int) -> bool:
    """Whether a server could listen on port right now, on any address."""
    for family, address in _ADDRESSES:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this machine
        with sock:
            # As servers do: a port that only has connections in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((address, port))
            except OSError as error:
                if error.errno == errno.EADDRNOTAVAIL:
                    continue  # IPv6 is present but disabled
                return False
    return True


def holder(port: int) -> str:
    """Who holds port, for a message: "python3 (pid 4242)" or a vaguer phrase."""
    inodes = _socket_inodes(port)
    if not inodes:
        return "a process this server cannot see"
    for pid in _pids():
        if _owns_any(pid, inodes):
            return f"{_command_name(pid)} (pid {pid})"
    return "a process this server cannot see"


def _socket_inodes(port: int) -> set[str]:
    """Inodes of the sockets bound to port, listening ones or not."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[9] != "0":
                inodes.add(fields[9])
    return inodes


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _owns_any(pid: int, inodes: set[str]) -> bool:
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or "a process"
    except OSError:
        return "a process"

"""Port probes: free or not, and who holds a port, without touching the holder."""

from __future__ import annotations

import os
import socket

from worksite.runtime import ports


def test_listening_port_is_not_free_and_its_holder_is_named() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        assert not ports.is_free(port)
        assert ports.holder(port).endswith(f"(pid {os.getpid()})")


def test_port_bound_on_another_address_family_is_not_free() -> None:
    with socket.socket(socket.AF_INET6) as listener:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind(("::1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        assert not ports.is_free(port)


def test_closed_port_is_free_and_has_no_holder() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert ports.is_free(port)
    assert ports.holder(port) == "a process this server cannot see"

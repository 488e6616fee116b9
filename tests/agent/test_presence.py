"""Presence by ICMP and TCP: pure packet handling, loopback, and an empty address in network namespaces."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from campuswatch.agent.protocols.presence import (
    PresenceResult,
    build_echo_request,
    icmp_available,
    icmp_checksum,
    is_present,
    parse_echo_reply,
)


def test_checksum_matches_rfc1071_example() -> None:
    # RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, the checksum its complement.
    assert icmp_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_echo_request_checksums_to_zero_and_a_reply_parses() -> None:
    request = build_echo_request(0x1234, 7)
    assert icmp_checksum(request) == 0
    reply = bytes([0]) + request[1:]
    assert parse_echo_reply(reply, with_ip_header=False) == (0x1234, 7)
    ip_header = bytes([0x45]) + bytes(19)
    assert parse_echo_reply(ip_header + reply, with_ip_header=True) == (0x1234, 7)


def test_requests_errors_and_junk_are_not_replies() -> None:
    assert parse_echo_reply(build_echo_request(1, 1), with_ip_header=False) is None
    assert parse_echo_reply(bytes([3, 1]) + bytes(6), with_ip_header=False) is None  # host unreachable
    assert parse_echo_reply(b"\x00\x00", with_ip_header=False) is None
    assert parse_echo_reply(bytes([0x60]) + bytes(40), with_ip_header=True) is None


@pytest.mark.skipif(not icmp_available(), reason="ICMP sockets not permitted for this user")
async def test_loopback_answers_icmp() -> None:
    result = await is_present("127.0.0.1", tcp_ports=(), timeout_s=2.0)
    assert (result.present, result.method) == (True, "icmp")
    assert result.rtt_s is not None


async def test_open_tcp_port_proves_presence_without_icmp() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await is_present("127.0.0.1", tcp_ports=(port,), timeout_s=2.0, icmp=False)
    assert result == PresenceResult(True, "tcp", result.rtt_s, f"port {port} open")


async def test_refused_port_also_proves_presence() -> None:
    # Nothing listens on 127.0.0.7: the kernel answers RST, which only a living host does.
    with socket.socket() as s:
        s.bind(("127.0.0.7", 0))
        port = s.getsockname()[1]
        result = await is_present("127.0.0.7", tcp_ports=(port,), timeout_s=2.0, icmp=False)
    assert (result.present, result.method, result.detail) == (True, "tcp", f"port {port} refused")


async def test_unresolvable_name_is_absent() -> None:
    result = await is_present("no-such-device.invalid", tcp_ports=(80,), timeout_s=2.0)
    assert not result.present and "cannot resolve" in result.detail


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def namespaces() -> Iterator[str]:
    """Two namespaces joined by a veth pair: the agent's (10.203.7.1) and a device's (10.203.7.2).

    Yields the agent's namespace; 10.203.7.3 is in the subnet but held by nobody.
    """
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    agent, device = f"cwagent{os.getpid()}", f"cwdevice{os.getpid()}"
    try:
        _ip("netns", "add", agent)
        _ip("netns", "add", device)
        _ip("-n", agent, "link", "add", "va", "type", "veth", "peer", "name", "vd", "netns", device)
        _ip("-n", agent, "addr", "add", "10.203.7.1/24", "dev", "va")
        _ip("-n", device, "addr", "add", "10.203.7.2/24", "dev", "vd")
        for ns, dev in ((agent, "va"), (device, "vd"), (agent, "lo"), (device, "lo")):
            _ip("-n", ns, "link", "set", dev, "up")
        yield agent
    finally:
        for ns in (agent, device):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _probe_in(namespace: str, *args: str) -> dict[str, object]:
    """Run ``python -m campuswatch.agent.protocols.presence`` inside the namespace (the probe must use its network stack)."""
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            namespace,
            sys.executable,
            "-m",
            "campuswatch.agent.protocols.presence",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_device_in_another_namespace_answers_icmp(namespaces: str) -> None:
    result = _probe_in(namespaces, "10.203.7.2", "--no-tcp", "--timeout", "3")
    assert (result["present"], result["method"]) == (True, "icmp")


def test_device_in_another_namespace_refuses_tcp_and_is_present(namespaces: str) -> None:
    result = _probe_in(namespaces, "10.203.7.2", "--no-icmp", "--port", "9", "--timeout", "3")
    assert (result["present"], result["method"], result["detail"]) == (True, "tcp", "port 9 refused")


def test_address_nobody_holds_is_absent(namespaces: str) -> None:
    result = _probe_in(namespaces, "10.203.7.3", "--port", "80", "--port", "9100", "--timeout", "1")
    assert (result["present"], result["method"]) == (False, "none")


def test_address_without_a_route_is_absent_not_an_error(namespaces: str) -> None:
    # The agent's namespace has no default route: sending to TEST-NET-1 fails at once (ENETUNREACH).
    result = _probe_in(namespaces, "192.0.2.1", "--port", "80", "--timeout", "1")
    assert (result["present"], result["method"]) == (False, "none")

"""Presence by ICMP and TCP: loopback, and a device, an empty address and no route in network namespaces,
probing as root (raw ICMP socket), as a group ping_group_range admits (datagram socket) and as one it does
not (TCP alone)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from campuswatch.agent.errors import DeviceUnreachable
from campuswatch.agent.protocols.presence import PresenceReader, PresenceResult, icmp_available, is_present
from campuswatch.agent.protocols.reader import ReadTarget
from tests.support.host import require_root, veth_pair


@pytest.mark.integration
async def test_loopback_answers_icmp() -> None:
    if not icmp_available():
        require_root("an ICMP socket (or net.ipv4.ping_group_range including this user's group)")
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


async def test_the_ping_reader_reports_a_present_host_and_refuses_an_absent_one() -> None:
    reading = await PresenceReader().read(ReadTarget("lo", "ping://127.0.0.1", 2.0))
    assert (reading.address, reading.kind, reading.system.name) == ("127.0.0.1", "host", "127.0.0.1")
    with pytest.raises(DeviceUnreachable, match=r"no-such-device\.invalid: no answer to ICMP or TCP"):
        await PresenceReader().read(ReadTarget("gone", "ping://no-such-device.invalid", 2.0))


@pytest.fixture(scope="module")
def namespaces() -> Iterator[str]:
    """Two namespaces joined by a veth pair: the agent's (10.203.7.1) and a device's (10.203.7.2).

    Yields the agent's namespace; 10.203.7.3 is in the subnet but held by nobody. In the agent's namespace
    ``net.ipv4.ping_group_range`` admits unprivileged ICMP sockets for group :data:`PING_GROUP` only.
    """
    with veth_pair("cwpres", "10.203.7") as (agent, _device):
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                agent,
                "sysctl",
                "-qw",
                f"net.ipv4.ping_group_range={PING_GROUP} {PING_GROUP}",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        yield agent


#: The group the agent's namespace lets open unprivileged ICMP sockets (nogroup), and one it does not.
PING_GROUP, OTHER_GROUP = 65534, 65533


def _probe_in(namespace: str, *args: str, group: int | None = None) -> dict[str, object]:
    """Run ``python -m campuswatch.agent.protocols.presence`` inside the namespace (the probe must use its
    network stack), as root or, given ``group``, as user nobody in that group alone."""
    unprivileged = (
        ["setpriv", "--reuid=65534", f"--regid={group}", "--clear-groups", "--inh-caps=-all"]
        if group is not None
        else []
    )
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            namespace,
            *unprivileged,
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


@pytest.mark.integration
def test_device_in_another_namespace_answers_icmp(namespaces: str) -> None:
    result = _probe_in(namespaces, "10.203.7.2", "--no-tcp", "--timeout", "3")
    assert (result["present"], result["method"]) == (True, "icmp")


@pytest.mark.integration
def test_a_group_ping_group_range_admits_pings_without_privilege(namespaces: str) -> None:
    result = _probe_in(namespaces, "10.203.7.2", "--no-tcp", "--timeout", "3", group=PING_GROUP)
    assert (result["present"], result["method"]) == (True, "icmp")


@pytest.mark.integration
def test_without_icmp_sockets_presence_rests_on_tcp(namespaces: str) -> None:
    silent = _probe_in(namespaces, "10.203.7.2", "--no-tcp", "--timeout", "1", group=OTHER_GROUP)
    assert (silent["present"], silent["method"]) == (False, "none"), (
        "no ICMP socket, no TCP: nothing proves it"
    )
    refused = _probe_in(namespaces, "10.203.7.2", "--port", "9", "--timeout", "3", group=OTHER_GROUP)
    assert (refused["present"], refused["method"], refused["detail"]) == (True, "tcp", "port 9 refused")


@pytest.mark.integration
def test_device_in_another_namespace_refuses_tcp_and_is_present(namespaces: str) -> None:
    result = _probe_in(namespaces, "10.203.7.2", "--no-icmp", "--port", "9", "--timeout", "3")
    assert (result["present"], result["method"], result["detail"]) == (True, "tcp", "port 9 refused")


@pytest.mark.integration
def test_address_nobody_holds_is_absent(namespaces: str) -> None:
    result = _probe_in(namespaces, "10.203.7.3", "--port", "80", "--port", "9100", "--timeout", "1")
    assert (result["present"], result["method"]) == (False, "none")


@pytest.mark.integration
def test_address_without_a_route_is_absent_not_an_error(namespaces: str) -> None:
    # The agent's namespace has no default route: sending to TEST-NET-1 fails at once (ENETUNREACH).
    result = _probe_in(namespaces, "192.0.2.1", "--port", "80", "--timeout", "1")
    assert (result["present"], result["method"]) == (False, "none")

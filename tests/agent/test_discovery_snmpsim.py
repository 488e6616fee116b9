"""Discovery over 127.0.0.0/29 against snmpsim devices on 127.0.0.2-.6, each with its own community.

Each device is its own snmpsim responder on its own loopback address (same port for all, as on a real
network), so stopping one makes exactly that device disappear. 127.0.0.6 speaks SNMP with a community we
do not know: the sweep must not count it. An mDNS publisher on loopback announces the printer at
127.0.0.3 (joined to its SNMP answer by address) and an AirPlay display at 127.0.0.6.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from campuswatch.agent.discovery import (
    SweepCredential,
    build_inventory,
    diff,
    discover,
    load_inventory,
    write_inventory,
)
from campuswatch.agent.protocols.snmp.transport.types import V3User
from campuswatch.config import Secret
from sim.pjlink import PjlinkSimulator, ProjectorState
from sim.snmpsim import SnmpSimulator, free_udp_port
from tests.support.paths import SIM_RECORDINGS

SUBNET = "127.0.0.0/29"


@dataclass(frozen=True)
class Device:
    host: str
    recording: str
    community: str


DEVICES = [
    Device("127.0.0.2", "printer-lehrerzimmer", "verwaltung"),
    Device("127.0.0.3", "printer-raum-101", "unterricht"),
    Device("127.0.0.4", "switch-foyer", "netz"),
    # SNMPv3 only as far as we know: v3 context "netz-ups" selects this recording.
    Device("127.0.0.5", "ups-serverraum", "netz-ups"),
    Device("127.0.0.6", "printer-raum-101", "nicht-unsere"),
]
CREDENTIALS = [
    SweepCredential("office", community=Secret("verwaltung")),
    SweepCredential("classrooms", community=Secret("unterricht")),
    SweepCredential("network", version="1", community=Secret("netz")),
    SweepCredential(
        "ups-v3",
        version="3",
        v3=V3User(
            user="monitor",
            auth_protocol="sha",
            auth_key=Secret("authpass12"),
            priv_protocol="aes128",
            priv_key=Secret("privpass12"),
            context="netz-ups",
        ),
    ),
]
V3_USER = {
    "v3-user": "monitor",
    "v3-auth-key": "authpass12",
    "v3-auth-proto": "SHA",
    "v3-priv-key": "privpass12",
    "v3-priv-proto": "AES",
}


@pytest.fixture(scope="module")
def snmp_devices() -> Iterator[tuple[int, dict[str, SnmpSimulator]]]:
    """One responder per device, all on the same UDP port; yields (port, host -> simulator)."""
    port = free_udp_port("127.0.0.2")
    sims: dict[str, SnmpSimulator] = {}
    with tempfile.TemporaryDirectory(prefix="discovery-sim-") as tmp:
        # The responders drop to nobody when run as root: they must be able to read their data.
        os.chmod(tmp, 0o755)
        try:
            for device in DEVICES:
                data = Path(tmp) / device.host
                data.mkdir()
                shutil.copy(
                    SIM_RECORDINGS / f"{device.recording}.snmprec", data / f"{device.community}.snmprec"
                )
                os.chmod(data, 0o755)
                sims[device.host] = SnmpSimulator(
                    [data],
                    probe_community=device.community,
                    endpoints=[(device.host, port)],
                    v3_user=V3_USER if device.community == "netz-ups" else None,
                ).start()
            yield port, sims
        finally:
            for sim in sims.values():
                sim.stop()


@pytest.fixture
async def announcements() -> AsyncIterator[None]:
    """mDNS on loopback: the Kyocera at 127.0.0.3 over IPP, a display board at 127.0.0.6 over AirPlay."""
    azc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    infos = [
        AsyncServiceInfo(
            "_ipp._tcp.local.",
            "Raum 101 Drucker (discovery test)._ipp._tcp.local.",
            addresses=[socket.inet_aton("127.0.0.3")],
            port=631,
            server="km4b91e0-discovery.local.",
            properties={
                "rp": "ipp/print",
                "ty": "Kyocera ECOSYS P6235cdn",
                "note": "Raum 101",
                "UUID": "4509a320-00a0-008f-00b6-002507510eca",
            },
        ),
        AsyncServiceInfo(
            "_airplay._tcp.local.",
            "Board R101 (discovery test)._airplay._tcp.local.",
            addresses=[socket.inet_aton("127.0.0.6")],
            port=7000,
            server="board-r101-discovery.local.",
            properties={"model": "FakeBoard1", "deviceid": "AA:BB:CC:DD:EE:06"},
        ),
    ]
    for info in infos:
        await (await azc.async_register_service(info))
    yield
    for info in infos:
        await (await azc.async_unregister_service(info))
    await azc.async_close()


@pytest.mark.integration
async def test_sweep_finds_exactly_the_devices_with_known_communities(
    snmp_devices: tuple[int, dict[str, SnmpSimulator]], tmp_path: Path
) -> None:
    port, sims = snmp_devices
    seen: list[tuple[int, int]] = []
    result = await discover(
        [SUBNET],
        CREDENTIALS,
        mdns=False,
        pjlink=False,
        snmp_port=port,
        timeout_s=1.0,
        rate_per_s=200,
        concurrency=8,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.failed == {}
    assert result.hosts_swept == 6
    found = {d.address: (d.kind, d.vendor, d.snmp_credentials) for d in result.devices}
    assert found == {
        "127.0.0.2": ("printer", "HP", "office"),
        "127.0.0.3": ("printer", "Kyocera", "classrooms"),
        "127.0.0.4": ("switch", "HPE Aruba", "network"),
        "127.0.0.5": ("ups", "APC", "ups-v3"),
    }
    by_address = {d.address: d for d in result.devices}
    assert by_address["127.0.0.2"].serial == "VNB4K31872"
    assert by_address["127.0.0.2"].mac == "3c:52:82:4a:2b:7c"
    assert by_address["127.0.0.4"].name == "switch-foyer"
    assert seen[-1] == (6, 6)
    assert sorted(done for done, _ in seen) == [1, 2, 3, 4, 5, 6]

    # The inventory names the credential set, never the community; a rerun without the UPS reports it gone.
    path = tmp_path / "inventory.yaml"
    first = build_inventory(result.devices, None, generated_at="run-1", subnets=[SUBNET])
    await asyncio.to_thread(write_inventory, path, first)
    text = path.read_text()
    assert "snmp_credentials: office" in text
    secrets = ("verwaltung", "unterricht", "netz", "nicht-unsere", "authpass12", "privpass12")
    assert [c for c in secrets if c in text] == []
    await asyncio.to_thread(sims["127.0.0.5"].stop)
    try:
        rerun = await discover(
            [SUBNET], CREDENTIALS, mdns=False, pjlink=False, snmp_port=port, timeout_s=1.0, rate_per_s=200
        )
    finally:
        await asyncio.to_thread(sims["127.0.0.5"].start)
    before = await asyncio.to_thread(load_inventory, path)
    second = build_inventory(rerun.devices, before, generated_at="run-2", subnets=[SUBNET])
    changes = diff(before, second)
    assert [d.address for d in changes.gone] == ["127.0.0.5"]
    assert changes.new == [] and changes.changed == []
    assert [d.id for d in second.devices] == [d.id for d in first.devices if d.address != "127.0.0.5"]


@pytest.mark.integration
async def test_mdns_and_snmp_merge_into_one_device_per_address(
    snmp_devices: tuple[int, dict[str, SnmpSimulator]], announcements: None
) -> None:
    port, _ = snmp_devices
    result = await discover(
        [SUBNET],
        CREDENTIALS,
        mdns=True,
        mdns_interfaces=["127.0.0.1"],
        mdns_duration_s=3.0,
        pjlink=False,
        snmp_port=port,
        timeout_s=1.0,
        rate_per_s=200,
    )
    by_address = {d.address: d for d in result.devices}
    # Loopback is shared with whatever else publishes mDNS on this machine (other tests, usually on
    # 127.0.0.1): only our addresses are asserted exactly.
    assert set(by_address) - {"127.0.0.1"} == {
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    }
    kyocera = by_address["127.0.0.3"]
    assert kyocera.methods == ["snmp", "mdns:_ipp._tcp"]
    assert (kyocera.kind, kyocera.serial, kyocera.uuid) == (
        "printer",
        "VCF9Z04127",
        "4509a320-00a0-008f-00b6-002507510eca",
    )
    assert kyocera.urls == ["ipp://127.0.0.3:631/ipp/print"]
    board = by_address["127.0.0.6"]
    assert (board.kind, board.methods, board.mac) == ("display", ["mdns:_airplay._tcp"], "aa:bb:cc:dd:ee:06")


async def test_pjlink_search_finds_a_class2_projector_in_the_subnet() -> None:
    # A /32 subnet's broadcast address is the host itself: on loopback that is how the search reaches it.
    state = ProjectorState(pjclass=2, mac="A4:EE:57:31:0C:9D")
    async with PjlinkSimulator(state, host="127.0.0.6") as projector:
        result = await discover(
            ["127.0.0.6/32"],
            [],
            mdns=False,
            pjlink=True,
            pjlink_port=projector.port,
            pjlink_wait_s=0.5,
            pjlink_bind="127.0.0.1",
        )
    assert result.failed == {}
    (device,) = result.devices
    assert (device.address, device.kind, device.methods) == ("127.0.0.6", "projector", ["pjlink"])
    assert device.mac == "a4:ee:57:31:0c:9d"
    assert device.urls == [f"pjlink://127.0.0.6:{projector.port}"]

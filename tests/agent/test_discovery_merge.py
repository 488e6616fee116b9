"""Pure parts of discovery: merging records per device, hosts of subnets, inventory ids and diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from campuswatch.agent.discovery import (
    build_inventory,
    diff,
    hosts_of,
    load_inventory,
    merge_devices,
    write_inventory,
)
from campuswatch.agent.discovery.inventory import protocol_for
from campuswatch.report import DiscoveredDevice as D


def test_records_sharing_mac_serial_uuid_or_address_are_one_device() -> None:
    records = [
        D(
            address="10.0.0.5",
            kind="printer",
            methods=["snmp"],
            serial="VNB4K31872",
            mac="3C:52:82:4A:2B:7C",
            model="HP LaserJet",
            snmp_credentials="school",
        ),
        # Same printer's second interface (Wi-Fi Direct / second NIC), announcing its UUID over mDNS.
        D(
            address="10.0.1.7",
            kind="printer",
            methods=["mdns:_ipp._tcp"],
            uuid="abc",
            serial="vnb4k31872",
            urls=["ipp://10.0.1.7:631/ipp/print"],
            location="Lehrerzimmer",
        ),
        # mDNS on the first address: the same device by address.
        D(address="10.0.0.5", kind="unknown", methods=["mdns:_http._tcp"], name="NPI4A2B7C"),
        # A projector found by PJLink and by SNMP, joined by MAC.
        D(
            address="10.0.0.9",
            kind="projector",
            methods=["pjlink"],
            mac="00:11:22:33:44:55",
            urls=["pjlink://10.0.0.9:4352"],
        ),
        D(address="10.0.0.9", kind="host", methods=["snmp"], mac="00:11:22:33:44:55", name="EB-2250U"),
        # Unrelated.
        D(address="10.0.0.20", kind="switch", methods=["snmp"], mac="94:18:82:3c:5e:00"),
    ]
    merged = merge_devices(records)
    assert [d.address for d in merged] == ["10.0.0.5", "10.0.0.9", "10.0.0.20"]
    printer, projector, switch = merged
    assert printer.kind == "printer"
    assert printer.other_addresses == ["10.0.1.7"]
    assert printer.methods == ["snmp", "mdns:_ipp._tcp", "mdns:_http._tcp"]
    assert (printer.model, printer.location, printer.uuid, printer.name) == (
        "HP LaserJet",
        "Lehrerzimmer",
        "abc",
        "NPI4A2B7C",
    )
    assert printer.serial == "VNB4K31872"  # SNMP's spelling wins
    assert printer.urls == ["ipp://10.0.1.7:631/ipp/print"]
    # SNMP only saw a generic host; the PJLink answer says what it is.
    assert (projector.kind, projector.name, projector.methods) == (
        "projector",
        "EB-2250U",
        ["snmp", "pjlink"],
    )
    assert switch.kind == "switch"


def test_merge_is_transitive() -> None:
    # a~b by MAC, b~c by UUID: all three are one device.
    a = D(address="10.0.0.1", methods=["snmp"], mac="aa:aa:aa:aa:aa:aa")
    b = D(
        address="10.0.0.2", methods=["mdns:_airplay._tcp"], mac="AA:AA:AA:AA:AA:AA", uuid="u1", kind="display"
    )
    c = D(address="10.0.0.3", methods=["mdns:_googlecast._tcp"], uuid="u1")
    (one,) = merge_devices([c, b, a])
    assert (one.address, one.kind, one.other_addresses) == ("10.0.0.1", "display", ["10.0.0.2", "10.0.0.3"])


def test_hosts_of_subnets() -> None:
    assert hosts_of(["127.0.0.0/29"]) == [f"127.0.0.{i}" for i in range(1, 7)]
    assert hosts_of(["10.0.0.7/32", "10.0.0.7", "10.0.0.6/31"]) == ["10.0.0.7", "10.0.0.6"]
    with pytest.raises(ValueError, match="at most"):
        hosts_of(["10.0.0.0/8"])


def test_protocol_for() -> None:
    assert protocol_for(D(address="a", methods=["snmp"], snmp_credentials="x")) == "snmp"
    assert protocol_for(D(address="a", urls=["ipp://a:631/ipp/print"])) == "ipp"
    assert protocol_for(D(address="a", methods=["pjlink"])) == "pjlink"
    assert protocol_for(D(address="a", methods=["mdns:_airplay._tcp"])) == "ping"


def test_inventory_ids_are_readable_unique_and_kept_across_runs() -> None:
    first = build_inventory(
        [
            D(address="10.0.0.5", kind="printer", serial="AB-1"),
            D(address="10.0.0.6", kind="printer", serial="AB 1"),  # another serial, the same slug
            D(address="10.0.0.7", kind="display"),
        ],
        None,
        generated_at="t1",
        subnets=["10.0.0.0/24"],
    )
    assert [d.id for d in first.devices] == ["printer-ab-1", "printer-ab-1-2", "display-10-0-0-7"]
    # Rerun: the display now also shows its MAC; matched by address, it keeps its id.
    second = build_inventory(
        [D(address="10.0.0.7", kind="display", mac="aa:bb:cc:dd:ee:ff")], first, generated_at="t2", subnets=[]
    )
    assert second.devices[0].id == "display-10-0-0-7"


def test_diff_new_gone_changed() -> None:
    old = build_inventory(
        [
            D(address="10.0.0.5", kind="printer", serial="S1", model="M1", location="Raum 1"),
            D(address="10.0.0.6", kind="switch", mac="aa:aa:aa:aa:aa:aa"),
            D(address="10.0.0.7", kind="ups"),
        ],
        None,
        generated_at="t1",
        subnets=[],
    )
    new = build_inventory(
        [
            # Same printer (serial) on a new address, location not seen this time: not a change.
            D(address="10.0.0.50", kind="printer", serial="S1", model="M2"),
            D(address="10.0.0.6", kind="switch", mac="aa:aa:aa:aa:aa:aa"),
            D(address="10.0.0.8", kind="projector"),
        ],
        old,
        generated_at="t2",
        subnets=[],
    )
    result = diff(old, new)
    assert [d.address for d in result.new] == ["10.0.0.8"]
    assert [d.address for d in result.gone] == ["10.0.0.7"]
    assert [(c.device.id, c.fields) for c in result.changed] == [
        ("printer-s1", {"address": ("10.0.0.5", "10.0.0.50"), "model": ("M1", "M2")})
    ]
    assert not diff(new, new)
    assert diff(None, new).new == new.devices


def test_inventory_round_trip_keeps_no_secret(tmp_path: Path) -> None:
    inventory = build_inventory(
        [D(address="10.0.0.5", kind="printer", methods=["snmp"], vendor="HP", snmp_credentials="schule-v2c")],
        None,
        generated_at="2026-11-28T20:00:00Z",
        subnets=["10.0.0.0/24"],
    )
    path = tmp_path / "inventory.yaml"
    write_inventory(path, inventory)
    text = path.read_text()
    assert "snmp_credentials: schule-v2c" in text
    assert "protocol: snmp" in text
    assert load_inventory(path) == inventory
    assert load_inventory(tmp_path / "missing.yaml") is None

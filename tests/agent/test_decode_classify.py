"""Classification from data in mibs/, and plans that fetch only what the decoders read."""

from __future__ import annotations

import pytest

from campuswatch.agent.protocols.snmp.decode import SYSTEM_PLAN, Classification, classify, plan_for
from campuswatch.agent.protocols.snmp.transport.types import oid
from sim.snmprec import parse_snmprec


def _classify(*lines: str) -> Classification:
    return classify(parse_snmprec(list(lines)))


@pytest.mark.parametrize(
    ("descr", "object_id", "kind", "vendor", "model"),
    [
        (
            "RICOH MP C2503 1.35 / RICOH Network Printer C model",
            "1.3.6.1.4.1.367.1.1",
            "printer",
            "Ricoh",
            "MP C2503",
        ),
        (
            "HP ETHERNET MULTI-ENVIRONMENT,SN:X,PID:HP LaserJet MFP M130nw",
            "1.3.6.1.4.1.11.2.3.9.1",
            "printer",
            "HP",
            "HP LaserJet MFP M130nw",
        ),
        (
            "HP J9775A 2530-48G Switch, revision YA.16.11",
            "1.3.6.1.4.1.11.2.3.7.11.139",
            "switch",
            "HPE Aruba",
            "J9775A 2530-48G",
        ),
        ("EPSON Network Projector", "1.3.6.1.4.1.1248.4.1", "projector", "Epson", None),
        ("APC Web/SNMP Management Card", "1.3.6.1.4.1.318.1.3.27", "ups", "APC", None),
        (
            "ArubaOS (MODEL: 225), Version 8.4.0.0",
            "1.3.6.1.4.1.14823.1.2.59",
            "access_point",
            "HPE Aruba",
            "225",
        ),
        ("EdgeOS v1.8.0", "1.3.6.1.4.1.41112.1.5", "gateway", "Ubiquiti", None),
        ("UAP-nanoHD 5.43.36", "1.3.6.1.4.1.8072.3.2.10", "access_point", "Ubiquiti", "UAP-nanoHD"),
        ("Linux raspberrypi 5.4.51-v7+", "1.3.6.1.4.1.8072.3.2.10", "host", "net-snmp (Linux)", None),
        ("Something", "1.3.6.1.4.1.99999.7", "unknown", None, None),
    ],
)
def test_kind_vendor_model(
    descr: str, object_id: str, kind: str, vendor: str | None, model: str | None
) -> None:
    c = _classify(f"1.3.6.1.2.1.1.1.0|4|{descr}", f"1.3.6.1.2.1.1.2.0|6|{object_id}")
    assert (c.kind, c.vendor, c.model, c.object_id) == (kind, vendor, model, object_id)


def test_most_specific_object_id_prefix_wins() -> None:
    # Cisco 9.6.1 is Small Business switches; 9.6.1.37 below it is the Business Wireless controller.
    assert _classify("1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.6.1.37.240.1").kind == "access_point"
    assert _classify("1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.6.1.1004.28.5").kind == "switch"


def test_printer_mib_beats_a_generic_os_agent() -> None:
    c = _classify(
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
        "1.3.6.1.2.1.43.5.1.1.17.1|4|SN123",
    )
    assert (c.kind, c.vendor) == ("printer", None)


def test_ups_mib_identifies_an_unknown_ups() -> None:
    c = _classify(
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
        "1.3.6.1.2.1.33.1.1.1.0|4|ACME Power",
        "1.3.6.1.2.1.33.1.1.2.0|4|Backup 900",
    )
    assert (c.kind, c.vendor, c.model) == ("ups", "ACME Power", "Backup 900")


def test_nothing_at_all_is_unknown() -> None:
    assert classify({}) == Classification("unknown")


def test_system_plan_fetches_system_group_and_printer_evidence() -> None:
    assert oid("1.3.6.1.2.1.1.2.0") in SYSTEM_PLAN.scalars
    assert oid("1.3.6.1.6.3.10.2.1.2.0") in SYSTEM_PLAN.scalars  # snmpEngineBoots
    hr = {t.name: t for t in SYSTEM_PLAN.tables}["hrDeviceType"]
    assert (hr.root, hr.columns) == (oid("1.3.6.1.2.1.25.3.2.1"), (2,))


def test_printer_plan_walks_only_the_supply_columns_it_decodes() -> None:
    plan = plan_for(Classification("printer", "Ricoh"))
    tables = {t.name: t for t in plan.tables}
    supplies = tables["prtMarkerSuppliesTable"]
    assert supplies.root == oid("1.3.6.1.2.1.43.11.1.1")
    assert supplies.columns == (3, 4, 5, 6, 7, 8, 9)
    assert "lldpRemTable" not in tables and "dot1dTpFdbTable" not in tables
    assert tables["ifTable"].max_repetitions < plan_for(Classification("switch")).tables[0].max_repetitions


def test_ups_plan_reads_the_vendor_mib_and_the_standard_one() -> None:
    plan = plan_for(Classification("ups", "APC", object_id="1.3.6.1.4.1.318.1.3.27"))
    assert oid("1.3.6.1.4.1.318.1.1.1.2.2.4.0") in plan.scalars  # upsAdvBatteryReplaceIndicator
    assert oid("1.3.6.1.2.1.33.1.2.4.0") in plan.scalars  # upsEstimatedChargeRemaining
    assert oid("1.3.6.1.4.1.3808.1.1.1.2.2.1.0") not in plan.scalars  # not CyberPower's


def test_access_point_plan_adds_its_vendors_wifi_table() -> None:
    plan = plan_for(Classification("access_point", "HPE Aruba", object_id="1.3.6.1.4.1.14823.1.2.59"))
    roots = {(t.root, t.columns) for t in plan.tables}
    assert (oid("1.3.6.1.4.1.14823.2.3.3.1.2.2.1"), (21,)) in roots
    assert plan_for(Classification("switch", "Cisco", object_id="1.3.6.1.4.1.9.1.634")).scalars == ()


def test_a_vendor_rule_names_the_scalars_that_hold_model_and_serial() -> None:
    c = _classify("1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.27")  # APC: PowerNet-MIB
    assert c.model_oids == (oid("1.3.6.1.4.1.318.1.1.1.1.1.1.0"),)  # upsBasicIdentModel
    assert c.serial_oids == (oid("1.3.6.1.4.1.318.1.1.1.1.2.3.0"),)  # upsAdvIdentSerialNumber
    assert set(c.model_oids + c.serial_oids) <= set(plan_for(c).scalars)

"""IF-MIB decoding: names, IANA types, statuses, speeds and counters."""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode import decode_device
from campuswatch.report import Interface
from sim.snmprec import parse_snmprec

IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"


def _interfaces(*lines: str) -> list[Interface]:
    reading = decode_device("192.0.2.1", parse_snmprec(list(lines)))
    assert reading.partial == {}
    return reading.interfaces


def test_iftable_and_ifxtable_join_by_ifindex() -> None:
    [port] = _interfaces(
        f"{IF}.2.7|4|GigabitEthernet1/0/7",
        f"{IF}.3.7|2|6",
        f"{IF}.7.7|2|1",
        f"{IF}.8.7|2|7",
        f"{IF}.9.7|67|12345",
        f"{IF}.10.7|65|100",
        f"{IF}.16.7|65|200",
        f"{IF}.14.7|65|3",
        f"{IF}.20.7|65|4",
        f"{IF}.13.7|65|5",
        f"{IFX}.1.7|4|Gi1/0/7",
        f"{IFX}.18.7|4|Raum 101",
        f"{IFX}.6.7|70|5000000000",
        f"{IFX}.10.7|70|6000000000",
        f"{IFX}.19.7|67|500",
    )
    assert port == Interface(
        index=7,
        name="Gi1/0/7",
        descr="GigabitEthernet1/0/7",
        alias="Raum 101",
        type="ethernetCsmacd",
        admin_status="up",
        oper_status="lowerLayerDown",
        speed_bps=None,
        in_octets=5000000000,  # 64-bit counters preferred
        out_octets=6000000000,
        in_errors=3,
        out_errors=4,
        in_discards=5,
        last_change_s=123.45,
        octets_counter_bits=64,
        counter_discontinuity_s=5.0,
    )


def test_octet_counters_come_in_pairs_of_one_width() -> None:
    """An agent with only one HC counter gives the 32-bit pair: both directions wrap at 2^32."""
    low, none = _interfaces(
        f"{IF}.10.1|65|100", f"{IF}.16.1|65|200", f"{IFX}.6.1|70|5000000000", f"{IF}.2.2|4|lo"
    )
    assert (low.in_octets, low.out_octets, low.octets_counter_bits) == (100, 200, 32)
    assert (none.in_octets, none.out_octets, none.octets_counter_bits) == (None, None, None)


def test_speed_from_ifhighspeed_when_ifspeed_saturates() -> None:
    fast, slow, serial, t1, zero = _interfaces(
        f"{IF}.5.1|66|4294967295",
        f"{IFX}.15.1|66|10000",
        f"{IF}.5.2|66|100000000",
        f"{IF}.5.3|66|64000",
        f"{IFX}.15.3|66|0",
        f"{IF}.3.3|2|22",
        f"{IF}.5.4|66|1544000",
        f"{IFX}.15.4|66|2",
        f"{IF}.5.5|66|0",
        f"{IFX}.15.5|66|1000",
    )
    assert fast.speed_bps == 10_000_000_000
    assert slow.speed_bps == 100_000_000
    assert serial.speed_bps == 64000  # ifHighSpeed 0 rounds a sub-Mbit/s speed away
    assert serial.type == "propPointToPointSerial"
    assert t1.speed_bps == 1_544_000  # ifSpeed is exact below its ceiling
    assert zero.speed_bps == 1_000_000_000


def test_name_falls_back_to_descr_and_unknown_numbers_stay_numbers() -> None:
    [port] = _interfaces(f"{IF}.2.1|4|eth0", f"{IF}.3.1|2|999", f"{IF}.7.1|2|9", f"{IF}.8.1|2|5")
    assert (port.name, port.type, port.admin_status, port.oper_status) == ("eth0", "999", "9", "dormant")


def test_system_group() -> None:
    reading = decode_device(
        "192.0.2.1",
        parse_snmprec(
            [
                "1.3.6.1.2.1.1.1.0|4|Linux host 6.1",
                "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
                "1.3.6.1.2.1.1.3.0|67|4294967295",
                "1.3.6.1.2.1.1.4.0|4|it@schule.example",
                "1.3.6.1.2.1.1.5.0|4|gw-bbg",
                "1.3.6.1.2.1.1.6.0|4|Serverraum",
                "1.3.6.1.6.3.10.2.1.2.0|2|17",
            ]
        ),
    )
    system = reading.system
    assert (system.name, system.descr, system.location, system.contact) == (
        "gw-bbg",
        "Linux host 6.1",
        "Serverraum",
        "it@schule.example",
    )
    assert (system.object_id, system.uptime_s, system.engine_boots) == (
        "1.3.6.1.4.1.8072.3.2.10",
        42949672.95,
        17,
    )
    assert (reading.kind, system.vendor) == ("host", "net-snmp (Linux)")

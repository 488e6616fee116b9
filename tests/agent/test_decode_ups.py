"""UPS decoding from the vendor MIB first and the UPS-MIB (RFC 1628) after it."""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode import decode_device
from campuswatch.report import UpsStatus
from sim.snmprec import parse_snmprec


def test_standard_ups_mib_on_battery() -> None:
    reading = decode_device(
        "192.0.2.5",
        parse_snmprec(
            [
                "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.2",
                "1.3.6.1.2.1.33.1.1.2.0|4|Backup 900",
                "1.3.6.1.2.1.33.1.2.1.0|2|3",
                "1.3.6.1.2.1.33.1.2.3.0|2|12",
                "1.3.6.1.2.1.33.1.2.4.0|2|41",
                "1.3.6.1.2.1.33.1.2.7.0|2|31",
                "1.3.6.1.2.1.33.1.4.1.0|2|5",
                "1.3.6.1.2.1.33.1.6.2.1.2.1|6|1.3.6.1.2.1.33.1.6.3.2",
            ]
        ),
    )
    assert reading.kind == "ups"
    assert reading.ups == UpsStatus(
        battery_status="low",
        charge_percent=41.0,
        runtime_s=720.0,
        on_battery=True,
        replace_battery=False,  # an alarm table without upsAlarmBatteryBad
        output_source="battery",
    )
    assert [(s.kind, s.value) for s in reading.sensors] == [("temperature", 31.0)]


def test_apc_powernet_wins_over_the_standard_mib() -> None:
    reading = decode_device(
        "192.0.2.6",
        parse_snmprec(
            [
                "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.27",
                "1.3.6.1.4.1.318.1.1.1.2.3.1.0|66|875",
                "1.3.6.1.4.1.318.1.1.1.2.2.1.0|66|80",
                "1.3.6.1.4.1.318.1.1.1.2.2.3.0|67|180000",
                "1.3.6.1.4.1.318.1.1.1.2.2.4.0|2|2",
                "1.3.6.1.4.1.318.1.1.1.4.1.1.0|2|2",
                "1.3.6.1.2.1.33.1.2.4.0|2|10",
            ]
        ),
    )
    assert reading.ups is not None
    assert (reading.ups.charge_percent, reading.ups.runtime_s) == (87.5, 1800.0)
    assert (reading.ups.replace_battery, reading.ups.on_battery) == (True, False)


def test_a_ups_that_answers_nothing_has_no_status() -> None:
    reading = decode_device("192.0.2.7", parse_snmprec(["1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.27"]))
    assert (reading.kind, reading.ups) == ("ups", None)

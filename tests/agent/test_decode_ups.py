"""UPS decoding from the vendor MIB first and the UPS-MIB (RFC 1628) after it."""

from __future__ import annotations

from datetime import date

from campuswatch.agent.protocols.snmp.decode import SYSTEM_PLAN, classify, decode_device, plan_for
from campuswatch.report import UpsStatus
from sim.snmprec import load_snmprec, parse_snmprec, restrict_to_plan
from tests.support.paths import DEVICES


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


def test_the_battery_date_a_vendor_mib_keeps_is_read_in_either_of_its_formats() -> None:
    apc = "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.27"
    date_oid = "1.3.6.1.4.1.318.1.1.1.2.1.3.0"
    for text in ("03/14/19", "03/14/2019"):
        reading = decode_device("192.0.2.8", parse_snmprec([apc, f"{date_oid}|4|{text}"]))
        assert reading.ups is not None and reading.ups.battery_replaced_on == date(2019, 3, 14)
        assert reading.partial == {}
    garbled = decode_device("192.0.2.8", parse_snmprec([apc, f"{date_oid}|4|unknown"]))
    assert garbled.ups is None  # nothing else answered: no status
    assert "ups" in garbled.partial and "'unknown' is no date" in garbled.partial["ups"]


def test_a_cyberpower_says_when_its_battery_went_in() -> None:
    """The shared recording of a real CyberPower PR2200: upsBaseBatteryLastReplaceDate 06/30/2026."""
    raw = load_snmprec(DEVICES / "ups" / "cyberpower_pr2200rt2uc.snmprec")
    classification = classify(restrict_to_plan(raw, SYSTEM_PLAN))
    # Through only what a poll fetches: the plan asks for the date.
    fetched = restrict_to_plan(raw, SYSTEM_PLAN.merged(plan_for(classification)))
    reading = decode_device("192.0.2.9", fetched, classification)
    assert reading.ups is not None and reading.ups.battery_replaced_on == date(2026, 6, 30)

"""Thresholds: every number in a reading judged once, by the collector's rules, with a model's and a
device's own limits; a lamp's rated life by its model. What agents used to judge themselves (a toner's
level, a full disk, a lamp past its life, a busy uplink) is judged here, with the same codes and subjects."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pytest

from campuswatch.collector.alerting.lamps import LAMP_TABLE, LampTable, load_lamp_table
from campuswatch.collector.alerting.rules import SHIPPED_RULES, RulesFile, load_rules
from campuswatch.collector.alerting.thresholds import Threshold
from campuswatch.collector.model import ProblemKey, ProblemRecord
from campuswatch.config import ConfigError
from campuswatch.report import (
    DeviceReading,
    GatewayStatus,
    Lamp,
    Problem,
    Supply,
    SystemInfo,
    UpsStatus,
)
from sim.collector import IMMEDIATE_RULES, polled_device
from tests.support.judge import judged, shipped

#: 2026-03-02 10:00 UTC, a Monday: when the readings below were taken.
POLLED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()


def rules_of(tmp_path: Path, text: str) -> RulesFile:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return load_rules(path)


def printer(*supplies: Supply, problems: list[Problem] | None = None) -> DeviceReading:
    return DeviceReading(
        address="192.0.2.1", kind="printer", supplies=list(supplies), problems=problems or []
    )


def toner(index: int, level: float | None, description: str = "Black Toner", **more: object) -> Supply:
    return Supply(index=index, description=description, type="toner", state="ok", level_percent=level, **more)  # type: ignore[arg-type]


def waste(index: int, fullness: float) -> Supply:
    return Supply(
        index=index,
        description="Waste Toner",
        type="wasteToner",
        state="ok",
        level_percent=fullness,
        supply_class="filled",
    )


def projector(
    hours: int, vendor: str = "SIMULATED", model: str = "PJ-2000", problems: list[Problem] | None = None
) -> DeviceReading:
    return DeviceReading(
        address="192.0.2.2",
        kind="projector",
        system=SystemInfo(vendor=vendor, model=model),
        lamps=[Lamp(hours=hours, on=True)],
        problems=problems or [],
    )


def gateway(**status: object) -> DeviceReading:
    return DeviceReading(address="10.0.0.1", kind="gateway", gateway=GatewayStatus(**status))  # type: ignore[arg-type]


def codes(found: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str]]:
    return [(code, severity, subject) for code, severity, _, subject in found]


def test_limits_are_inclusive_and_clear_is_where_an_open_problem_closes() -> None:
    low = Threshold(code="supply_low", value="supplies.level_percent", below=10, clear=15)
    assert low.crossed(10, is_open=False) and not low.crossed(10.1, is_open=False)
    assert low.crossed(14, is_open=True), "hysteresis: still open between the limit and clear"
    assert not low.crossed(15, is_open=True)
    disk = Threshold(code="storage_full", value="storage.used_percent", above=90, critical=95)
    assert (disk.crossed(89.9, False), disk.crossed(90, False)) == (False, True)
    assert (disk.severity_of(94.9), disk.severity_of(95)) == ("warning", "critical")


def test_supply_levels_are_low_empty_nearly_full_or_full_one_problem_per_supply() -> None:
    reading = printer(
        toner(1, 0.0),
        toner(2, 8.0, "Toner Cartridge OKI", colorant="cyan"),
        toner(3, 10.0, "Yellow Toner"),
        toner(4, 60.0, "Magenta Toner"),
        waste(5, 100.0),
        waste(6, 92.0),
        waste(7, 20.0),
        Supply(index=8, description="Drum", type="opc", state="some_remaining"),
    )
    assert judged(reading) == [
        ("supply_empty", "critical", "Black Toner empty", "1"),
        ("supply_low", "warning", "Yellow Toner low (10 % left)", "3"),
        ("supply_low", "warning", "cyan Toner Cartridge OKI low (8 % left)", "2"),
        ("waste_full", "critical", "Waste Toner full", "5"),
        ("waste_near_full", "warning", "Waste Toner nearly full", "6"),
    ]


def test_what_the_printer_asserts_itself_stays_the_printers_word() -> None:
    asserted = [
        Problem(code="printer_jammed", severity="critical", summary="paper jam"),
        Problem(code="supply_low", severity="warning", summary="Cyan Toner low", subject="2"),
    ]
    # Supply 2 has no number (a Ricoh's -100): its "low" is the printer's, not a threshold's.
    reading = printer(toner(1, 50.0), Supply(index=2, description="Cyan Toner", type="toner", state="low"))
    reading.problems = asserted
    assert judged(reading) == [
        ("printer_jammed", "critical", "paper jam", ""),
        ("supply_low", "warning", "Cyan Toner low", "2"),
    ]


def test_what_an_older_agent_judged_itself_is_the_thresholds_to_decide() -> None:
    """Agents are upgraded one at a time: an old one still sends its own verdicts on numbers."""
    old_printer = printer(
        toner(1, 12.0), problems=[Problem(code="supply_low", severity="warning", summary="x", subject="1")]
    )
    assert judged(old_printer) == []
    old_projector = projector(
        3100, problems=[Problem(code="lamp_end_of_life", severity="warning", summary="x", subject="lamp1")]
    )
    assert codes(judged(old_projector)) == [("lamp_end_of_life", "warning", "lamp1")]
    old_gateway = gateway(disk_percent=50.0, uplink="eth0", uplink_tx_bps=10.0, uplink_speed_bps=100)
    old_gateway.problems = [
        Problem(code="disk_full", severity="warning", summary="x", subject="/var/lib/campuswatch"),
        Problem(code="uplink_saturated", severity="warning", summary="x", subject="eth0"),
    ]
    assert judged(old_gateway) == []


def test_one_printers_low_threshold_and_a_models_are_their_own(tmp_path: Path) -> None:
    rules = rules_of(
        tmp_path,
        "models:\n"
        "  - {vendor: Brother, model: 'HL-*', thresholds: {supply_low: {below: 5}}}\n"
        "devices:\n"
        "  - {school: s, device: lehrerzimmer, thresholds: {supply_low: {below: 20}}}\n",
    )
    reading = printer(toner(1, 18.0))
    assert judged(reading, rules=rules) == []
    assert codes(judged(reading, rules=rules, device="lehrerzimmer")) == [("supply_low", "warning", "1")]
    brother = printer(toner(1, 8.0))
    brother.system = SystemInfo(vendor="Brother", model="HL-L8360CDW")
    assert judged(brother, rules=rules) == [], "the model's own 5 %"
    assert codes(judged(brother, rules=rules, device="lehrerzimmer")) == [("supply_low", "warning", "1")]


def test_a_lamp_is_judged_by_its_models_rated_life_from_the_lamp_table() -> None:
    # Not in the table: the default, 3000 h.
    assert judged(projector(3100)) == [
        ("lamp_end_of_life", "warning", "Lamp 1 has run 3100 h, its rated life is 3000 h", "lamp1")
    ]
    assert judged(projector(2999)) == []
    # Mitsubishi rates the HC7900DW's lamp at 5000 h; vendor and model match ignoring case.
    assert judged(projector(3100, vendor="MITSUBISHI", model="HC7900DW")) == []
    assert codes(judged(projector(5000, vendor="Mitsubishi", model="HC7900DW"))) == [
        ("lamp_end_of_life", "warning", "lamp1")
    ]


def test_a_configured_rated_life_of_3500_h_gives_no_ticket_at_3100_h(tmp_path: Path) -> None:
    """The case of the issue: `lamp_life_h: 3500` must win over any fixed rule."""
    rules = rules_of(
        tmp_path,
        "models:\n"
        "  - {vendor: SIMULATED, model: 'PJ-*', lamp_life_h: 3500}\n"
        "devices:\n"
        "  - {device: beamer-aula, lamp_life_h: 6000}\n",
    )
    assert judged(projector(3100), rules=rules) == []
    assert judged(projector(3500), rules=rules) == [
        ("lamp_end_of_life", "warning", "Lamp 1 has run 3500 h, its rated life is 3500 h", "lamp1")
    ]
    # A device's own entry wins over its model's.
    assert judged(projector(5000), rules=rules, device="beamer-aula") == []


def test_a_lamp_may_warn_before_its_rated_life(tmp_path: Path) -> None:
    rules = rules_of(tmp_path, "devices:\n  - {device: '*', thresholds: {lamp_end_of_life: {below: 100}}}\n")
    assert codes(judged(projector(2900), rules=rules)) == [("lamp_end_of_life", "warning", "lamp1")]
    assert judged(projector(2899), rules=rules) == []


@pytest.mark.parametrize(
    ("disk", "expected"),
    [
        (89.9, []),
        (90.0, [("storage_full", "warning", "")]),
        (96.9, [("storage_full", "warning", "")]),
        (97.0, [("storage_full", "critical", "")]),
        (100.0, [("storage_full", "critical", "")]),
    ],
)
def test_the_gateways_disk(disk: float, expected: list[tuple[str, str, str]]) -> None:
    assert codes(judged(gateway(disk_percent=disk))) == expected


def test_a_saturated_uplink_is_a_problem_only_near_its_speed() -> None:
    busy = gateway(uplink="eth0", uplink_rx_bps=1e6, uplink_tx_bps=92e6, uplink_speed_bps=100_000_000)
    assert judged(busy) == [("uplink_saturated", "warning", "uplink eth0 at 92 % of its speed", "")]
    quiet = gateway(uplink="eth0", uplink_tx_bps=40e6, uplink_speed_bps=100_000_000)
    assert judged(quiet) == []
    unknown_speed = gateway(uplink="eth0", uplink_tx_bps=92e6)
    assert judged(unknown_speed) == []


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (None, []),
        (79.0, []),
        (80.0, [("temperature_high", "warning", "")]),
        (91.0, [("temperature_high", "critical", "")]),
    ],
)
def test_the_gateways_temperature(temperature: float | None, expected: list[tuple[str, str, str]]) -> None:
    assert codes(judged(gateway(temperature_c=temperature))) == expected


def test_a_gateways_limits_are_its_own(tmp_path: Path) -> None:
    rules = rules_of(
        tmp_path, "devices:\n  - {device: gateway, thresholds: {storage_full: {above: 40, critical: 45}}}\n"
    )
    assert codes(judged(gateway(disk_percent=50.0), rules=rules, device="gateway")) == [
        ("storage_full", "critical", "")
    ]
    assert judged(gateway(disk_percent=50.0), rules=rules) == []


def test_a_ups_battery_is_old_after_three_years_where_the_ups_keeps_its_date() -> None:
    def ups(replaced: date | None) -> DeviceReading:
        return DeviceReading(
            address="a", kind="ups", ups=UpsStatus(runtime_s=3600.0, battery_replaced_on=replaced)
        )

    assert judged(ups(date(2023, 3, 4)), at=POLLED) == []  # 1094 days before the poll's day
    assert judged(ups(date(2023, 3, 3)), at=POLLED) == [
        ("ups_battery_old", "warning", "battery 1095 days old: plan its replacement", "")
    ]
    assert judged(ups(None), at=POLLED) == []


def test_the_same_value_crossing_two_thresholds_opens_only_the_most_severe() -> None:
    empty_and_low = printer(toner(1, 0.0))
    assert codes(judged(empty_and_low)) == [("supply_empty", "critical", "1")]
    # An open "low" that the empty cartridge no longer wants closes (its rule's clear_for may hold it).
    low_open = ProblemRecord(1, ProblemKey("s", "d", "supply_low", "1"), "open", "warning", "x", 0.0)
    assert codes(judged(empty_and_low, open_now=[low_open])) == [("supply_empty", "critical", "1")]


def test_a_rules_file_adds_to_the_shipped_thresholds_and_changes_or_turns_off_its_own(tmp_path: Path) -> None:
    shipped = load_rules().thresholds
    assert load_rules(IMMEDIATE_RULES).thresholds == shipped, (
        "a file without thresholds judges the shipped ones"
    )
    rules = rules_of(
        tmp_path,
        "thresholds:\n"
        "  - {code: supply_low, value: supplies.level_percent, where: {supply_class: consumed}, below: 15}\n"
        "  - {code: uplink_saturated, value: gateway.uplink_usage_percent, enabled: false}\n"
        "  - {code: wifi_crowded, kind: [access_point], value: wifi.clients, above: 60}\n",
    )
    by_code = {t.code: t for t in rules.thresholds}
    assert [t.code for t in rules.thresholds] == [t.code for t in shipped] + ["wifi_crowded"]
    assert by_code["supply_low"].below == 15 and not by_code["uplink_saturated"].enabled
    assert codes(judged(printer(toner(1, 14.0)), rules=rules)) == [("supply_low", "warning", "1")]
    busy = gateway(uplink="eth0", uplink_tx_bps=99e6, uplink_speed_bps=100_000_000)
    assert judged(busy, rules=rules) == []


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("thresholds:\n  - {code: x, value: lamps.hours}\n", "thresholds[0]", "exactly one of"),
        ("thresholds:\n  - {code: x, value: lamps.watts, above: 1}\n", "thresholds[0]", "no value 'watts'"),
        ("thresholds:\n  - {code: x, value: toner.level, above: 1}\n", "thresholds[0]", "part one of"),
        (
            "thresholds:\n  - {code: x, value: lamps.hours, above: 10, clear: 20}\n",
            "thresholds[0]",
            "healthy side",
        ),
        (
            "thresholds:\n  - {code: x, value: storage.used_percent, above: 90, critical: 80}\n",
            "thresholds[0]",
            "beyond",
        ),
        (
            "thresholds:\n  - {code: x, value: lamps.hours, above: 1, where: {colour: red}}\n",
            "thresholds[0]",
            "no field 'colour'",
        ),
        (
            "thresholds:\n  - {code: x, value: lamps.hours, above: 1, summary: '{watts} W'}\n",
            "thresholds[0]",
            "no value 'watts'",
        ),
        (
            "thresholds:\n  - {code: lamp_hours, value: lamps.hours, above: 3000}\n",
            "thresholds[0].code",
            "lamp_hours is now lamp_end_of_life",
        ),
        ("rules:\n  - {code: disk_full, urgent: true}\n", "rules[0].code", "disk_full is now storage_full"),
        (
            "devices:\n  - {device: x, thresholds: {supply_lo: {below: 5}}}\n",
            "devices[0].thresholds.supply_lo",
            "no threshold",
        ),
        (
            "devices:\n  - {device: x, thresholds: {supply_low: {above: 5}}}\n",
            "devices[0].thresholds.supply_low",
            "give `below`",
        ),
        (
            "models:\n  - {model: X, thresholds: {storage_full: {above: 96, critical: 95}}}\n",
            "models[0].thresholds.storage_full",
            "beyond",
        ),
        ("models:\n  - {model: X, lamp_life_h: 0}\n", "models[0]", "at least 1 hour"),
        ("devices:\n  - {school: s, lamp_life_h: 3000}\n", "devices[0]", "device"),
    ],
)
def test_mistakes_are_refused_with_file_line_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    assert str(err.value).startswith(f"{path}:"), err.value
    assert f": {key}" in str(err.value) and message in str(err.value), err.value


def test_the_lamp_table_is_vendor_data_loaded_strictly(tmp_path: Path) -> None:
    table = load_lamp_table()
    assert table.default_life_h == 3000
    mitsubishi = table.lamp_of("MITSUBISHI", "HC7900DW")
    assert mitsubishi is not None and (mitsubishi.life_h, mitsubishi.part) == (5000, "VLT-HC7800LP")
    assert table.life_h("Panasonic", "PT-TW230E") == 3000 and table.lamp_of(None, None) is None
    broken = tmp_path / "lamps.yaml"
    text = LAMP_TABLE.read_text().replace("life_h: 5000", "life_h: 0")
    broken.write_text(text)
    with pytest.raises(ConfigError, match=r"lamps.yaml:\d+: models\[3\]: life_h must be at least 1"):
        load_lamp_table(broken)
    assert msgspec.convert({"default_life_h": 2000}, LampTable).life_h("x", "y") == 2000


def test_the_shipped_rules_judge_every_fault_agents_no_longer_judge() -> None:
    shipped = {t.code for t in load_rules(SHIPPED_RULES).thresholds if t.enabled}
    moved = {
        "supply_low",
        "supply_empty",
        "waste_near_full",
        "waste_full",
        "lamp_end_of_life",
        "storage_full",
    }
    assert moved | {"uplink_saturated", "temperature_high"} <= shipped


def test_a_devices_judgement_is_kept_only_while_what_it_was_made_of_stays() -> None:
    rules, lamps, wifi = shipped()
    limits = rules.limits(lamps, wifi)
    low = printer(toner(1, 8.0))
    record = polled_device(low, device="p1", at=POLLED)
    first = limits.judge(record, low, set())
    assert [w.key.code for w in first.wanted] == ["supply_low"]
    # The same reading with the same problems open: the judgement kept, not made again.
    assert limits.judge(record, low, set()) is first
    # A new reading, even with the same numbers, is judged anew; so is the same one with other
    # problems open (a threshold's clear holds an open problem longer).
    refilled = printer(toner(1, 12.0))
    assert limits.judge(polled_device(refilled, device="p1", at=POLLED), refilled, set()).wanted == []
    # A UPS's runtime of 700 s: short only while the problem is open (it clears above 900 s).
    ups = DeviceReading(address="a", kind="ups", ups=UpsStatus(runtime_s=700.0))
    ups_record = polled_device(ups, device="u1", at=POLLED)
    assert limits.judge(ups_record, ups, set()).wanted == []
    open_short = {ProblemKey(ups_record.school, "u1", "ups_runtime_short")}
    assert [w.key.code for w in limits.judge(ups_record, ups, open_short).wanted] == ["ups_runtime_short"]
    # A threshold that reads the clock is judged anew at each poll time, the reading the same: the
    # battery turns three years old on the day after the first poll.
    aging = DeviceReading(
        address="a", kind="ups", ups=UpsStatus(runtime_s=3600.0, battery_replaced_on=date(2023, 3, 4))
    )
    day_before = polled_device(aging, device="u2", at=POLLED)
    assert limits.judge(day_before, aging, set()).wanted == []
    next_day = polled_device(aging, device="u2", at=POLLED + 86_400)
    assert [w.key.code for w in limits.judge(next_day, aging, set()).wanted] == ["ups_battery_old"]


def test_the_keys_ingest_compares_are_the_judgements_and_never_stand_in_for_it() -> None:
    rules, lamps, wifi = shipped()
    limits = rules.limits(lamps, wifi)
    low = printer(toner(1, 8.0), toner(2, 3.0))
    record = polled_device(low, device="p1", at=POLLED)
    keys = limits.keys(record, low, set())
    assert {k.code for k in keys} == {"supply_low"} and len(keys) == 2
    # Not kept: the judgement of the same reading writes the summaries.
    judged = limits.judge(record, low, set())
    assert {w.key for w in judged.wanted} == keys
    assert all(w.summary for w in judged.wanted)
    # A judgement kept serves the keys too.
    assert limits.keys(record, low, set()) == keys and limits.judge(record, low, set()) is judged
    # The keys of a newer reading (ingest's, at a poll) leave the school's judgement kept.
    lower = printer(toner(1, 4.0), toner(2, 3.0))
    assert limits.keys(record, lower, set()) == keys
    assert limits.judge(record, low, set()) is judged

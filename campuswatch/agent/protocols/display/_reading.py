"""From a display's answers to a :class:`DeviceReading`: pure, no I/O."""

from __future__ import annotations

from campuswatch.agent.protocols.display._mdc import MdcErrorStatus
from campuswatch.agent.protocols.display._types import Signal
from campuswatch.report import DeviceReading, DisplayStatus, Problem, Sensor, Severity, SystemInfo


def display_problems(power: str | None, signal: Signal | None) -> list[Problem]:
    """A display that is on without a stable picture shows "Kein Bild" to the class.

    It is only a warning, and it may be perfectly normal (nobody presenting, between lessons): whether it
    matters is the collector's decision, which knows the timetable.
    """
    if power == "on" and signal == "none":
        return [
            Problem(
                code="display_no_signal",
                severity="warning",
                summary="Display is on but has no picture (no signal)",
            )
        ]
    return []


def hardware_problems(errors: MdcErrorStatus) -> list[Problem]:
    """What a display reports broken about itself (Samsung MDC error status)."""
    found: tuple[tuple[bool, str, Severity, str], ...] = (
        (errors.lamp_error, "display_backlight", "critical", "Backlight error reported by the display"),
        (errors.temperature_error, "display_temperature", "critical", "Display reports overheating"),
        (errors.fan_error, "display_fan", "critical", "Fan error reported by the display"),
        (errors.brightness_sensor_error, "display_brightness_sensor", "warning", "Brightness sensor error"),
    )
    return [
        Problem(code=code, severity=severity, summary=summary)
        for bad, code, severity, summary in found
        if bad
    ]


def display_reading(
    address: str,
    *,
    power: str | None,
    signal: Signal | None,
    input_name: str | None = None,
    system: SystemInfo | None = None,
    errors: MdcErrorStatus | None = None,
    partial: dict[str, str] | None = None,
) -> DeviceReading:
    """The reading of an interactive display; ``signal`` None means it was not asked (the display is off)."""
    reading = DeviceReading(
        address=address,
        kind="display",
        system=system or SystemInfo(),
        display=DisplayStatus(power=power, signal=signal, input=input_name),
        problems=display_problems(power, signal),
        partial=partial or {},
    )
    if errors is not None:
        reading.problems += hardware_problems(errors)
        reading.sensors.append(
            Sensor(
                kind="temperature",
                descr="panel",
                value=float(errors.temperature_c),
                unit="C",
                state="critical" if errors.temperature_error else "ok",
            )
        )
    return reading

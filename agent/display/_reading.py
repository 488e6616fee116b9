"""From a display's answers to a :class:`DeviceReading`: pure, no I/O."""

from __future__ import annotations

from agent.display._frame import Signal
from campuswatch.report import DeviceReading, DisplayStatus, Problem


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


def display_reading(
    address: str,
    *,
    power: str | None,
    signal: Signal | None,
    input_name: str | None = None,
    partial: dict[str, str] | None = None,
) -> DeviceReading:
    """The reading of an interactive display; ``signal`` None means it was not asked (the display is off)."""
    return DeviceReading(
        address=address,
        kind="display",
        display=DisplayStatus(power=power, signal=signal, input=input_name),
        problems=display_problems(power, signal),
        partial=partial or {},
    )

"""From a projector's PJLink answers to a :class:`DeviceReading` with its problems: pure, no I/O.

The client collects one answer per command (a value, or the ERRn the projector gave); this module decides
what they mean. Only ERR4 ("projector failure") is itself a problem; ERR1 for LAMP means the projector has
no lamp (laser or LED light source); every other error leaves its field empty and is noted in ``partial``.
"""

from __future__ import annotations

from collections.abc import Mapping

from campuswatch.agent.protocols.pjlink._protocol import (
    ERST_FIELDS,
    PjlinkCommandError,
    decode_count,
    decode_erst,
    decode_lamps,
    decode_power,
    decode_text,
)
from campuswatch.report import DeviceReading, DisplayStatus, Lamp, Problem, ProjectorErrors, SystemInfo

#: A common rated life of a projector lamp in normal mode; eco modes and models differ, so it is a parameter.
DEFAULT_LAMP_LIFE_H = 4000

#: Where each command's answer goes in the reading, for the ``partial`` notes.
FIELDS = {
    "POWR": "display.power",
    "ERST": "errors",
    "LAMP": "lamps",
    "NAME": "system.name",
    "INF1": "system.vendor",
    "INF2": "system.model",
    "INPT": "display.input",
    "SNUM": "system.serial",
    "SVER": "system.firmware",
    "FILT": "display.filter_hours",
}

_CATEGORY_NAMES = {
    "fan": "Fan",
    "lamp": "Lamp",
    "temperature": "Temperature",
    "cover": "Cover",
    "filter": "Filter",
    "other": "Other",
}

Answers = Mapping[str, str | PjlinkCommandError]


def build_reading(
    address: str, answers: Answers, *, lamp_life_h: int | None = DEFAULT_LAMP_LIFE_H
) -> DeviceReading:
    """The reading for one projector from its answers (command -> value or error), with problems.

    ``lamp_life_h`` None turns the lamp-life check off. Raises :class:`~campuswatch.agent.errors.DeviceReplyError`
    for a value that does not decode.
    """
    values = {cmd: a for cmd, a in answers.items() if isinstance(a, str)}
    failed = {cmd: a for cmd, a in answers.items() if isinstance(a, PjlinkCommandError)}
    no_lamp = failed.get("LAMP") is not None and failed["LAMP"].code == "ERR1"

    def text(cmd: str) -> str | None:
        return decode_text(values[cmd]) if cmd in values else None

    errors = decode_erst(values["ERST"]) if "ERST" in values else None
    lamps = decode_lamps(values["LAMP"]) if "LAMP" in values else []
    for lamp in lamps:
        lamp.life_hours = lamp_life_h
    reading = DeviceReading(
        address=address,
        kind="projector",
        system=SystemInfo(
            name=text("NAME"),
            vendor=text("INF1"),
            model=text("INF2"),
            serial=text("SNUM"),
            firmware=text("SVER"),
        ),
        lamps=lamps,
        errors=errors,
        display=DisplayStatus(
            power=decode_power(values["POWR"]) if "POWR" in values else None,
            input=text("INPT"),
            filter_hours=decode_count("FILT", values["FILT"]) if "FILT" in values else None,
        ),
        partial={
            FIELDS.get(cmd, cmd): str(err) for cmd, err in failed.items() if not (cmd == "LAMP" and no_lamp)
        },
    )
    reading.problems = projector_problems(errors, lamps, lamp_life_h=lamp_life_h) + _failure_problems(failed)
    return reading


def projector_problems(
    errors: ProjectorErrors | None, lamps: list[Lamp], *, lamp_life_h: int | None = DEFAULT_LAMP_LIFE_H
) -> list[Problem]:
    """Problems from the ERST categories and from lamps past their rated life."""
    problems = []
    if errors is not None:
        for category in ERST_FIELDS:
            level = getattr(errors, category)
            if level != "ok":
                problems.append(
                    Problem(
                        code=f"projector_{category}",
                        severity="critical" if level == "error" else "warning",
                        summary=f"{_CATEGORY_NAMES[category]} {level} reported by the projector",
                    )
                )
    if lamp_life_h is not None:
        for number, lamp in enumerate(lamps, start=1):
            if lamp.hours >= lamp_life_h:
                problems.append(
                    Problem(
                        code="lamp_end_of_life",
                        severity="warning",
                        summary=f"Lamp {number} has run {lamp.hours} h, its rated life is {lamp_life_h} h",
                        subject=f"lamp{number}",
                    )
                )
    return problems


def _failure_problems(failed: Mapping[str, PjlinkCommandError]) -> list[Problem]:
    """ERR4 is the projector saying it is broken: one problem, naming the commands that met it."""
    commands = sorted(cmd for cmd, err in failed.items() if err.code == "ERR4")
    if not commands:
        return []
    return [
        Problem(
            code="projector_failure",
            severity="critical",
            summary=f"Projector reports a failure (ERR4) for {', '.join(commands)}",
        )
    ]

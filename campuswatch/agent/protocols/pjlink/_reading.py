"""From a projector's PJLink answers to a :class:`DeviceReading` with its problems: pure, no I/O.

The client collects one answer per command (a value, or the ERRn the projector gave); this module decides
what they mean. The problems are what the projector asserts: its ERST categories and ERR4 ("projector
failure"); ERR1 for LAMP means the projector has no lamp (laser or LED light source); every other error
leaves its field empty and is noted in ``partial``. A lamp's hours against its rated life are the
collector's to judge (PJLink does not tell the rated life; the collector knows it by the model).
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
from campuswatch.report import DeviceReading, DisplayStatus, Problem, ProjectorErrors, SystemInfo

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


def build_reading(address: str, answers: Answers) -> DeviceReading:
    """The reading for one projector from its answers (command -> value or error), with problems.

    Raises :class:`~campuswatch.agent.errors.DeviceReplyError` for a value that does not decode.
    """
    values = {cmd: a for cmd, a in answers.items() if isinstance(a, str)}
    failed = {cmd: a for cmd, a in answers.items() if isinstance(a, PjlinkCommandError)}
    no_lamp = failed.get("LAMP") is not None and failed["LAMP"].code == "ERR1"

    def text(cmd: str) -> str | None:
        return decode_text(values[cmd]) if cmd in values else None

    errors = decode_erst(values["ERST"]) if "ERST" in values else None
    lamps = decode_lamps(values["LAMP"]) if "LAMP" in values else []
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
    reading.problems = projector_problems(errors) + _failure_problems(failed)
    return reading


def projector_problems(errors: ProjectorErrors | None) -> list[Problem]:
    """Problems from the ERST categories the projector reports (warning or error)."""
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

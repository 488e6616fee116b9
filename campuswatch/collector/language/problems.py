"""A problem's summary in the collector's language, rendered from its code and parameters.

The agent writes an English summary into every problem it finds; the collector says the same in its own
language for the codes it knows, from the code, the problem's ``subject`` (a port, a sensor) and what
the device's reading names (a supply's description). For a code it does not know (a new agent's, an
Alertmanager alert's, a person's report) the given summary stays: it is the best text there is.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from campuswatch.collector.model import DeviceRecord, ProblemRecord, reading_of
from campuswatch.report import DeviceReading


def N_(message: str) -> str:
    """Marks a message for extraction (``make messages``) without translating it where it is defined."""
    return message


#: Problem code -> its summary; ``%(subject)s`` the problem's subject, ``%(name)s`` the supply it is about
#: and ``%(percent)s`` its level. Codes whose given summary carries what the collector measured (a disk's
#: percent, a lamp's hours, a gateway's temperature) keep it: their text is the rule's.
SUMMARIES: dict[str, str] = {
    "display_no_signal": N_("no picture: the display has no input signal"),
    "display_backlight": N_("display backlight failed"),
    "display_fan": N_("display fan failed"),
    "display_temperature": N_("display too hot"),
    "display_brightness_sensor": N_("display brightness sensor failed"),
    "projector_failure": N_("projector reports a fault"),
    # PJLink's error status (ERST) by category; the severity says warning or error.
    "projector_lamp": N_("projector reports a lamp fault"),
    "projector_fan": N_("projector reports a fan fault"),
    "projector_temperature": N_("projector reports overheating"),
    "projector_cover": N_("projector reports its cover open"),
    "projector_filter": N_("projector reports its filter clogged"),
    "projector_other": N_("projector reports another fault"),
    "printer_jammed": N_("paper jam"),
    "printer_door_open": N_("door open"),
    "printer_no_paper": N_("out of paper"),
    "printer_no_toner": N_("out of toner"),
    "printer_supply_missing": N_("toner or ink cartridge missing"),
    "printer_tray_missing": N_("paper tray missing"),
    "printer_output_tray_missing": N_("output tray missing"),
    "printer_output_full": N_("output tray full"),
    "printer_low_paper": N_("paper low"),
    "printer_low_toner": N_("toner low"),
    "printer_maintenance_overdue": N_("maintenance overdue"),
    "printer_service_requested": N_("printer requests service"),
    "supply_empty": N_("%(name)s empty"),
    "supply_low": N_("%(name)s low (%(percent)s %% left)"),
    "waste_full": N_("%(name)s full"),
    "waste_near_full": N_("%(name)s nearly full"),
    "port_down": N_("port %(subject)s down"),
    "poe_fault": N_("PoE fault on port %(subject)s"),
    "ups_on_battery": N_("on battery"),
    "ups_battery_low": N_("battery low"),
    "ups_battery_fault": N_("UPS battery fault"),
    "ups_replace_battery": N_("UPS battery needs replacing"),
    "sensor_critical": N_("sensor %(subject)s critical"),
}


#: A UPS's problems whose summary says how long its battery lasts, when its reading knows (as the agent's
#: does: the minutes are what was measured, so without the reading the given summary stays).
RUNTIME_SUMMARIES: dict[str, str] = {
    "ups_on_battery": N_("on battery, %(minutes)s min left"),
    "ups_battery_low": N_("battery low, %(minutes)s min left"),
}


#: How people name a kind of device.
KIND_WORDS = {
    "printer": N_("printer"),
    "projector": N_("projector"),
    "display": N_("display"),
    "switch": N_("switch"),
    "access_point": N_("access point"),
    "ups": N_("UPS"),
    "gateway": N_("gateway"),
    "unknown": N_("device"),
}


#: The words of the values pages show as they are stored: a ticket's state and priority, a problem's
#: severity, what a ticket's history entry is, a device's poll status.
VALUE_WORDS = {
    "open": N_("open"),
    "resolved": N_("resolved"),
    "urgent": N_("urgent"),
    "high": N_("high"),
    "normal": N_("normal"),
    "low": N_("low"),
    "critical": N_("critical"),
    "warning": N_("warning"),
    "info": N_("info"),
    "opened": N_("opened"),
    "note": N_("note"),
    "reopened": N_("reopened"),
    "acknowledged": N_("acknowledged"),
    "ok": N_("ok"),
    "unreachable": N_("unreachable"),
    "auth_failed": N_("wrong credentials"),
    "error": N_("error"),
}


def value_word(value: str, gettext: Callable[[str], str]) -> str:
    """A stored value (``open``, ``high``, ``critical``) in the language of ``gettext``; one it does not
    know as it is."""
    return gettext(VALUE_WORDS[value]) if value in VALUE_WORDS else value


def kind_word(kind: str, gettext: Callable[[str], str]) -> str:
    """A device's kind as people name it, in the language of ``gettext`` (an unknown kind as it is)."""
    return gettext(KIND_WORDS[kind]) if kind in KIND_WORDS else kind


def _supply(subject: str, reading: DeviceReading | None) -> dict[str, str] | None:
    """The name and level of the supply a problem's subject (its index) names, in the reading."""
    for supply in reading.supplies if reading is not None else ():
        if subject == str(supply.index):
            level = supply.level_percent
            return {"name": supply.name, "percent": "?" if level is None else f"{level:.0f}"}
    return None


def problem_summary(
    code: str,
    subject: str,
    given: str,
    gettext: Callable[[str], str],
    reading: DeviceReading | None = None,
) -> str:
    """The summary of problem ``code`` in the language of ``gettext``; ``given`` (the agent's or the
    rule's) where the collector has no text of its own for the code or lacks what its text names."""
    message = SUMMARIES.get(code)
    if message is None:
        return given
    if code in RUNTIME_SUMMARIES:
        ups = reading.ups if reading is not None else None
        if ups is None:
            return given
        if ups.runtime_s is None:
            return gettext(message)
        return gettext(RUNTIME_SUMMARIES[code]) % {"minutes": f"{ups.runtime_s / 60:.0f}"}
    if "%(name)s" in message:
        supply = _supply(subject, reading)
        if supply is None or ("%(percent)s" in message and supply["percent"] == "?"):
            return given
        return gettext(message) % supply
    if "%(subject)s" in message:
        if not subject:
            return given
        return gettext(message) % {"subject": subject}
    return gettext(message)


def summary_of(problem: ProblemRecord, device: DeviceRecord | None, gettext: Callable[[str], str]) -> str:
    """A stored problem's summary in the language of ``gettext``, naming a supply as ``device``'s reading does."""
    try:
        reading = reading_of(device) if device is not None else None
    except msgspec.DecodeError:
        reading = None
    return problem_summary(problem.key.code, problem.key.subject, problem.summary, gettext, reading)

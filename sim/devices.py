"""The simulated school's devices: their SNMP recordings, written from the MIBs, and the faults they know.

Each device model builds a :class:`~sim.snmprec.Recording` (values as the standards lay them out:
SNMPv2-MIB system, IF-MIB, HOST-RESOURCES, Printer-MIB, BRIDGE/Q-BRIDGE, LLDP, UPS-MIB, a few vendor
scalars) together with the faults that change it, so both always name the same OIDs. The recordings
in ``sim/recordings/school`` are this module's output; regenerate them with ``python -m sim.devices``
(a test fails when a file and its model differ).

Values that faults change are settable (``writecache``); so are the other supply levels, tray levels,
cover states and port states, so tests can drain a toner or unplug a port beyond the named faults.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from campuswatch.agent.protocols.snmp.transport.types import Oid, oid
from campuswatch.report import DeviceKind
from sim.faults import Change, Fault
from sim.snmprec import Recording, write

RECORDINGS = Path(__file__).parent / "recordings" / "school"

SYSTEM = oid("1.3.6.1.2.1.1")
IF_NUMBER = oid("1.3.6.1.2.1.2.1.0")
IF_ENTRY = oid("1.3.6.1.2.1.2.2.1")
IFX_ENTRY = oid("1.3.6.1.2.1.31.1.1.1")
HR_SYSTEM_UPTIME = oid("1.3.6.1.2.1.25.1.1.0")
HR_MEMORY_SIZE = oid("1.3.6.1.2.1.25.2.2.0")
HR_DEVICE_ENTRY = oid("1.3.6.1.2.1.25.3.2.1")
HR_PRINTER_ENTRY = oid("1.3.6.1.2.1.25.3.5.1")
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"
PRT_GENERAL_ENTRY = oid("1.3.6.1.2.1.43.5.1.1")
PRT_COVER_ENTRY = oid("1.3.6.1.2.1.43.6.1.1")
PRT_LOCALIZATION_ENTRY = oid("1.3.6.1.2.1.43.7.1.1")
PRT_INPUT_ENTRY = oid("1.3.6.1.2.1.43.8.2.1")
PRT_MARKER_ENTRY = oid("1.3.6.1.2.1.43.10.2.1")
PRT_SUPPLIES_ENTRY = oid("1.3.6.1.2.1.43.11.1.1")
PRT_COLORANT_ENTRY = oid("1.3.6.1.2.1.43.12.1.1")
DOT1D_BASE = oid("1.3.6.1.2.1.17.1")
DOT1D_TP_FDB_ENTRY = oid("1.3.6.1.2.1.17.4.3.1")
DOT1Q_TP_FDB_ENTRY = oid("1.3.6.1.2.1.17.7.1.2.2.1")
DOT1Q_VLAN_STATIC_NAME = oid("1.3.6.1.2.1.17.7.1.4.3.1.1")
LLDP_LOCAL = oid("1.0.8802.1.1.2.1.3")
LLDP_REM_ENTRY = oid("1.0.8802.1.1.2.1.4.1.1")
LLDP_REM_MAN_ADDR_ENTRY = oid("1.0.8802.1.1.2.1.4.2.1")
UPS_MIB = oid("1.3.6.1.2.1.33.1")
PETH_PSE_PORT_ENTRY = oid("1.3.6.1.2.1.105.1.1.1")
AI_AP_ENTRY = oid("1.3.6.1.4.1.14823.2.3.3.1.2.1.1")
AI_RADIO_ENTRY = oid("1.3.6.1.4.1.14823.2.3.3.1.2.2.1")
APC_UPS = oid("1.3.6.1.4.1.318.1.1.1")

CONTACT = "IT-Service Schulträger, Tel. 0341 123-4567"
SUBNET = "10.21.4"

# hrDeviceStatus / hrPrinterStatus (RFC 2790) and the overall printer states of RFC 3805 2.2.13.2:
# a non-critical alert is warning/idle, a critical one (the printer cannot print) is down/other.
RUNNING, WARNING, DOWN = 2, 3, 5
PRINTER_OTHER, PRINTER_IDLE = 1, 3
# hrPrinterDetectedErrorState bits, bit 0 the most significant bit of the first octet.
LOW_TONER, NO_TONER, DOOR_OPEN, JAMMED, NO_PAPER = 2, 3, 4, 5, 1
# Printer-MIB codes (RFC 3805, IANA-PRINTER-MIB).
SUPPLY_CONSUMED, SUPPLY_FILLED = 3, 4
TONER, WASTE_TONER, OPC = 3, 4, 9
IMPRESSIONS, PERCENT = 7, 19
COVER_OPEN, COVER_CLOSED = 3, 4
SUBUNIT_IDLE, SUBUNIT_CRITICAL = 0, 16
# IF-MIB
UP, DOWN_IF = 1, 2
ETHERNET = 6


@dataclass(frozen=True)
class SimDevice:
    """One simulated device: its name (also the SNMP community and the recording's file name)."""

    name: str
    kind: DeviceKind
    label: str
    recording: Recording
    faults: Mapping[str, Fault]
    mac: str

    def baseline(self) -> dict[Oid, int | bytes]:
        """The settable values as recorded: what the device serves with no fault active."""
        out: dict[Oid, int | bytes] = {}
        for at, value in self.recording.settable().items():
            assert isinstance(value.value, int | bytes)
            out[at] = value.value
        return out


def mac_bytes(mac: str) -> bytes:
    """``aa:bb:..`` as six octets."""
    return bytes.fromhex(mac.replace(":", ""))


def bits(*positions: int, octets: int = 1) -> bytes:
    """An octet string with the given bits set, bit 0 being the most significant bit of the first octet."""
    value = bytearray(octets)
    for pos in positions:
        value[pos // 8] |= 0x80 >> (pos % 8)
    return bytes(value)


def system(
    rec: Recording, *, descr: str, object_id: str, name: str, location: str, uptime_s: int, services: int
) -> None:
    """SNMPv2-MIB system group."""
    rec.text((*SYSTEM, 1, 0), descr)
    rec.object_id((*SYSTEM, 2, 0), object_id)
    rec.timeticks((*SYSTEM, 3, 0), uptime_s * 100)
    rec.text((*SYSTEM, 4, 0), CONTACT)
    rec.text((*SYSTEM, 5, 0), name)
    rec.text((*SYSTEM, 6, 0), location)
    rec.integer((*SYSTEM, 7, 0), services)


@dataclass(frozen=True)
class Port:
    """An IF-MIB interface; ``traffic`` scales its counters (0: never used)."""

    index: int
    name: str
    speed_mbps: int
    mac: bytes
    alias: str = ""
    admin: int = UP
    oper: int = UP
    traffic: int = 0
    descr: str = ""


def interfaces(rec: Recording, ports: Sequence[Port], *, uptime_s: int) -> None:
    """ifNumber, ifTable and ifXTable; every port's ifOperStatus is settable (unplug a cable)."""
    rec.integer(IF_NUMBER, len(ports))
    for port in ports:
        i = port.index
        rng = random.Random(f"{port.name}-{port.mac.hex()}")
        in_octets = port.traffic * rng.randint(900_000, 1_100_000)
        out_octets = port.traffic * rng.randint(300_000, 700_000)
        in_ucast, out_ucast = in_octets // 700, out_octets // 500
        in_mcast, in_bcast = port.traffic * 40, port.traffic * 90
        speed = port.speed_mbps * 1_000_000 if port.oper == UP else 0
        rec.integer((*IF_ENTRY, 1, i), i)
        rec.text((*IF_ENTRY, 2, i), port.descr or port.name)
        rec.integer((*IF_ENTRY, 3, i), ETHERNET)
        rec.integer((*IF_ENTRY, 4, i), 1500)
        rec.gauge32((*IF_ENTRY, 5, i), speed)
        rec.text((*IF_ENTRY, 6, i), port.mac)
        rec.integer((*IF_ENTRY, 7, i), port.admin)
        rec.integer((*IF_ENTRY, 8, i), port.oper, settable=True)
        rec.timeticks((*IF_ENTRY, 9, i), rng.randint(0, uptime_s) * 100 if port.traffic else 0)
        rec.counter32((*IF_ENTRY, 10, i), in_octets)
        rec.counter32((*IF_ENTRY, 11, i), in_ucast)
        rec.counter32((*IF_ENTRY, 12, i), in_mcast + in_bcast)
        rec.counter32((*IF_ENTRY, 13, i), port.traffic // 7)
        rec.counter32((*IF_ENTRY, 14, i), port.traffic // 50)
        rec.counter32((*IF_ENTRY, 15, i), 0)
        rec.counter32((*IF_ENTRY, 16, i), out_octets)
        rec.counter32((*IF_ENTRY, 17, i), out_ucast)
        rec.counter32((*IF_ENTRY, 18, i), port.traffic * 60)
        rec.counter32((*IF_ENTRY, 19, i), 0)
        rec.counter32((*IF_ENTRY, 20, i), 0)
        rec.gauge32((*IF_ENTRY, 21, i), 0)
        rec.object_id((*IF_ENTRY, 22, i), "0.0")
        rec.text((*IFX_ENTRY, 1, i), port.name)
        rec.counter32((*IFX_ENTRY, 2, i), in_mcast)
        rec.counter32((*IFX_ENTRY, 3, i), in_bcast)
        rec.counter32((*IFX_ENTRY, 4, i), port.traffic * 20)
        rec.counter32((*IFX_ENTRY, 5, i), port.traffic * 40)
        rec.counter64((*IFX_ENTRY, 6, i), in_octets)
        rec.counter64((*IFX_ENTRY, 7, i), in_ucast)
        rec.counter64((*IFX_ENTRY, 8, i), in_mcast)
        rec.counter64((*IFX_ENTRY, 9, i), in_bcast)
        rec.counter64((*IFX_ENTRY, 10, i), out_octets)
        rec.counter64((*IFX_ENTRY, 11, i), out_ucast)
        rec.counter64((*IFX_ENTRY, 12, i), port.traffic * 20)
        rec.counter64((*IFX_ENTRY, 13, i), port.traffic * 40)
        rec.integer((*IFX_ENTRY, 14, i), 1)
        rec.gauge32((*IFX_ENTRY, 15, i), port.speed_mbps if port.oper == UP else 0)
        rec.integer((*IFX_ENTRY, 16, i), 2)
        rec.integer((*IFX_ENTRY, 17, i), 1)
        rec.text((*IFX_ENTRY, 18, i), port.alias)
        rec.timeticks((*IFX_ENTRY, 19, i), 0)


# --- printers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Supply:
    """A prtMarkerSuppliesEntry; ``colorant`` is the prtMarkerColorantValue it uses, if any."""

    description: str
    type: int
    level: int
    max_capacity: int
    unit: int = PERCENT
    supply_class: int = SUPPLY_CONSUMED
    colorant: str | None = None


@dataclass(frozen=True)
class Tray:
    """A prtInputEntry (paper tray)."""

    name: str
    max_sheets: int
    level: int
    media: str = "A4"


@dataclass(frozen=True)
class PrinterModel:
    """What tells one printer from another; the Printer-MIB layout is the same for all."""

    name: str
    label: str
    descr: str
    object_id: str
    sys_name: str
    location: str
    model: str
    serial: str
    mac: str
    uptime_s: int
    page_count: int
    supplies: Sequence[Supply]
    trays: Sequence[Tray]
    covers: Sequence[str]
    #: Agents answer hrPrinterDetectedErrorState with one or two octets; both occur.
    error_state_octets: int = 2
    hr_index: int = 1
    marker_tech: int = 4  # electrophotographicLaser
    resolution_dpi: int = 600
    fault_trays: int = 1
    extra: Mapping[Oid, str] = field(default_factory=dict)


def _printer_faults(p: PrinterModel) -> dict[str, Fault]:
    """The printer faults: each sets its hrPrinterDetectedErrorState bit and the device state it implies
    (RFC 3805 2.2.13.2), and changes the part it concerns (the black toner, tray 1, cover 1)."""
    hr = p.hr_index
    error_state = (*HR_PRINTER_ENTRY, 2, hr)
    device_status = (*HR_DEVICE_ENTRY, 5, hr)
    printer_status = (*HR_PRINTER_ENTRY, 1, hr)
    black = next(i for i, s in enumerate(p.supplies, 1) if s.colorant == "black")
    black_level = (*PRT_SUPPLIES_ENTRY, 9, hr, black)
    low_level = max(1, p.supplies[black - 1].max_capacity * 3 // 100)

    def critical(bit: int, *changes: Change) -> Fault:
        return (
            Change(error_state, bits(bit, octets=p.error_state_octets), "or"),
            Change(device_status, DOWN, "max"),
            Change(printer_status, PRINTER_OTHER),
            *changes,
        )

    return {
        "toner_low": (
            Change(error_state, bits(LOW_TONER, octets=p.error_state_octets), "or"),
            Change(device_status, WARNING, "max"),
            Change(black_level, low_level),
        ),
        "toner_empty": critical(NO_TONER, Change(black_level, 0)),
        "paper_jam": critical(JAMMED),
        "door_open": critical(DOOR_OPEN, Change((*PRT_COVER_ENTRY, 3, hr, 1), COVER_OPEN)),
        "paper_out": critical(
            NO_PAPER,
            Change((*PRT_INPUT_ENTRY, 10, hr, p.fault_trays), 0),
            Change((*PRT_INPUT_ENTRY, 11, hr, p.fault_trays), SUBUNIT_CRITICAL),
        ),
    }


def printer(p: PrinterModel) -> SimDevice:
    """A network laser printer: system, IF-MIB, HOST-RESOURCES and the Printer-MIB groups monitors read."""
    rec = Recording()
    hr = p.hr_index
    system(
        rec,
        descr=p.descr,
        object_id=p.object_id,
        name=p.sys_name,
        location=p.location,
        uptime_s=p.uptime_s,
        services=72,
    )
    interfaces(
        rec,
        [Port(1, "eth0", 1000, mac_bytes(p.mac), traffic=40, descr=p.descr.split(",")[0])],
        uptime_s=p.uptime_s,
    )
    rec.timeticks(HR_SYSTEM_UPTIME, p.uptime_s * 100)
    rec.integer(HR_MEMORY_SIZE, 524288)
    rec.integer((*HR_DEVICE_ENTRY, 1, hr), hr)
    rec.object_id((*HR_DEVICE_ENTRY, 2, hr), HR_DEVICE_PRINTER)
    rec.text((*HR_DEVICE_ENTRY, 3, hr), p.model)
    rec.object_id((*HR_DEVICE_ENTRY, 4, hr), "0.0")
    rec.integer((*HR_DEVICE_ENTRY, 5, hr), RUNNING, settable=True)
    rec.counter32((*HR_DEVICE_ENTRY, 6, hr), 0)
    rec.integer((*HR_PRINTER_ENTRY, 1, hr), PRINTER_IDLE, settable=True)
    rec.text((*HR_PRINTER_ENTRY, 2, hr), bytes(p.error_state_octets), settable=True)

    general = {
        1: 17, 2: 1, 3: 3, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1, 11: 2, 12: 16, 13: 4, 14: 4, 15: 4,
    }  # fmt: skip
    for col, value in general.items():
        if col == 1:
            rec.counter32((*PRT_GENERAL_ENTRY, col, hr), value)
        else:
            rec.integer((*PRT_GENERAL_ENTRY, col, hr), value)
    rec.text((*PRT_GENERAL_ENTRY, 4, hr), "")
    rec.text((*PRT_GENERAL_ENTRY, 5, hr), "")
    rec.text((*PRT_GENERAL_ENTRY, 16, hr), p.label)
    rec.text((*PRT_GENERAL_ENTRY, 17, hr), p.serial)
    rec.counter32((*PRT_GENERAL_ENTRY, 18, hr), 3)
    rec.counter32((*PRT_GENERAL_ENTRY, 19, hr), 41)

    for i, cover in enumerate(p.covers, 1):
        rec.text((*PRT_COVER_ENTRY, 2, hr, i), cover)
        rec.integer((*PRT_COVER_ENTRY, 3, hr, i), COVER_CLOSED, settable=True)

    rec.text((*PRT_LOCALIZATION_ENTRY, 2, hr, 1), "en")
    rec.text((*PRT_LOCALIZATION_ENTRY, 3, hr, 1), "US")
    rec.integer((*PRT_LOCALIZATION_ENTRY, 4, hr, 1), 106)  # UTF-8 (IANA charset MIBenum)

    for i, tray in enumerate(p.trays, 1):
        rec.integer((*PRT_INPUT_ENTRY, 2, hr, i), 4)  # sheetFeedAutoRemovableTray
        rec.integer((*PRT_INPUT_ENTRY, 3, hr, i), 4)  # micrometers
        rec.integer((*PRT_INPUT_ENTRY, 4, hr, i), 297000)
        rec.integer((*PRT_INPUT_ENTRY, 5, hr, i), 210000)
        rec.integer((*PRT_INPUT_ENTRY, 6, hr, i), 297000)
        rec.integer((*PRT_INPUT_ENTRY, 7, hr, i), 210000)
        rec.integer((*PRT_INPUT_ENTRY, 8, hr, i), 8)  # sheets
        rec.integer((*PRT_INPUT_ENTRY, 9, hr, i), tray.max_sheets)
        rec.integer((*PRT_INPUT_ENTRY, 10, hr, i), tray.level, settable=True)
        rec.integer((*PRT_INPUT_ENTRY, 11, hr, i), SUBUNIT_IDLE, settable=True)
        rec.text((*PRT_INPUT_ENTRY, 12, hr, i), tray.media)
        rec.text((*PRT_INPUT_ENTRY, 13, hr, i), tray.name)
        rec.text((*PRT_INPUT_ENTRY, 18, hr, i), tray.name)
        rec.text((*PRT_INPUT_ENTRY, 21, hr, i), "stationery")
        rec.text((*PRT_INPUT_ENTRY, 22, hr, i), "white")

    colorants = [s.colorant for s in p.supplies if s.colorant]
    marker = {2: p.marker_tech, 3: IMPRESSIONS, 6: len(colorants), 7: 0, 8: 3, 9: p.resolution_dpi,
              10: p.resolution_dpi, 11: 4233, 12: 4233, 13: 4233, 14: 4233, 15: SUBUNIT_IDLE}  # fmt: skip
    for col, value in marker.items():
        rec.integer((*PRT_MARKER_ENTRY, col, hr, 1), value)
    rec.counter32((*PRT_MARKER_ENTRY, 4, hr, 1), p.page_count)
    rec.counter32((*PRT_MARKER_ENTRY, 5, hr, 1), p.page_count % 5000)

    for i, colorant in enumerate(colorants, 1):
        rec.integer((*PRT_COLORANT_ENTRY, 2, hr, i), 1)
        rec.integer((*PRT_COLORANT_ENTRY, 3, hr, i), 3)  # process
        rec.text((*PRT_COLORANT_ENTRY, 4, hr, i), colorant)
        rec.integer((*PRT_COLORANT_ENTRY, 5, hr, i), 256)

    for i, supply in enumerate(p.supplies, 1):
        colorant_index = colorants.index(supply.colorant) + 1 if supply.colorant else 0
        rec.integer((*PRT_SUPPLIES_ENTRY, 2, hr, i), 1)
        rec.integer((*PRT_SUPPLIES_ENTRY, 3, hr, i), colorant_index)
        rec.integer((*PRT_SUPPLIES_ENTRY, 4, hr, i), supply.supply_class)
        rec.integer((*PRT_SUPPLIES_ENTRY, 5, hr, i), supply.type)
        rec.text((*PRT_SUPPLIES_ENTRY, 6, hr, i), supply.description)
        rec.integer((*PRT_SUPPLIES_ENTRY, 7, hr, i), supply.unit)
        rec.integer((*PRT_SUPPLIES_ENTRY, 8, hr, i), supply.max_capacity)
        rec.integer((*PRT_SUPPLIES_ENTRY, 9, hr, i), supply.level, settable=True)

    for at, text in p.extra.items():
        rec.text(at, text)
    return SimDevice(p.name, "printer", p.label, rec, _printer_faults(p), p.mac)


HP_LASERJET = PrinterModel(
    name="printer-lehrerzimmer",
    label="Lehrerzimmer",
    descr="HP ETHERNET MULTI-ENVIRONMENT,SN:VNB4K31872,FN:2T43H8R,SVCID:28473,PID:HP LaserJet Pro M203dn",
    object_id="1.3.6.1.4.1.11.2.3.9.1",
    sys_name="NPI4A2B7C",
    location="Haus A, EG, Lehrerzimmer",
    model="HP LaserJet Pro M203dn",
    serial="VNB4K31872",
    mac="3c:52:82:4a:2b:7c",
    uptime_s=9 * 86400 + 4 * 3600 + 17 * 60,
    page_count=18342,
    supplies=(
        Supply("Black Cartridge HP CF230A", TONER, 64, 100, colorant="black"),
        Supply("Imaging Drum HP CF232A", OPC, 81, 100),
    ),
    trays=(Tray("Tray 1", 250, 180),),
    covers=("Front Door",),
    error_state_octets=2,
    # HP's own model string (hpDeviceModel), read by monitors that classify HP printers.
    extra={oid("1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.2.0"): "HP LaserJet Pro M203dn"},
)

KYOCERA_ECOSYS = PrinterModel(
    name="printer-raum-101",
    label="Raum 101",
    descr="KYOCERA Document Solutions Printing System",
    object_id="1.3.6.1.4.1.1347.41",
    sys_name="KM4B91E0",
    location="Haus A, 1. OG, Raum 101",
    model="ECOSYS P6235cdn",
    serial="VCF9Z04127",
    mac="00:17:c8:4b:91:e0",
    uptime_s=2 * 86400 + 6 * 3600 + 41 * 60,
    page_count=42917,
    supplies=(
        Supply("TK-5280K", TONER, 8320, 13000, unit=IMPRESSIONS, colorant="black"),
        Supply("TK-5280C", TONER, 5060, 11000, unit=IMPRESSIONS, colorant="cyan"),
        Supply("TK-5280M", TONER, 7480, 11000, unit=IMPRESSIONS, colorant="magenta"),
        Supply("TK-5280Y", TONER, 3630, 11000, unit=IMPRESSIONS, colorant="yellow"),
        # A receptacle's level is the space left: 75 of 100 means a quarter full.
        Supply("Waste Toner Box", WASTE_TONER, 75, 100, supply_class=SUPPLY_FILLED),
        # Kyocera reports no figure for the drum: -3 "some remaining", capacity -2 unknown.
        Supply("Drum Unit DK-5231K", OPC, -3, -2),
    ),
    trays=(Tray("Cassette 1", 500, 350), Tray("MP Tray", 100, -3)),
    covers=("Front Cover", "Right Cover 1"),
    error_state_octets=1,
    resolution_dpi=1200,
    # Kyocera's own model name (kcprtGeneralModelName), where Kyocera-aware monitors look.
    extra={oid("1.3.6.1.4.1.1347.43.5.1.1.1.1"): "ECOSYS P6235cdn"},
)


# --- switch -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LldpNeighbor:
    """An lldpRemEntry seen on a local port (chassis ID a MAC, port ID an interface name)."""

    local_port: int
    chassis_mac: str
    port_id: str
    port_descr: str
    sys_name: str
    sys_descr: str
    capabilities: bytes  # LLDP system capabilities BITS: bridge 0x20, wlanAccessPoint 0x10, router 0x08
    mgmt_ip: str


SWITCH_MAC = "94:18:82:3c:5e:00"
SWITCH_NAME = "switch-foyer"
SWITCH_DESCR = (
    "HP J9776A 2530-24G Switch, revision YA.16.11.0016, ROM YA.15.20 "
    "(/ws/swbuildm/rel_beluru_qaoff/code/build/lakes(swbuildm_rel_beluru_qaoff_rel_beluru)) (Formerly ProCurve)"
)
#: The AP's uplink: the port that ``port_down`` takes down.
AP_PORT = 2


def _switch_ports() -> list[Port]:
    """24 ports: uplink, AP, printers, classroom PCs; some unused, 20-24 shut (admin down)."""
    aliases = {
        1: ("Uplink Serverraum", 900),
        AP_PORT: ("AP Foyer", 400),
        3: ("Infoscreen Foyer", 30),
        4: ("Drucker Raum 101", 25),
        5: ("Drucker Lehrerzimmer", 20),
        6: ("Lehrerzimmer PC 1", 120),
        7: ("Lehrerzimmer PC 2", 110),
        8: ("Sekretariat", 160),
        9: ("Raum 101 Lehrer-PC", 80),
        10: ("Raum 102 Lehrer-PC", 75),
        11: ("Raum 103 Lehrer-PC", 60),
        12: ("Bibliothek", 45),
        15: ("Hausmeister", 15),
    }
    base = int(SWITCH_MAC.replace(":", ""), 16)
    ports = []
    for i in range(1, 25):
        alias, traffic = aliases.get(i, ("", 0))
        admin = DOWN_IF if i >= 20 else UP
        ports.append(
            Port(
                index=i,
                name=str(i),
                speed_mbps=1000,
                mac=(base + i).to_bytes(6, "big"),
                alias=alias,
                admin=admin,
                oper=UP if traffic else DOWN_IF,
                traffic=traffic,
            )
        )
    return ports


def _fdb(printers: Sequence[SimDevice], ups_mac: str) -> list[tuple[str, int]]:
    """MAC -> port as the switch learned them: the printers on their ports, PCs, the AP and its
    clients, and behind the uplink the gateway, the core switch and the UPS in the server room."""
    entries = [(p.mac, port) for p, port in zip(printers, (5, 4), strict=True)]
    entries += [("20:4c:03:5a:6b:7c", AP_PORT), ("00:0d:b9:52:1a:40", 1), ("88:3a:30:11:22:00", 1)]
    entries += [(ups_mac, 1), ("7c:2e:0d:10:31:8a", 3)]
    rng = random.Random("switch-foyer-fdb")
    for port, count in ((AP_PORT, 6), (6, 1), (7, 1), (8, 2), (9, 1), (10, 1), (11, 1), (12, 1), (15, 1)):
        for _ in range(count):
            oui = "b0:83:fe" if port != AP_PORT else rng.choice(("f0:18:98", "a4:83:e7", "3c:06:30"))
            nic = ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
            entries.append((f"{oui}:{nic}", port))
    return entries


def switch(printers: Sequence[SimDevice], ups_mac: str) -> SimDevice:
    """A 24-port access switch: IF-MIB, BRIDGE-MIB and Q-BRIDGE forwarding tables, LLDP neighbours."""
    rec = Recording()
    uptime_s = 41 * 86400 + 2 * 3600
    system(
        rec,
        descr=SWITCH_DESCR,
        object_id="1.3.6.1.4.1.11.2.3.7.11.141",
        name=SWITCH_NAME,
        location="Haus A, EG, Foyer, Verteilerschrank",
        uptime_s=uptime_s,
        services=2,
    )
    ports = _switch_ports()
    interfaces(rec, ports, uptime_s=uptime_s)

    rec.text((*DOT1D_BASE, 1, 0), mac_bytes(SWITCH_MAC))
    rec.integer((*DOT1D_BASE, 2, 0), len(ports))
    rec.integer((*DOT1D_BASE, 3, 0), 2)  # transparent-only
    for port in ports:
        rec.integer((*DOT1D_BASE, 4, 1, 1, port.index), port.index)
        rec.integer((*DOT1D_BASE, 4, 1, 2, port.index), port.index)
    vlan = 1
    rec.text((*DOT1Q_VLAN_STATIC_NAME, vlan), "DEFAULT_VLAN")
    for mac, bridge_port in _fdb(printers, ups_mac):
        mac_index = tuple(mac_bytes(mac))
        rec.text((*DOT1D_TP_FDB_ENTRY, 1, *mac_index), mac_bytes(mac))
        rec.integer((*DOT1D_TP_FDB_ENTRY, 2, *mac_index), bridge_port)
        rec.integer((*DOT1D_TP_FDB_ENTRY, 3, *mac_index), 3)  # learned
        rec.integer((*DOT1Q_TP_FDB_ENTRY, 2, vlan, *mac_index), bridge_port)
        rec.integer((*DOT1Q_TP_FDB_ENTRY, 3, vlan, *mac_index), 3)

    rec.integer((*LLDP_LOCAL, 1, 0), 4)  # chassis ID subtype macAddress
    rec.text((*LLDP_LOCAL, 2, 0), mac_bytes(SWITCH_MAC))
    rec.text((*LLDP_LOCAL, 3, 0), SWITCH_NAME)
    rec.text((*LLDP_LOCAL, 4, 0), SWITCH_DESCR)
    for port in ports:
        rec.integer((*LLDP_LOCAL, 7, 1, 2, port.index), 7)  # local
        rec.text((*LLDP_LOCAL, 7, 1, 3, port.index), port.name)
        rec.text((*LLDP_LOCAL, 7, 1, 4, port.index), port.name)
    neighbors = (
        LldpNeighbor(
            1, "88:3a:30:11:22:00", "1/1/12", "1/1/12", "core-bbg",
            "Aruba JL659A 6300M 48SR5 CL6 PoE 4SFP56 Swch FL.10.10.1040", b"\x28", "10.21.0.1",
        ),
        LldpNeighbor(
            AP_PORT, "20:4c:03:5a:6b:7c", "eth0", "eth0", "ap-foyer",
            "ArubaOS (MODEL: 505), Version 8.10.0.7 LSR", b"\x30", f"{SUBNET}.30",
        ),
    )  # fmt: skip
    time_mark = 0
    for rem_index, n in enumerate(neighbors, 1):
        row = (time_mark, n.local_port, rem_index)
        rec.integer((*LLDP_REM_ENTRY, 4, *row), 4)  # macAddress
        rec.text((*LLDP_REM_ENTRY, 5, *row), mac_bytes(n.chassis_mac))
        rec.integer((*LLDP_REM_ENTRY, 6, *row), 5)  # interfaceName
        rec.text((*LLDP_REM_ENTRY, 7, *row), n.port_id)
        rec.text((*LLDP_REM_ENTRY, 8, *row), n.port_descr)
        rec.text((*LLDP_REM_ENTRY, 9, *row), n.sys_name)
        rec.text((*LLDP_REM_ENTRY, 10, *row), n.sys_descr)
        rec.text((*LLDP_REM_ENTRY, 11, *row), n.capabilities)
        rec.text((*LLDP_REM_ENTRY, 12, *row), n.capabilities)
        # Index: ... lldpRemManAddrSubtype (1 ipV4), then the address as a length-prefixed octet string.
        addr = (*row, 1, 4, *(int(part) for part in n.mgmt_ip.split(".")))
        rec.integer((*LLDP_REM_MAN_ADDR_ENTRY, 3, *addr), 2)  # ifIndex
        rec.integer((*LLDP_REM_MAN_ADDR_ENTRY, 4, *addr), 0)
        rec.object_id((*LLDP_REM_MAN_ADDR_ENTRY, 5, *addr), "0.0")

    # POWER-ETHERNET-MIB: the AP and the infoscreen draw power, the other ports with PoE look for a device.
    for port in ports[:12]:
        powered = port.index in (AP_PORT, 3)
        rec.integer((*PETH_PSE_PORT_ENTRY, 3, 1, port.index), 1)  # pethPsePortAdminEnable true
        rec.integer((*PETH_PSE_PORT_ENTRY, 6, 1, port.index), 3 if powered else 2)  # delivering / searching
        rec.integer((*PETH_PSE_PORT_ENTRY, 10, 1, port.index), 5 if port.index == AP_PORT else 1)

    faults = {"port_down": (Change((*IF_ENTRY, 8, AP_PORT), DOWN_IF),)}
    return SimDevice(SWITCH_NAME, "switch", "Foyer", rec, faults, SWITCH_MAC)


# --- access point -------------------------------------------------------------------------------------

AP_MAC = "20:4c:03:5a:6b:7c"


def access_point() -> SimDevice:
    """An Aruba Instant AP 505 in the foyer (the switch's LLDP neighbour on its AP port): AI-AP-MIB's
    AP and radio tables with the clients each radio serves."""
    rec = Recording()
    uptime_s = 12 * 86400 + 5 * 3600
    system(
        rec,
        descr="ArubaOS (MODEL: 505), Version 8.10.0.7 LSR",
        object_id="1.3.6.1.4.1.14823.1.2.111",
        name="ap-foyer",
        location="Haus A, EG, Foyer, Decke",
        uptime_s=uptime_s,
        services=2,
    )
    interfaces(rec, [Port(1, "eth0", 1000, mac_bytes(AP_MAC), traffic=400)], uptime_s=uptime_s)
    mac = tuple(mac_bytes(AP_MAC))
    rec.text((*AI_AP_ENTRY, 1, *mac), mac_bytes(AP_MAC))  # aiAPMACAddress
    rec.text((*AI_AP_ENTRY, 2, *mac), "ap-foyer")  # aiAPName
    rec.integer((*AI_AP_ENTRY, 11, *mac), 1, settable=True)  # aiAPStatus up
    # Two radios (2.4 and 5 GHz), both up, with the tablets of the classes around the foyer.
    for radio, clients in ((0, 9), (1, 23)):
        rec.integer((*AI_RADIO_ENTRY, 20, *mac, radio), 1, settable=True)  # aiRadioStatus up
        rec.gauge32((*AI_RADIO_ENTRY, 21, *mac, radio), clients, settable=True)  # aiRadioClientNum
    faults = {
        "radio_down": (Change((*AI_RADIO_ENTRY, 20, *mac, 1), 2), Change((*AI_RADIO_ENTRY, 21, *mac, 1), 0))
    }
    return SimDevice("ap-foyer", "access_point", "Foyer", rec, faults, AP_MAC)


# --- UPS ----------------------------------------------------------------------------------------------

UPS_MAC = "00:c0:b7:6e:12:34"
UPS_NORMAL, UPS_ON_BATTERY = 3, 5  # upsOutputSource
APC_ONLINE, APC_ON_BATTERY = 2, 3  # upsBasicOutputStatus


def ups() -> SimDevice:
    """An APC Smart-UPS with a network management card: RFC 1628 UPS-MIB plus the PowerNet essentials."""
    rec = Recording()
    uptime_s = 97 * 86400 + 13 * 3600
    system(
        rec,
        descr=(
            "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 PN:apc_hw05_aos_696.bin AF1:v6.9.6 "
            "AN1:apc_hw05_sumx_696.bin MN:AP9631 HR:05 SN: 5A1904E12345 MD:03/22/2019) "
            "(Embedded PowerNet SNMP Agent SW v2.2 compatible)"
        ),
        object_id="1.3.6.1.4.1.318.1.3.27",
        name="ups-serverraum",
        location="Haus A, KG, Serverraum",
        uptime_s=uptime_s,
        services=72,
    )
    interfaces(rec, [Port(1, "LanCard", 100, mac_bytes(UPS_MAC), traffic=5)], uptime_s=uptime_s)
    ident = {
        1: "APC",
        2: "Smart-UPS 1500",
        3: "UPS 15.5 (ID18)",
        4: "v6.9.6",
        5: "ups-serverraum",
        6: "Serverschrank",
    }
    for col, text in ident.items():
        rec.text((*UPS_MIB, 1, col, 0), text)
    # upsBatteryStatus normal, seconds on battery, minutes left, charge %, 0.1 V, 0.1 A, °C
    battery = {1: 2, 2: 0, 3: 38, 4: 100, 5: 273, 6: 0, 7: 26}
    for col, value in battery.items():
        rec.integer((*UPS_MIB, 2, col, 0), value, settable=col in (1, 2, 3, 4))
    rec.counter32((*UPS_MIB, 3, 1, 0), 3)  # upsInputLineBads
    rec.integer((*UPS_MIB, 3, 2, 0), 1)
    for col, value in {1: 1, 2: 500, 3: 231, 4: 17, 5: 390}.items():
        rec.integer((*UPS_MIB, 3, 3, 1, col, 1), value, settable=col == 3)
    rec.integer((*UPS_MIB, 4, 1, 0), UPS_NORMAL, settable=True)
    rec.integer((*UPS_MIB, 4, 2, 0), 500)
    rec.integer((*UPS_MIB, 4, 3, 0), 1)
    for col, value in {1: 1, 2: 230, 3: 16, 4: 372, 5: 37}.items():
        rec.integer((*UPS_MIB, 4, 4, 1, col, 1), value)
    rec.gauge32((*UPS_MIB, 6, 1, 0), 0, settable=True)  # upsAlarmsPresent
    rec.integer((*UPS_MIB, 7, 3, 0), 1)  # upsTestResultsSummary donePass
    rec.text((*UPS_MIB, 7, 4, 0), "Passed")
    config = {1: 230, 2: 500, 3: 230, 4: 500, 5: 1500, 6: 1000, 7: 2, 8: 2, 9: 170, 10: 282}
    for col, value in config.items():
        rec.integer((*UPS_MIB, 9, col, 0), value)
    rec.text((*APC_UPS, 1, 1, 1, 0), "Smart-UPS 1500")
    rec.text((*APC_UPS, 1, 2, 3, 0), "AS1904231187")
    rec.gauge32((*APC_UPS, 2, 2, 1, 0), 100, settable=True)  # upsAdvBatteryCapacity
    rec.timeticks((*APC_UPS, 2, 2, 3, 0), 38 * 60 * 100, settable=True)  # upsAdvBatteryRunTimeRemaining
    rec.integer((*APC_UPS, 2, 2, 4, 0), 1)  # upsAdvBatteryReplaceIndicator noBatteryNeedsReplacing
    rec.integer((*APC_UPS, 4, 1, 1, 0), APC_ONLINE, settable=True)  # upsBasicOutputStatus

    on_battery = (
        Change((*UPS_MIB, 4, 1, 0), UPS_ON_BATTERY),
        Change((*UPS_MIB, 2, 2, 0), 95),
        Change((*UPS_MIB, 2, 3, 0), 31),
        Change((*UPS_MIB, 2, 4, 0), 93),
        Change((*UPS_MIB, 3, 3, 1, 3, 1), 0),
        Change((*UPS_MIB, 6, 1, 0), 1),
        Change((*APC_UPS, 2, 2, 1, 0), 93),
        Change((*APC_UPS, 2, 2, 3, 0), 31 * 60 * 100),
        Change((*APC_UPS, 4, 1, 1, 0), APC_ON_BATTERY),
    )
    return SimDevice("ups-serverraum", "ups", "Serverraum", rec, {"on_battery": on_battery}, UPS_MAC)


def school_devices() -> tuple[SimDevice, ...]:
    """The simulated school's SNMP devices, in the order the demo lists them."""
    printers = (printer(HP_LASERJET), printer(KYOCERA_ECOSYS))
    return (*printers, switch(printers, UPS_MAC), ups())


def demo_devices() -> tuple[SimDevice, ...]:
    """The school the demo runs: :func:`school_devices` and the foyer's access point, so that every
    Grafana panel has data (Wi-Fi clients and radios, PoE on the switch)."""
    return (*school_devices(), access_point())


def main(argv: Sequence[str] | None = None) -> None:
    """Write the recordings (``python -m sim.devices [--out DIR]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RECORDINGS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for device in demo_devices():
        write(device.recording, args.out / f"{device.name}.snmprec")
        print(args.out / f"{device.name}.snmprec")


if __name__ == "__main__":
    main()

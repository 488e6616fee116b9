"""Garbage in, a partial reading out: decode_device never raises on what a device sends."""

from __future__ import annotations

import random

import pytest

from campuswatch.agent.protocols.snmp.decode import classify, decode_device
from campuswatch.agent.protocols.snmp.transport.types import SnmpValue, Varbinds
from sim.snmprec import load_snmprec, parse_snmprec
from tests.support.paths import DEVICES


def test_wrong_types_leave_fields_empty_and_say_so() -> None:
    reading = decode_device(
        "192.0.2.3",
        parse_snmprec(
            [
                "1.3.6.1.2.1.1.1.0|2|42",  # sysDescr as an INTEGER
                "1.3.6.1.2.1.1.2.0|4|1.3.6.1.4.1.367.1.1",  # sysObjectID as a string
                "1.3.6.1.2.1.1.3.0|4|soon",
                "1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5",
                "1.3.6.1.2.1.25.3.5.1.2.1|2|4",  # error state as an INTEGER
                "1.3.6.1.2.1.43.11.1.1.9.1.1|4|full",  # level as a string
                "1.3.6.1.2.1.43.11.1.1.6.1.1|6|1.2.3",
                "1.3.6.1.2.1.2.2.1.5.1|4|fast",
            ]
        ),
    )
    assert reading.kind == "printer"  # still recognised by hrDevicePrinter
    assert (reading.system.descr, reading.system.object_id, reading.system.uptime_s) == (None, None, None)
    assert reading.printer is not None and reading.printer.detected_errors == []
    [supply] = reading.supplies
    assert (supply.state, supply.level_raw, supply.level_percent) == ("unknown", None, None)
    assert reading.interfaces[0].speed_bps is None
    assert set(reading.partial) >= {"system", "printer", "supplies", "interfaces"}
    assert "sysDescr: expected an octet string, got int" in reading.partial["system"]


def test_truncated_rows_are_skipped() -> None:
    reading = decode_device(
        "192.0.2.4",
        parse_snmprec(
            [
                "1.3.6.1.2.1.43.11.1.1.9.1|2|50",  # no supply index
                "1.3.6.1.2.1.43.11.1.1.9.1.2|2|50",
                "1.3.6.1.2.1.105.1.1.1.6.1|2|3",  # PoE row without a port number
                "1.0.8802.1.1.2.1.4.1.1.9.5|4|switch",  # LLDP row without time mark and remote index
                "1.3.6.1.2.1.17.4.3.1.2.1.2|2|3",  # FDB row with a two-octet MAC
            ]
        ),
    )
    assert [s.index for s in reading.supplies] == [2]
    assert (reading.poe, reading.neighbors) == ([], [])
    assert {"poe", "neighbors"} <= set(reading.partial)


def _scramble(varbinds: Varbinds, rng: random.Random) -> Varbinds:
    choices: list[SnmpValue] = [-1, 2**40, b"", b"\xff\xfe\x00", (1, 3), (), 0, b"x" * 300]
    return {key: rng.choice(choices) if rng.random() < 0.3 else value for key, value in varbinds.items()}


@pytest.mark.recordings
@pytest.mark.parametrize("seed", range(3))
def test_scrambled_recordings_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    for path in sorted(DEVICES.glob("*/*.snmprec")):
        varbinds = _scramble(load_snmprec(path), rng)
        reading = decode_device("192.0.2.8", varbinds, classify(varbinds))
        assert reading.address == "192.0.2.8"

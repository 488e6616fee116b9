"""sim.snmprec, the one owner of snmpsim's format: the loader reads every snmpsim type the way the transport
would hand values over, and reads back exactly what the simulator's recordings were written with."""

from __future__ import annotations

from pathlib import Path

import pytest

from campuswatch.agent.protocols.snmp.transport.types import PollPlan, TableSpec, oid
from sim.snmprec import Recording, SnmprecError, load_snmprec, parse_snmprec, restrict_to_plan, write


def test_every_snmpsim_type_becomes_the_transport_type(tmp_path: Path) -> None:
    path = tmp_path / "dev.snmprec"
    path.write_text(
        "\n".join(
            [
                "1.3.6.1.2.1.1.1.0|4|Brother NC-8300h",
                "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2435.2.3.9.1",
                "1.3.6.1.2.1.1.3.0|67|12345",
                "1.3.6.1.2.1.1.4.0|4x|e9bb91",
                "1.3.6.1.2.1.1.5.0|5|",
                "1.3.6.1.2.1.2.2.1.5.1|66|4294967295",
                "1.3.6.1.2.1.2.2.1.10.1|65|7",
                "1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615",
                "1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1",
                "1.3.6.1.2.1.4.20.1.1.10.0.0.2|64x|0a000002",
                "1.3.6.1.2.1.43.11.1.1.9.1.1|2|-3",
                "1.3.6.1.4.1.9.9.1|68|raw",
                "",
                "# a comment",
            ]
        )
    )
    vb = load_snmprec(path)
    assert vb[oid("1.3.6.1.2.1.1.1.0")] == b"Brother NC-8300h"
    assert vb[oid("1.3.6.1.2.1.1.2.0")] == oid("1.3.6.1.4.1.2435.2.3.9.1")
    assert vb[oid("1.3.6.1.2.1.1.3.0")] == 12345
    assert vb[oid("1.3.6.1.2.1.1.4.0")] == "黑".encode()
    assert oid("1.3.6.1.2.1.1.5.0") not in vb  # Null is what the transport leaves out
    assert vb[oid("1.3.6.1.2.1.31.1.1.1.6.1")] == 2**64 - 1
    assert vb[oid("1.3.6.1.2.1.4.20.1.1.10.0.0.1")] == bytes([10, 0, 0, 1])
    assert vb[oid("1.3.6.1.2.1.4.20.1.1.10.0.0.2")] == bytes([10, 0, 0, 2])
    assert vb[oid("1.3.6.1.2.1.43.11.1.1.9.1.1")] == -3
    assert vb[oid("1.3.6.1.4.1.9.9.1")] == b"raw"


def test_variation_lines_serve_their_value() -> None:
    vb = parse_snmprec(
        [
            "1.3.6.1.2.1.43.11.1.1.9.1.1|2:writecache|value=80",
            "1.3.6.1.2.1.25.3.5.1.2.1|4:writecache|hexvalue=0400",
            "1.3.6.1.2.1.1.1.0|4:writecache|value=hello",
        ]
    )
    assert vb[oid("1.3.6.1.2.1.43.11.1.1.9.1.1")] == 80
    assert vb[oid("1.3.6.1.2.1.25.3.5.1.2.1")] == b"\x04\x00"
    assert vb[oid("1.3.6.1.2.1.1.1.0")] == b"hello"


@pytest.mark.parametrize(
    "line", ["1.3.6.1|2|notanumber", "1.3.6.1|99|1", "1.3.6.1|2:writecache|80", "1.3.6.1"]
)
def test_a_broken_line_names_its_source_and_line(line: str) -> None:
    with pytest.raises(SnmprecError, match=r"^rec:2: "):
        parse_snmprec(["1.3.6.1.2.1.1.3.0|67|1", line], "rec")


def test_restrict_keeps_exact_scalars_and_listed_columns_only() -> None:
    vb = parse_snmprec(
        [
            "1.3.6.1.2.1.1.1.0|4|descr",
            "1.3.6.1.2.1.1.5.0|4|name",
            "1.3.6.1.2.1.2.2.1.2.1|4|eth0",
            "1.3.6.1.2.1.2.2.1.4.1|2|1500",
            "1.3.6.1.2.1.2.2.1.20.1|65|0",
            "1.3.6.1.2.1.31.1.1.1.1.1|4|eth0",
        ]
    )
    plan = PollPlan(
        scalars=(oid("1.3.6.1.2.1.1.1.0"),),
        tables=(
            TableSpec("ifTable", oid("1.3.6.1.2.1.2.2.1"), (2, 20)),
            TableSpec("ifXTable", oid("1.3.6.1.2.1.31.1.1.1")),
        ),
    )
    assert sorted(restrict_to_plan(vb, plan)) == sorted(
        [
            oid("1.3.6.1.2.1.1.1.0"),
            oid("1.3.6.1.2.1.2.2.1.2.1"),
            oid("1.3.6.1.2.1.2.2.1.20.1"),
            oid("1.3.6.1.2.1.31.1.1.1.1.1"),
        ]
    )


def test_what_a_recording_writes_reads_back_as_the_same_values(tmp_path: Path) -> None:
    recording = Recording()
    recording.integer(oid("1.3.6.1.2.1.43.11.1.1.9.1.1"), -3)
    recording.integer(oid("1.3.6.1.2.1.43.11.1.1.9.1.2"), 80, settable=True)
    recording.text(oid("1.3.6.1.2.1.1.5.0"), "Drucker Lehrerzimmer")
    recording.text(oid("1.3.6.1.2.1.1.6.0"), "Raum 1.04 Gebäude Süd")  # UTF-8: written as hex
    recording.text(oid("1.3.6.1.2.1.1.4.0"), "pipe | and trailing space ")
    recording.text(oid("1.3.6.1.2.1.25.3.5.1.2.1"), b"\x04\x00", settable=True)
    recording.object_id(oid("1.3.6.1.2.1.1.2.0"), "1.3.6.1.4.1.2435.2.3.9.1")
    recording.counter32(oid("1.3.6.1.2.1.2.2.1.10.1"), 2**32 + 5)
    recording.counter64(oid("1.3.6.1.2.1.31.1.1.1.6.1"), 2**64 - 1)
    recording.gauge32(oid("1.3.6.1.2.1.2.2.1.5.1"), 1_000_000_000)
    recording.timeticks(oid("1.3.6.1.2.1.1.3.0"), 12345, settable=True)
    recording.ip_address(oid("1.3.6.1.2.1.4.20.1.1.10.0.0.1"), "10.0.0.1")
    path = tmp_path / "public.snmprec"
    write(recording, path)
    expected = {at: value.value for at, value in recording.values.items()}
    expected[oid("1.3.6.1.2.1.2.2.1.10.1")] = 5  # Counter32 wraps
    assert load_snmprec(path) == expected

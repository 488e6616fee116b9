"""The .snmprec loader reads every snmpsim type the way the transport would hand values over."""

from __future__ import annotations

import pytest

from campuswatch.agent.protocols.snmp.transport.types import PollPlan, TableSpec, oid
from tests.support.snmprec import SnmprecError, load_snmprec, parse_snmprec, restrict_to_plan


def test_every_snmpsim_type_becomes_the_transport_type(tmp_path) -> None:
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

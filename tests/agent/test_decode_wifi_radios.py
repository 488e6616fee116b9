"""Each radio of an access point or controller, decoded from the vendor MIBs that mibs/wifi.yaml names:
channels as vendors write them, bands, a radio switched off apart from one that is down, UniFi's radios
from its virtual APs. The recordings of real devices are checked against their oracle in
test_oracle_decode.py; here the cases the recordings do not hold."""

from __future__ import annotations

import pytest

from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.decode.classification import Classification
from campuswatch.agent.protocols.snmp.decode.wifi import band_of, channel_number, decode_wifi, wifi_plan
from campuswatch.agent.protocols.snmp.transport.types import oid

CISCO = Classification(
    kind="access_point", vendor="Cisco", model=None, object_id="1.3.6.1.4.1.9.6.1.37.240.1"
)
AP = (20, 22, 157, 36, 236, 128)  # the AP's MAC as the row index


@pytest.mark.parametrize(
    ("value", "channel"),
    [(36, 36), (388, 132), (b"116E", 116), (b"53S", 53), (b" 6", 6), (b"auto", None), (0, None)],
)
def test_channels_as_vendors_write_them(value: int | bytes, channel: int | None) -> None:
    assert channel_number(Reader({}), value) == channel


@pytest.mark.parametrize(
    ("channel", "band"),
    [(1, "2.4GHz"), (14, "2.4GHz"), (36, "5GHz"), (165, "5GHz"), (53, "6GHz"), (None, None)],
)
def test_band_from_the_channel(channel: int | None, band: str | None) -> None:
    assert band_of(channel) == band


def _cisco(radio_state: int, admin: int, users: int) -> dict[tuple[int, ...], object]:
    table, load, aps = "1.3.6.1.4.1.14179.2.2.2.1", "1.3.6.1.4.1.14179.2.2.13.1", "1.3.6.1.4.1.14179.2.2.1.1"
    return {
        (*oid(f"{table}.2"), *AP, 1): 2,
        (*oid(f"{table}.4"), *AP, 1): 44,
        (*oid(f"{table}.12"), *AP, 1): radio_state,
        (*oid(f"{table}.15"), *AP, 1): users,
        (*oid(f"{table}.34"), *AP, 1): admin,
        (*oid(f"{load}.3"), *AP, 1): 71,
        (*oid(f"{aps}.3"), *AP): b"AP Raum 204",
        (*oid(f"{aps}.16"), *AP): b"AIR-AP1832I-E-K9",
    }


def test_cisco_radio_with_its_ap_name_model_and_load() -> None:
    status = decode_wifi(Reader(_cisco(radio_state=2, admin=1, users=31)), CISCO)  # type: ignore[arg-type]
    assert status is not None
    (radio,) = status.radios
    assert (radio.ap, radio.radio, radio.band, radio.channel, radio.clients) == (
        "AP Raum 204",
        "1",
        "5GHz",
        44,
        31,
    )
    assert (radio.utilization_percent, radio.state, radio.ap_model) == (71.0, "up", "AIR-AP1832I-E-K9")
    assert radio.ap_mac == "14:16:9d:24:ec:80"
    assert (status.radios_total, status.radios_up) == (1, 1)


def test_a_radio_switched_off_is_not_down_but_a_failed_one_is() -> None:
    off = decode_wifi(Reader(_cisco(radio_state=1, admin=2, users=0)), CISCO)  # type: ignore[arg-type]
    failed = decode_wifi(Reader(_cisco(radio_state=1, admin=1, users=0)), CISCO)  # type: ignore[arg-type]
    assert off is not None and failed is not None
    assert (off.radios[0].state, failed.radios[0].state) == (None, "down")


def test_every_radio_column_is_in_the_plan() -> None:
    walked = {(table.root, column) for table in wifi_plan(CISCO).tables for column in table.columns}
    for key in _cisco(2, 1, 1):
        if len(key) > 12:
            assert any(key[: len(root) + 1] == (*root, column) for root, column in walked), key


def test_a_garbled_radio_table_is_noted_not_fatal() -> None:
    varbinds = _cisco(radio_state=2, admin=1, users=3)
    varbinds[(*oid("1.3.6.1.4.1.14179.2.2.2.1.15"), *AP, 1)] = b"many"
    reader = Reader(varbinds)  # type: ignore[arg-type]
    status = decode_wifi(reader, CISCO)
    assert status is not None and status.radios[0].clients is None
    assert "radio clients" in reader.partial["wifi"]

"""Client, radio and AP counts of access points and controllers, and each radio's clients, channel,
utilisation and state, as described in mibs/wifi.yaml."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.decode._reader import Reader, mac_text
from campuswatch.agent.protocols.snmp.decode.classification import Classification
from campuswatch.agent.protocols.snmp.transport.types import Oid, PollPlan, SnmpValue, TableSpec, oid
from campuswatch.report import WifiBand, WifiRadio, WifiStatus

_GROUP = "wifi"
#: Primary channels of the 5 GHz band (UNII-1 to UNII-3); other numbers above 14 are 6 GHz channels.
_CHANNELS_5GHZ = frozenset(range(32, 65, 4)) | frozenset(range(100, 145, 4)) | frozenset(range(149, 178, 4))
#: UniFi names its radios by 802.11 mode: ng (2.4 GHz), na (5 GHz), 6e.
_UNIFI_BANDS: dict[str, WifiBand] = {"ng": "2.4GHz", "na": "5GHz", "6e": "6GHz"}
_LEADING_NUMBER = re.compile(r"^\s*(\d+)")


def _sources(classification: Classification) -> list[_knowledge.WifiSource]:
    if classification.kind != "access_point" or classification.object_id is None:
        return []
    object_id = f"{classification.object_id}."
    return [
        source
        for source in _knowledge.wifi().sources
        if any(object_id.startswith(f"{prefix}.") for prefix in source.object_id_prefixes)
        and (source.vendor is None or source.vendor == classification.vendor)
    ]


def _columns(source: _knowledge.WifiSource) -> list[tuple[str, _knowledge.WifiColumn]]:
    named = (
        ("clients", source.clients_sum),
        ("client-rows", source.clients_rows),
        ("radios", source.radios),
        ("aps", source.aps),
        ("radio-load", source.utilization_table),
    )
    return [(name, column) for name, column in named if column is not None]


def _radio_columns(table: _knowledge.RadioTable) -> tuple[int, ...]:
    found = (
        table.clients,
        table.channel,
        table.utilization,
        table.state,
        table.admin,
        table.band,
        table.name,
    )
    return tuple(sorted({c for c in found if c is not None}))


def _tables(source: _knowledge.WifiSource) -> Iterator[TableSpec]:
    for name, col in _columns(source):
        yield TableSpec(f"{source.name}-{name}", oid(col.root), (col.column,), col.rows)
    if source.radio_table:
        radio = source.radio_table
        yield TableSpec(f"{source.name}-radio", oid(radio.root), _radio_columns(radio), radio.rows)
    if source.vap_table:
        vap = source.vap_table
        columns = tuple(c for c in (vap.clients, vap.channel, vap.radio) if c is not None)
        yield TableSpec(f"{source.name}-vap", oid(vap.root), columns, vap.rows)
    if source.ap_table:
        ap = source.ap_table
        columns = tuple(c for c in (ap.name, ap.model) if c is not None)
        yield TableSpec(f"{source.name}-ap", oid(ap.root), columns, ap.rows)


def wifi_plan(classification: Classification) -> PollPlan:
    """What the wifi decoder reads for this device (empty for anything but a known AP or controller)."""
    scalars = []
    tables = []
    for source in _sources(classification):
        scalars += [oid(s) for s in (source.clients_scalar, source.aps_scalar) if s]
        tables += list(_tables(source))
    return PollPlan(tuple(scalars), tuple(dict.fromkeys(tables)))


def _rows(reader: Reader, column: _knowledge.WifiColumn, what: str) -> list[int]:
    values = reader.column(oid(column.root), column.column).values()
    return [n for n in (reader.int_(v, _GROUP, what) for v in values) if n is not None]


def _total_and_up(reader: Reader, column: _knowledge.WifiColumn, what: str) -> tuple[int, int] | None:
    """Rows of a radio / AP column and how many are up (every row when the column has no `up`)."""
    if column.up is None:
        rows = len(reader.column(oid(column.root), column.column))
        return (rows, rows) if rows else None
    states = _rows(reader, column, what)
    return (len(states), sum(1 for s in states if s in column.up)) if states else None


def channel_number(reader: Reader, value: SnmpValue | None) -> int | None:
    """A channel as the vendor writes it: a number (Aruba 6.x adds the width above bit 8), or a text with
    the number first (Aruba 8.x: ``116E``, ``53S``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value & 0xFF or None
    if isinstance(value, bytes):
        found = _LEADING_NUMBER.match(value.decode("ascii", "replace"))
        return int(found.group(1)) or None if found else None
    if value is not None:
        reader.note(_GROUP, f"channel: expected a number or a text, got {type(value).__name__}")
    return None


def band_of(channel: int | None) -> WifiBand | None:
    """The band a channel number lies in (None without a channel)."""
    if channel is None:
        return None
    if channel <= 14:
        return "2.4GHz"
    return "5GHz" if channel in _CHANNELS_5GHZ else "6GHz"


def _ap_names(reader: Reader, source: _knowledge.WifiSource) -> dict[Oid, tuple[str, str | None]]:
    """AP index -> (name, model) of a controller's APs."""
    if source.ap_table is None:
        return {}
    table = source.ap_table
    entry = oid(table.root)
    models = reader.column(entry, table.model) if table.model is not None else {}
    found = {}
    for index, value in reader.column(entry, table.name).items():
        name = reader.text(value, _GROUP, "ap name")
        model = reader.text(models.get(index), _GROUP, "ap model")
        found[index] = (name or mac_text(bytes(index)) if len(index) == 6 else name or "", model or None)
    return found


def _state(
    value: int | None, admin: int | None, table: _knowledge.RadioTable
) -> Literal["up", "down"] | None:
    if table.admin is not None and admin is not None and admin not in table.admin_on:
        return None  # switched off on purpose: neither up nor down
    if value in table.state_up:
        return "up"
    if value in table.state_down:
        return "down"
    return None


def _radio_table(reader: Reader, source: _knowledge.WifiSource, ap_model: str | None) -> list[WifiRadio]:
    table = source.radio_table
    assert table is not None
    entry = oid(table.root)

    def column(number: int | None) -> dict[Oid, SnmpValue]:
        return reader.column(entry, number) if number is not None else {}

    clients, channels, load = column(table.clients), column(table.channel), column(table.utilization)
    states, admins, bands, names = (
        column(table.state),
        column(table.admin),
        column(table.band),
        column(table.name),
    )
    if source.utilization_table is not None:
        load = reader.column(oid(source.utilization_table.root), source.utilization_table.column)
    aps = _ap_names(reader, source)
    indexes = sorted(set(clients) | set(channels) | set(states) | set(names))
    radios = []
    for index in indexes:
        ap_index, radio_index = index[: table.ap_index], index[table.ap_index :]
        name, model = aps.get(ap_index, ("", ap_model)) if table.ap_index else ("", ap_model)
        if table.ap_index and not name:
            name = mac_text(bytes(ap_index)) if len(ap_index) == 6 else ".".join(map(str, ap_index))
        channel = channel_number(reader, channels.get(index))
        band_value = reader.int_(bands.get(index), _GROUP, "band")
        radio_name = reader.text(names.get(index), _GROUP, "radio name")
        utilization = reader.int_(load.get(index), _GROUP, "utilization")
        radios.append(
            WifiRadio(
                ap=name,
                radio=radio_name or ".".join(map(str, radio_index)),
                band=table.bands.get(band_value) if band_value is not None else None,
                channel=channel,
                clients=reader.int_(clients.get(index), _GROUP, "radio clients"),
                utilization_percent=float(utilization) if utilization is not None else None,
                state=_state(
                    reader.int_(states.get(index), _GROUP, "radio state"),
                    reader.int_(admins.get(index), _GROUP, "radio admin"),
                    table,
                ),
                ap_model=model,
                ap_mac=mac_text(bytes(ap_index)) if len(ap_index) == 6 else None,
            )
        )
    return radios


def _with_vaps(reader: Reader, source: _knowledge.WifiSource, radios: list[WifiRadio]) -> list[WifiRadio]:
    """UniFi: each radio's clients are its VAPs', its channel theirs (radios named as the VAPs name them)."""
    vap = source.vap_table
    assert vap is not None
    entry = oid(vap.root)
    on_radio = reader.column(entry, vap.radio)
    clients = reader.column(entry, vap.clients)
    channels = reader.column(entry, vap.channel) if vap.channel is not None else {}
    by_name = {r.radio: r for r in radios}
    for index, value in on_radio.items():
        name = reader.text(value, _GROUP, "vap radio")
        if not name:
            continue
        radio = by_name.setdefault(name, WifiRadio(ap="", radio=name))
        count = reader.int_(clients.get(index), _GROUP, "vap clients")
        if count is not None:
            radio.clients = (radio.clients or 0) + count
        if radio.channel is None:
            radio.channel = channel_number(reader, channels.get(index))
    for radio in by_name.values():
        # A radio without a VAP serves no SSID: no clients, but it is not known to be down.
        radio.band = radio.band or _UNIFI_BANDS.get(radio.radio)
    return list(by_name.values())


def decode_radios(reader: Reader, source: _knowledge.WifiSource, ap_model: str | None) -> list[WifiRadio]:
    """Every radio the source's tables list, with its band from the vendor, else from its channel."""
    radios = _radio_table(reader, source, ap_model) if source.radio_table else []
    if source.vap_table:
        radios = _with_vaps(reader, source, radios)
    for radio in radios:
        radio.band = radio.band or band_of(radio.channel)
    return radios


def decode_wifi(reader: Reader, classification: Classification) -> WifiStatus | None:
    """Counts from the first source of this device that answered, or None."""
    for source in _sources(classification):
        status = WifiStatus()
        if source.clients_sum and (clients := _rows(reader, source.clients_sum, "clients")):
            status.clients = sum(clients)
        if source.clients_scalar:
            status.clients = reader.int_(reader.get(oid(source.clients_scalar)), _GROUP, "clients")
        if source.radios and (radios := _total_and_up(reader, source.radios, "radios")):
            status.radios_total, status.radios_up = radios
        if source.aps and (aps := _total_and_up(reader, source.aps, "aps")):
            status.aps_total, status.aps_up = aps
        if source.aps_scalar:
            status.aps_up = status.aps_total = reader.int_(reader.get(oid(source.aps_scalar)), _GROUP, "aps")
        status.radios = decode_radios(reader, source, classification.model)
        if status.radios and status.radios_total is None and any(r.state for r in status.radios):
            status.radios_total = len(status.radios)
            status.radios_up = sum(1 for r in status.radios if r.state == "up")
        if status.clients is None and source.clients_rows and status != WifiStatus():
            # an AP that answers about its radios but lists no client has none associated
            status.clients = len(reader.column(oid(source.clients_rows.root), source.clients_rows.column))
        if status != WifiStatus():
            return status
    return None

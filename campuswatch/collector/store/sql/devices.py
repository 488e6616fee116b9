"""Devices, what discovery found, and the daily supply levels and lamp hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import msgspec

from campuswatch.collector.model import (
    DeviceRecord,
    DeviceUpdate,
    DiscoveredRecord,
    LampHours,
    Outage,
    SupplyLevel,
    polled,
    readable,
)
from campuswatch.collector.store.sql.txn import Database, Query, Txn, filters, rows, where
from campuswatch.report import DiscoveredDevice, PollStatus, encode

_DEVICE_COLUMNS = (
    "d.school, d.device, d.kind, d.label, d.address, d.status, d.last_polled, d.last_seen, "
    "d.consecutive_failures, r.body, d.parent, d.outages"
)
_OUTAGES = msgspec.json.Decoder(tuple[Outage, ...])
_DEVICE_FROM = "devices d LEFT JOIN readings r ON r.school = d.school AND r.device = d.device"
#: The device row alone: its reading (which a poll's fold leaves to the readings table) as NULL.
_ROW_COLUMNS = _DEVICE_COLUMNS.replace("r.body", "NULL")


@dataclass(frozen=True)
class _DailyTable:
    """A table of one value per (school, device, part, day): a part's history for its forecast."""

    table: str
    part: str
    value: str


#: Names in one ``IN (...)`` list: far below SQLite's 32,766 parameters and PostgreSQL's 65,535.
_IN_CHUNK = 500

_SUPPLY_DAYS = _DailyTable("supply_levels", "supply", "remaining")
_LAMP_DAYS = _DailyTable("lamp_hours", "lamp", "hours")


class SqlDevices:
    """:class:`~campuswatch.collector.store.protocols.DeviceStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply_poll(self, update: DeviceUpdate) -> DeviceRecord:
        """Fold the poll into the device row (:func:`~campuswatch.collector.model.polled`) and keep its
        reading, in one transaction."""

        return await self._db.write(_apply_poll(update))

    async def get(self, school: str, device: str) -> DeviceRecord | None:
        """One device or None."""
        found = await self._db.read(_device_rows(*filters(("d.school", school), ("d.device", device))))
        checked = readable(found, _device, "device")
        return checked[0] if checked else None

    async def all(self, *, school: str | None = None) -> list[DeviceRecord]:
        """Devices by school and id."""
        return readable(await self._db.read(_device_rows(*filters(("d.school", school)))), _device, "device")

    async def some(self, school: str, devices: Sequence[str]) -> list[DeviceRecord]:
        """The named devices of a school, a few hundred to a statement."""
        found: list[tuple[Any, ...]] = []
        names = sorted(set(devices))
        for start in range(0, len(names), _IN_CHUNK):
            chunk = names[start : start + _IN_CHUNK]
            condition = f"d.device IN ({', '.join('?' * len(chunk))})"
            found += await self._db.read(_device_rows(["d.school = ?", condition], [school, *chunk]))
        return readable(found, _device, "device")

    async def record_discovered(
        self, school: str, agent_id: str, at: float, devices: list[DiscoveredDevice]
    ) -> None:
        """Upsert each device's row in one transaction: by MAC first, else by an address without a
        different MAC (then it is another device that took the address over)."""

        await self._db.write(_record_discovered(school, agent_id, at, devices))

    async def discovered(self, *, school: str | None = None) -> list[DiscoveredRecord]:
        """Discovered devices by school and address."""
        conditions, params = filters(("school", school))
        sql = (
            "SELECT school, address, mac, agent_id, first_reported, last_reported, body FROM discovered"
            + where(conditions)
            + " ORDER BY school, address"
        )
        return [
            DiscoveredRecord(
                school=row[0],
                address=row[1],
                mac=row[2],
                agent_id=row[3],
                first_reported=row[4],
                last_reported=row[5],
                body=row[6].encode(),
            )
            for row in await self._db.read(rows(sql, params))
        ]

    # -- supply and lamp history: one table each, of the same shape (the day's value of a device's part)
    async def record_supply_levels(
        self, school: str, device: str, day: int, levels: list[tuple[int, float]], *, keep_from_day: int
    ) -> None:
        """Upsert the day's levels and drop the device's older days, in one transaction."""
        await self._db.write(_record_daily(_SUPPLY_DAYS, school, device, day, levels, keep_from_day))

    async def supply_levels(self, *, from_day: int) -> list[SupplyLevel]:
        """Levels from a day on, oldest day first per supply."""
        found = await self._db.read(_list_daily(_SUPPLY_DAYS, from_day))
        return readable(found, lambda row: SupplyLevel(*row), "supply level")

    async def record_lamp_hours(
        self, school: str, device: str, day: int, hours: list[tuple[int, int]], *, keep_from_day: int
    ) -> None:
        """Upsert the day's lamp hours and drop the device's older days, in one transaction."""
        await self._db.write(_record_daily(_LAMP_DAYS, school, device, day, hours, keep_from_day))

    async def lamp_hours(self, *, from_day: int) -> list[LampHours]:
        """Lamp hours from a day on, oldest day first per lamp."""
        found = await self._db.read(_list_daily(_LAMP_DAYS, from_day))
        return readable(found, lambda row: LampHours(*row), "lamp hours")


def _apply_poll(update: DeviceUpdate) -> Txn[DeviceRecord]:
    where_device = filters(("d.school", update.school), ("d.device", update.device))
    # A stored row that makes no sense is as good as none: this poll writes the device anew.
    before = readable((yield from _device_rows(*where_device, with_reading=False)), _device, "device")
    now = polled(before[0] if before else None, update)
    yield Query(
        "INSERT INTO devices (school, device, kind, label, address, status, last_polled, "
        "last_seen, consecutive_failures, parent, outages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (school, device) DO UPDATE SET kind = excluded.kind, "
        "label = excluded.label, address = excluded.address, status = excluded.status, "
        "last_polled = excluded.last_polled, last_seen = excluded.last_seen, "
        "consecutive_failures = excluded.consecutive_failures, parent = excluded.parent, "
        "outages = excluded.outages",
        (
            now.school,
            now.device,
            now.kind,
            now.label,
            now.address,
            now.status,
            now.last_polled,
            now.last_seen,
            now.consecutive_failures,
            now.parent,
            msgspec.json.encode(now.outages).decode(),
        ),
    )
    if update.reading is not None:
        yield Query(
            "INSERT INTO readings (school, device, polled_at, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (school, device) DO UPDATE SET polled_at = excluded.polled_at, "
            "body = excluded.body",
            (update.school, update.device, update.polled_at, update.reading.decode()),
        )
    # The row this write just made, as stored: a reader skips what makes no sense, a writer returns it.
    [device] = yield from _device_rows(*where_device)
    return _device(device)


def _record_discovered(school: str, agent_id: str, at: float, devices: list[DiscoveredDevice]) -> Txn[None]:
    for device in devices:
        row = None
        if device.mac:
            row = (
                yield Query(
                    "SELECT id, last_reported FROM discovered WHERE school = ? AND mac = ?",
                    (school, device.mac),
                )
            ).one()
        if row is None:
            # At the address, a row without a MAC, or (for a device that reports none) any row. The
            # branch is Python's, not SQL's: PostgreSQL cannot type a NULL parameter in `? IS NULL`.
            same_mac = " AND (mac IS NULL OR mac = ?)" if device.mac else ""
            row = (
                yield Query(
                    "SELECT id, last_reported FROM discovered WHERE school = ? AND address = ?" + same_mac,
                    (school, device.address, *([device.mac] if device.mac else [])),
                )
            ).one()
        body = encode(device).decode()
        if row is None:
            yield Query(
                "INSERT INTO discovered (school, address, mac, agent_id, first_reported, "
                "last_reported, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (school, device.address, device.mac, agent_id, at, at, body),
            )
        elif row[1] <= at:
            yield Query(
                "UPDATE discovered SET address = ?, mac = COALESCE(?, mac), agent_id = ?, "
                "last_reported = ?, body = ? WHERE id = ?",
                (device.address, device.mac, agent_id, at, body, row[0]),
            )


def _device_rows(
    conditions: list[str], params: list[Any], *, with_reading: bool = True
) -> Txn[list[tuple[Any, ...]]]:
    columns, source = (_DEVICE_COLUMNS, _DEVICE_FROM) if with_reading else (_ROW_COLUMNS, "devices d")
    sql = f"SELECT {columns} FROM {source}{where(conditions)}"
    return (yield Query(sql + " ORDER BY d.school, d.device", params)).rows


def _device(row: tuple[Any, ...]) -> DeviceRecord:
    return DeviceRecord(
        school=row[0],
        device=row[1],
        kind=row[2],
        label=row[3],
        address=row[4],
        status=cast(PollStatus, row[5]),
        last_polled=row[6],
        last_seen=row[7],
        consecutive_failures=row[8],
        reading=None if row[9] is None else row[9].encode(),
        parent=row[10],
        outages=_OUTAGES.decode(row[11]),
    )


def _record_daily(
    t: _DailyTable,
    school: str,
    device: str,
    day: int,
    values: Sequence[tuple[int, float]],
    keep_from_day: int,
) -> Txn[None]:
    # Table and column names are the constants above, never input: formatting them in is safe.
    yield Query(
        f"INSERT INTO {t.table} (school, device, {t.part}, day, {t.value}) VALUES (?, ?, ?, ?, ?) "
        f"ON CONFLICT (school, device, {t.part}, day) DO UPDATE SET {t.value} = excluded.{t.value}",
        [(school, device, part, day, value) for part, value in values],
        many=True,
    )
    yield Query(
        f"DELETE FROM {t.table} WHERE school = ? AND device = ? AND day < ?",
        (school, device, keep_from_day),
    )


def _list_daily(t: _DailyTable, from_day: int) -> Txn[list[tuple[Any, ...]]]:
    return (
        yield from rows(
            f"SELECT school, device, {t.part}, day, {t.value} FROM {t.table} WHERE day >= ? "
            f"ORDER BY school, device, {t.part}, day",
            (from_day,),
        )
    )

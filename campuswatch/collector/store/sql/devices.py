"""Devices, what discovery found, and the daily supply levels and lamp hours."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import msgspec

from campuswatch.collector.model import (
    EVERYTHING,
    DeviceDays,
    DevicePosition,
    DeviceRecord,
    DeviceWrite,
    DiscoveredPosition,
    DiscoveredRecord,
    LampHours,
    Outage,
    SupplyLevel,
    Window,
    readable,
)
from campuswatch.collector.store.protocols import WrittenMeanwhile
from campuswatch.collector.store.sql.txn import (
    BRIEF_ROWS,
    IN_LIST_MAX,
    Database,
    Listing,
    Query,
    Txn,
    filters,
    listed,
    prune,
    rows,
)
from campuswatch.report import DiscoveredDevice, PollStatus, encode

_DEVICE_COLUMNS = (
    "d.school, d.device, d.kind, d.label, d.address, d.status, d.last_polled, d.last_seen, "
    "d.consecutive_failures, r.body, d.parent, d.outages, d.signature, d.reading_agent, d.reading_seq, "
    "d.measured, d.version"
)
#: A device row's columns as written, after (school, device); the update names the version it read.
_ROW = (
    "kind, label, address, status, last_polled, last_seen, consecutive_failures, parent, outages, "
    "signature, reading_agent, reading_seq, measured, version"
)
_OUTAGES = msgspec.json.Decoder(tuple[Outage, ...])


@dataclass(frozen=True)
class _DailyTable:
    """A table of one value per (school, device, part, day): a part's history for its forecast."""

    table: str
    part: str
    value: str
    #: The day's (part, value) pairs of a device in the table.
    of: Callable[[DeviceDays], Sequence[tuple[int, float]]]


_SUPPLY_DAYS = _DailyTable("supply_levels", "supply", "remaining", lambda d: d.levels)
_LAMP_DAYS = _DailyTable("lamp_hours", "lamp", "hours", lambda d: d.lamp_hours)


class SqlDevices:
    """:class:`~campuswatch.collector.store.protocols.DeviceStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, school: str, device: str) -> DeviceRecord | None:
        """One device or None."""
        found = await listed(self._db, _DEVICES, *filters(("d.school", school), ("d.device", device)))
        return found[0] if found else None

    async def all(
        self, *, school: str | None = None, window: Window[DevicePosition] = EVERYTHING
    ) -> list[DeviceRecord]:
        """Devices by school and id, in the ``window``."""
        return await listed(self._db, _DEVICES, *filters(("d.school", school)), window)

    async def some(self, school: str, devices: Sequence[str]) -> list[DeviceRecord]:
        """The named devices of a school, a few hundred to a statement."""
        found: list[DeviceRecord] = []
        names = sorted(set(devices))
        for start in range(0, len(names), IN_LIST_MAX):
            chunk = names[start : start + IN_LIST_MAX]
            condition = f"d.device IN ({', '.join('?' * len(chunk))})"
            found += await listed(self._db, _DEVICES, ["d.school = ?", condition], [school, *chunk])
        return found

    async def versions(self, school: str) -> dict[str, int]:
        """Each device row's version, readable or not (a write must name the version of a row it
        replaces, also of one :meth:`all` skipped as making no sense)."""
        found = await self._db.read(rows("SELECT device, version FROM devices WHERE school = ?", (school,)))
        return {device: version for device, version in found}

    async def discovered(
        self, *, school: str | None = None, window: Window[DiscoveredPosition] = EVERYTHING
    ) -> list[DiscoveredRecord]:
        """Discovered devices by school, address and MAC, in the ``window``."""
        return await listed(self._db, _DISCOVERED, *filters(("school", school)), window)

    async def prune_discovered(self, reported_before: float) -> int:
        """Forget discovered devices last reported before the given time, in chunks."""
        return await prune(self._db, "discovered", "id", "last_reported < ?", (reported_before,))

    async def prune_history(self, before_day: int) -> int:
        """Delete the daily supply levels and lamp hours of days before ``before_day`` (of devices no
        longer polled: a polled device's own writes forget its old days), in chunks."""
        deleted = 0
        for t in (_SUPPLY_DAYS, _LAMP_DAYS):
            deleted += await prune(
                self._db, t.table, f"school, device, {t.part}, day", "day < ?", (before_day,)
            )
        return deleted

    # -- supply and lamp history: one table each, of the same shape (the day's value of a device's part)
    async def record_days(self, days: Sequence[DeviceDays]) -> None:
        """Upsert each device's day and drop its older days, all in one transaction (a report's devices'
        changes at once: a transaction each kept the database's thread from the reports behind them)."""
        if days:
            size = sum(1 + len(d.levels) + len(d.lamp_hours) for d in days)
            await self._db.write(_record_days(days), brief=size <= BRIEF_ROWS)

    async def supply_levels(self, *, from_day: int) -> list[SupplyLevel]:
        """Levels from a day on, oldest day first per supply."""
        found = await self._db.read(_list_daily(_SUPPLY_DAYS, from_day))
        return readable(found, lambda row: SupplyLevel(*row), "supply level")

    async def lamp_hours(self, *, from_day: int) -> list[LampHours]:
        """Lamp hours from a day on, oldest day first per lamp."""
        found = await self._db.read(_list_daily(_LAMP_DAYS, from_day))
        return readable(found, lambda row: LampHours(*row), "lamp hours")


def write_devices(writes: Sequence[DeviceWrite]) -> Txn[None]:
    """Insert the new devices and update the known ones at the version they were read at, with their
    new readings; raises :class:`WrittenMeanwhile` if any row moved on meanwhile."""
    new = [w for w in writes if w.read_version is None]
    known = [w for w in writes if w.read_version is not None and not w.touch]
    touched = [w for w in writes if w.read_version is not None and w.touch]
    written = 0
    if new:
        marks = ", ".join("?" * (2 + len(_ROW.split(", "))))
        written += (
            yield Query(
                f"INSERT INTO devices (school, device, {_ROW}) VALUES ({marks}) "
                "ON CONFLICT (school, device) DO NOTHING",
                [(w.record.school, w.record.device, *_row(w)) for w in new],
                many=True,
            )
        ).rowcount
    if known:
        assignments = ", ".join(f"{column} = ?" for column in _ROW.split(", "))
        written += (
            yield Query(
                f"UPDATE devices SET {assignments} WHERE school = ? AND device = ? AND version = ?",
                [(*_row(w), w.record.school, w.record.device, w.read_version) for w in known],
                many=True,
            )
        ).rowcount
    for start in range(0, len(touched), _TOUCHED_PER_STATEMENT):
        # A poll that changed nothing: only its own columns (most polls; fewer values to bind and write),
        # for many devices in one statement: a statement costs its binding and stepping, whatever it
        # writes (on SQLite's thread each one also handed the GIL back and forth with the event loop).
        chunk = touched[start : start + _TOUCHED_PER_STATEMENT]
        written += (
            yield Query(
                _touch_statement(len(chunk)),
                [
                    value
                    for w in chunk
                    for value in (
                        w.record.status,
                        w.record.last_polled,
                        w.record.last_seen,
                        w.record.consecutive_failures,
                        None if w.record.measured is None else w.record.measured.decode(),
                        w.record.school,
                        w.record.device,
                        w.read_version,
                    )
                ],
            )
        ).rowcount
    if written != len(writes):
        raise WrittenMeanwhile("a device of the report was written meanwhile")
    readings = [
        (w.record.school, w.record.device, w.record.last_polled, w.record.reading.decode())
        for w in writes
        if w.new_reading and w.record.reading is not None
    ]
    if readings:
        yield Query(
            "INSERT INTO readings (school, device, polled_at, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (school, device) DO UPDATE SET polled_at = excluded.polled_at, body = excluded.body",
            readings,
            many=True,
        )


#: Devices a touch statement updates at most: 8 values each, within SQLite's oldest parameter limit (999).
_TOUCHED_PER_STATEMENT = 100
#: The types of a touch's values (status, last polled and seen, failures, measurements, school, device,
#: the version read), cast in the first row so that both databases read them alike: PostgreSQL gives a
#: VALUES column the type its rows have in common, and the other rows' values (psycopg sends text and
#: None untyped) take the first row's; SQLite's affinity takes these names as PostgreSQL means them.
_TOUCH_TYPES = ("TEXT", "DOUBLE PRECISION", "DOUBLE PRECISION", "INTEGER", "TEXT", "TEXT", "TEXT", "BIGINT")


@cache
def _touch_statement(devices: int) -> str:
    """One UPDATE of the poll's own columns for ``devices`` devices, each at the version it was read."""
    first = "(" + ", ".join(f"CAST(? AS {t})" for t in _TOUCH_TYPES) + ")"
    rest = ["(" + ", ".join("?" * len(_TOUCH_TYPES)) + ")"] * (devices - 1)
    return (
        "UPDATE devices SET status = v.column1, last_polled = v.column2, last_seen = v.column3, "
        "consecutive_failures = v.column4, measured = v.column5, version = devices.version + 1 "
        f"FROM (VALUES {', '.join([first, *rest])}) AS v "
        "WHERE devices.school = v.column6 AND devices.device = v.column7 AND devices.version = v.column8"
    )


def _row(w: DeviceWrite) -> tuple[Any, ...]:
    """A device row's values in the order of :data:`_ROW`, at the version after the write."""
    r = w.record
    return (
        r.kind,
        r.label,
        r.address,
        r.status,
        r.last_polled,
        r.last_seen,
        r.consecutive_failures,
        r.parent,
        msgspec.json.encode(r.outages).decode(),
        r.signature,
        r.reading_agent,
        r.reading_seq,
        None if r.measured is None else r.measured.decode(),
        0 if w.read_version is None else w.read_version + 1,
    )


def upsert_discovered(
    school: str, agent_id: str, at: float, devices: Sequence[DiscoveredDevice]
) -> Txn[None]:
    """Upsert each discovered device's row: by MAC first, else by an address without a different MAC
    (then it is another device that took the address over); an older report changes nothing."""
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
        signature=row[12],
        reading_agent=row[13],
        reading_seq=row[14],
        measured=None if row[15] is None else row[15].encode(),
        version=row[16],
    )


#: Devices by school and id (the table's primary key), each with its latest reading.
_DEVICES = Listing(
    select=(
        f"SELECT {_DEVICE_COLUMNS} FROM devices d "
        "LEFT JOIN readings r ON r.school = d.school AND r.device = d.device"
    ),
    key=("d.school", "d.device"),
    key_at=(0, 1),
    school="d.school",
    school_at=0,
    build=_device,
    what="device",
)


def _record_days(days: Sequence[DeviceDays]) -> Txn[None]:
    for t in (_SUPPLY_DAYS, _LAMP_DAYS):
        written = [d for d in days if t.of(d)]
        if not written:
            continue
        # Table and column names are the constants above, never input: formatting them in is safe.
        yield Query(
            f"INSERT INTO {t.table} (school, device, {t.part}, day, {t.value}) VALUES (?, ?, ?, ?, ?) "
            f"ON CONFLICT (school, device, {t.part}, day) DO UPDATE SET {t.value} = excluded.{t.value}",
            [(d.school, d.device, part, d.day, value) for d in written for part, value in t.of(d)],
            many=True,
        )
        yield Query(
            f"DELETE FROM {t.table} WHERE school = ? AND device = ? AND day < ?",
            [(d.school, d.device, d.keep_from_day) for d in written],
            many=True,
        )


def _list_daily(t: _DailyTable, from_day: int) -> Txn[list[tuple[Any, ...]]]:
    return (
        yield from rows(
            f"SELECT school, device, {t.part}, day, {t.value} FROM {t.table} WHERE day >= ? "
            f"ORDER BY school, device, {t.part}, day",
            (from_day,),
        )
    )


def _discovered(row: tuple[Any, ...]) -> DiscoveredRecord:
    return DiscoveredRecord(
        school=row[0],
        address=row[1],
        mac=row[2],
        agent_id=row[3],
        first_reported=row[4],
        last_reported=row[5],
        body=row[6].encode(),
    )


#: Discovered devices by school, address and MAC (none first), index ``discovered_order``.
_DISCOVERED = Listing(
    select=(
        "SELECT school, address, mac, agent_id, first_reported, last_reported, body, COALESCE(mac, '') "
        "FROM discovered"
    ),
    key=("school", "address", "COALESCE(mac, '')"),
    key_at=(0, 1, 7),
    school="school",
    school_at=0,
    build=_discovered,
    what="discovered device",
)

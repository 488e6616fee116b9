"""The :class:`~campuswatch.collector.store.base.Store` on one SQLite file (WAL), every call on one worker thread.

sqlite3 blocks, so each operation runs as a function on a single dedicated thread that owns the
connection: the event loop never waits on the disk, and writes are serialised without SQLite's busy
retries. Every write is one transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``), rolled back on any error.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from campuswatch import sqlite
from campuswatch.collector.model import (
    AgentRecord,
    DeviceRecord,
    DeviceUpdate,
    DiscoveredRecord,
    EventRecord,
    LampHours,
    NewEvent,
    ProblemKey,
    ProblemRecord,
    School,
    Silence,
    StoredBatch,
    SupplyLevel,
    TicketNote,
    TicketRecord,
    TicketState,
)
from campuswatch.collector.store.base import AgentOfAnotherSchool, StoreError, UnknownTicket
from campuswatch.collector.store.schema import MIGRATIONS
from campuswatch.report import DiscoveredDevice, PollStatus, Severity, encode

T = TypeVar("T")

#: Events deleted per transaction when pruning: small enough not to hold up a report for long.
_PRUNE_CHUNK = 5000

_DEVICE_COLUMNS = (
    "d.school, d.device, d.kind, d.label, d.address, d.status, d.last_polled, d.last_seen, "
    "d.consecutive_failures, r.body, d.parent"
)
_DEVICE_FROM = "devices d LEFT JOIN readings r ON r.school = d.school AND r.device = d.device"
_PROBLEM_COLUMNS = (
    "id, school, device, code, subject, state, severity, summary, opened_at, resolved_at, ticket_ref, "
    "affected, seen_at"
)
_SILENCE_COLUMNS = "id, school, device, code, starts_at, ends_at, comment, created_by, created_at"
_TICKET_COLUMNS = (
    "id, dedup_key, school, device, problem_code, title, body, priority, assignee, state, opened_at, "
    "resolved_at"
)


class SqliteStore:
    """SQLite implementation of the collector's store. Create with :meth:`open`."""

    def __init__(self, path: Path, executor: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self.path = path
        self._executor = executor
        self._conn = conn

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_s: float = 5.0) -> SqliteStore:
        """Open (creating parent directories and file) and migrate the database at ``path``.

        ``busy_timeout_s``: how long a write waits for another process's lock (a backup, an admin's
        sqlite3 shell) before it fails and the agent is told to retry later.
        """
        p = Path(path)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(executor, _connect, p, busy_timeout_s)
        except StoreError:
            executor.shutdown(wait=False)
            raise
        except (sqlite3.Error, OSError) as err:
            executor.shutdown(wait=False)
            raise StoreError(f"cannot open database {p}: {err}") from err
        return cls(p, executor, conn)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, self._conn)
        except sqlite3.Error as err:
            raise StoreError(f"database {self.path}: {err}") from err

    async def close(self) -> None:
        """Close the connection on its own thread, then stop the thread."""
        await self._run(lambda conn: conn.close())
        self._executor.shutdown(wait=True)

    # -- schools and tokens
    async def upsert_schools(self, schools: list[School]) -> None:
        """Add or rename schools by id."""

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                conn.executemany(
                    "INSERT INTO schools (id, name, campus_manager) VALUES (?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                    "campus_manager = excluded.campus_manager",
                    [(s.id, s.name, s.campus_manager) for s in schools],
                )

        await self._run(op)

    async def list_schools(self) -> list[School]:
        """All known schools, by id."""
        rows = await self._run(
            lambda conn: conn.execute("SELECT id, name, campus_manager FROM schools ORDER BY id").fetchall()
        )
        return [School(*row) for row in rows]

    async def add_token(self, token_hash: str, school: str, created_at: float) -> None:
        """Bind a token hash to a school."""

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                conn.execute(
                    "INSERT INTO tokens (token_hash, school, created_at) VALUES (?, ?, ?)",
                    (token_hash, school, created_at),
                )

        await self._run(op)

    async def school_for_token(self, token_hash: str) -> str | None:
        """The school bound to a token hash."""
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT school FROM tokens WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        )
        return None if row is None else cast(str, row[0])

    # -- agents and events
    async def store_events(
        self, agent_id: str, school: str, events: list[NewEvent], received_at: float
    ) -> StoredBatch:
        """Insert each event unless (agent_id, seq) is already there; all or nothing."""

        def op(conn: sqlite3.Connection) -> StoredBatch:
            stored: list[int] = []
            with sqlite.transaction(conn):
                registered = conn.execute(
                    "SELECT school FROM agents WHERE agent_id = ?", (agent_id,)
                ).fetchone()
                if registered is not None and registered[0] != school:
                    raise AgentOfAnotherSchool(agent_id, registered[0])
                conn.execute(
                    "INSERT INTO agents (agent_id, school, first_seen, last_seen) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (agent_id) DO UPDATE SET last_seen = excluded.last_seen",
                    (agent_id, school, received_at, received_at),
                )
                for ev in events:
                    cur = conn.execute(
                        "INSERT INTO events (agent_id, seq, school, device, type, at, received_at, body) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, seq) DO NOTHING",
                        (agent_id, ev.seq, school, ev.device, ev.type, ev.at, received_at, ev.body.decode()),
                    )
                    if cur.rowcount == 1:
                        stored.append(ev.seq)
                row = conn.execute("SELECT MAX(seq) FROM events WHERE agent_id = ?", (agent_id,)).fetchone()
            return StoredBatch(
                stored_seqs=tuple(stored),
                duplicates=len(events) - len(stored),
                acked_seq=0 if row[0] is None else int(row[0]),
            )

        return await self._run(op)

    async def prune_events(self, received_before: float) -> int:
        """Delete old events in chunks, each its own transaction, so reports keep flowing meanwhile."""

        def chunk(conn: sqlite3.Connection) -> int:
            with sqlite.transaction(conn):
                cur = conn.execute(
                    "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.received_at < ? "
                    "AND e.seq < (SELECT MAX(n.seq) FROM events n WHERE n.agent_id = e.agent_id) LIMIT ?)",
                    (received_before, _PRUNE_CHUNK),
                )
                return cur.rowcount

        deleted = 0
        while (count := await self._run(chunk)) > 0:
            deleted += count
        return deleted

    async def record_heartbeat(self, agent_id: str, at: float) -> None:
        """Keep the newest heartbeat time of an agent."""

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                conn.execute(
                    "UPDATE agents SET last_heartbeat = ? "
                    "WHERE agent_id = ? AND (last_heartbeat IS NULL OR last_heartbeat < ?)",
                    (at, agent_id, at),
                )

        await self._run(op)

    async def list_agents(self) -> list[AgentRecord]:
        """All agents, by id."""
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT agent_id, school, first_seen, last_seen, last_heartbeat FROM agents ORDER BY agent_id"
            ).fetchall()
        )
        return [AgentRecord(*row) for row in rows]

    async def list_events(
        self, *, school: str | None, device: str | None, since: float | None, limit: int
    ) -> list[EventRecord]:
        """Events oldest first (by time, then agent and seq)."""
        where, params = _filters(("school", school), ("device", device))
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        sql = (
            "SELECT agent_id, seq, school, device, type, at, received_at, body FROM events"
            + _where(where)
            + " ORDER BY at, agent_id, seq LIMIT ?"
        )
        rows = await self._run(lambda conn: conn.execute(sql, (*params, limit)).fetchall())
        return [
            EventRecord(
                agent_id=row[0],
                seq=row[1],
                school=row[2],
                device=row[3],
                type=row[4],
                at=row[5],
                received_at=row[6],
                body=row[7].encode(),
            )
            for row in rows
        ]

    # -- devices
    async def apply_poll(self, update: DeviceUpdate) -> DeviceRecord:
        """Update the device row and its latest reading; count repeated failures of the same kind."""

        def op(conn: sqlite3.Connection) -> DeviceRecord:
            with sqlite.transaction(conn):
                row = conn.execute(
                    "SELECT status, consecutive_failures FROM devices WHERE school = ? AND device = ?",
                    (update.school, update.device),
                ).fetchone()
                failures = 0
                if update.status != "ok":
                    # A run of the same failure counts up; a different failure starts a new run.
                    same = row is not None and row[0] == update.status
                    failures = (int(row[1]) if same else 0) + 1
                conn.execute(
                    "INSERT INTO devices (school, device, kind, label, address, status, last_polled, "
                    "last_seen, consecutive_failures, parent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (school, device) DO UPDATE SET kind = COALESCE(?, devices.kind), "
                    "label = excluded.label, address = excluded.address, status = excluded.status, "
                    "parent = excluded.parent, "
                    "last_polled = excluded.last_polled, "
                    "last_seen = COALESCE(excluded.last_seen, devices.last_seen), "
                    "consecutive_failures = excluded.consecutive_failures",
                    (
                        update.school,
                        update.device,
                        update.kind or "unknown",
                        update.label,
                        update.address,
                        update.status,
                        update.polled_at,
                        # Auth failures and errors are answers too: only silence leaves last_seen alone.
                        None if update.status == "unreachable" else update.polled_at,
                        failures,
                        update.parent,
                        update.kind,
                    ),
                )
                if update.reading is not None:
                    conn.execute(
                        "INSERT INTO readings (school, device, polled_at, body) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (school, device) DO UPDATE SET polled_at = excluded.polled_at, "
                        "body = excluded.body",
                        (update.school, update.device, update.polled_at, update.reading.decode()),
                    )
                return _fetch_devices(
                    conn, *_filters(("d.school", update.school), ("d.device", update.device))
                )[0]

        return await self._run(op)

    async def get_device(self, school: str, device: str) -> DeviceRecord | None:
        """One device or None."""
        where, params = _filters(("d.school", school), ("d.device", device))
        found = await self._run(lambda conn: _fetch_devices(conn, where, params))
        return found[0] if found else None

    async def list_devices(self, *, school: str | None = None) -> list[DeviceRecord]:
        """Devices by school and id."""
        where, params = _filters(("d.school", school))
        return await self._run(lambda conn: _fetch_devices(conn, where, params))

    # -- what discovery found
    async def record_discovered(
        self, school: str, agent_id: str, at: float, devices: list[DiscoveredDevice]
    ) -> None:
        """Upsert each device's row in one transaction: by MAC first, else by an address without a
        different MAC (then it is another device that took the address over)."""

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                for device in devices:
                    row = None
                    if device.mac:
                        row = conn.execute(
                            "SELECT id, last_reported FROM discovered WHERE school = ? AND mac = ?",
                            (school, device.mac),
                        ).fetchone()
                    if row is None:
                        row = conn.execute(
                            "SELECT id, last_reported FROM discovered WHERE school = ? AND address = ? "
                            "AND (mac IS NULL OR ? IS NULL OR mac = ?)",
                            (school, device.address, device.mac, device.mac),
                        ).fetchone()
                    body = encode(device).decode()
                    if row is None:
                        conn.execute(
                            "INSERT INTO discovered (school, address, mac, agent_id, first_reported, "
                            "last_reported, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (school, device.address, device.mac, agent_id, at, at, body),
                        )
                    elif row[1] <= at:
                        conn.execute(
                            "UPDATE discovered SET address = ?, mac = COALESCE(?, mac), agent_id = ?, "
                            "last_reported = ?, body = ? WHERE id = ?",
                            (device.address, device.mac, agent_id, at, body, row[0]),
                        )

        await self._run(op)

    async def list_discovered(self, *, school: str | None = None) -> list[DiscoveredRecord]:
        """Discovered devices by school and address."""
        where, params = _filters(("school", school))
        sql = (
            "SELECT school, address, mac, agent_id, first_reported, last_reported, body FROM discovered"
            + _where(where)
            + " ORDER BY school, address"
        )
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
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
            for row in rows
        ]

    # -- supply and lamp history: one table each, of the same shape (the day's value of a device's part)
    async def record_supply_levels(
        self, school: str, device: str, day: int, levels: list[tuple[int, float]], *, keep_from_day: int
    ) -> None:
        """Upsert the day's levels and drop the device's older days, in one transaction."""
        await self._run(
            lambda conn: _record_daily(conn, _SUPPLY_DAYS, school, device, day, levels, keep_from_day)
        )

    async def list_supply_levels(self, *, from_day: int) -> list[SupplyLevel]:
        """Levels from a day on, oldest day first per supply."""
        rows = await self._run(lambda conn: _list_daily(conn, _SUPPLY_DAYS, from_day))
        return [SupplyLevel(*row) for row in rows]

    async def record_lamp_hours(
        self, school: str, device: str, day: int, hours: list[tuple[int, int]], *, keep_from_day: int
    ) -> None:
        """Upsert the day's lamp hours and drop the device's older days, in one transaction."""
        await self._run(
            lambda conn: _record_daily(conn, _LAMP_DAYS, school, device, day, hours, keep_from_day)
        )

    async def list_lamp_hours(self, *, from_day: int) -> list[LampHours]:
        """Lamp hours from a day on, oldest day first per lamp."""
        rows = await self._run(lambda conn: _list_daily(conn, _LAMP_DAYS, from_day))
        return [LampHours(*row) for row in rows]

    # -- problems
    async def list_open_problems(
        self, *, school: str | None = None, device: str | None = None
    ) -> list[ProblemRecord]:
        """Open problems by school, device, code, subject."""
        where, params = _filters(("school", school), ("device", device))
        where.append("state = 'open'")
        sql = f"SELECT {_PROBLEM_COLUMNS} FROM problems{_where(where)} ORDER BY school, device, code, subject"
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [_problem(row) for row in rows]

    async def open_problem(
        self, key: ProblemKey, severity: Severity, summary: str, at: float
    ) -> ProblemRecord:
        """Insert an open problem unless one with this identity is open already."""

        def op(conn: sqlite3.Connection) -> ProblemRecord:
            identity = (key.school, key.device, key.code, key.subject)
            with sqlite.transaction(conn):
                conn.execute(
                    "INSERT INTO problems (school, device, code, subject, state, severity, summary, "
                    "opened_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?) "
                    "ON CONFLICT (school, device, code, subject) WHERE state = 'open' DO NOTHING",
                    (*identity, severity, summary, at),
                )
                row = conn.execute(
                    f"SELECT {_PROBLEM_COLUMNS} FROM problems WHERE school = ? AND device = ? "
                    "AND code = ? AND subject = ? AND state = 'open'",
                    identity,
                ).fetchone()
            return _problem(row)

        return await self._run(op)

    async def last_resolved_problem(self, key: ProblemKey) -> ProblemRecord | None:
        """The newest resolved problem of an identity."""
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_PROBLEM_COLUMNS} FROM problems WHERE school = ? AND device = ? AND code = ? "
                "AND subject = ? AND state = 'resolved' ORDER BY resolved_at DESC LIMIT 1",
                (key.school, key.device, key.code, key.subject),
            ).fetchone()
        )
        return None if row is None else _problem(row)

    async def resolve_problem(self, problem_id: int, at: float) -> ProblemRecord:
        """Resolve a problem by id (a resolved one stays as it was)."""

        def op(conn: sqlite3.Connection) -> ProblemRecord:
            with sqlite.transaction(conn):
                conn.execute(
                    "UPDATE problems SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'open'",
                    (at, problem_id),
                )
                row = conn.execute(
                    f"SELECT {_PROBLEM_COLUMNS} FROM problems WHERE id = ?", (problem_id,)
                ).fetchone()
            if row is None:
                raise StoreError(f"no problem with id {problem_id}")
            return _problem(row)

        return await self._run(op)

    async def set_problem_ticket(self, problem_id: int, ticket_ref: str) -> None:
        """Remember a problem's ticket."""

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                conn.execute("UPDATE problems SET ticket_ref = ? WHERE id = ?", (ticket_ref, problem_id))

        await self._run(op)

    async def set_problem_affected(self, problem_id: int, affected: tuple[str, ...]) -> None:
        """Replace the devices a root problem explains."""

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                conn.execute(
                    "UPDATE problems SET affected = ? WHERE id = ?", (json.dumps(list(affected)), problem_id)
                )

        await self._run(op)

    async def mark_problems_seen(self, problem_ids: list[int], at: float) -> None:
        """Set ``seen_at`` of open problems, in one transaction."""
        if not problem_ids:
            return

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                conn.executemany(
                    "UPDATE problems SET seen_at = ? WHERE id = ? AND state = 'open'",
                    [(at, problem_id) for problem_id in problem_ids],
                )

        await self._run(op)

    # -- silences
    async def add_silence(
        self,
        *,
        school: str,
        device: str,
        code: str,
        starts_at: float,
        ends_at: float,
        comment: str,
        created_by: str,
        at: float,
    ) -> Silence:
        """Store a silence and return it with its id."""

        def op(conn: sqlite3.Connection) -> Silence:
            with sqlite.transaction(conn):
                cur = conn.execute(
                    "INSERT INTO silences (school, device, code, starts_at, ends_at, comment, created_by, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (school, device, code, starts_at, ends_at, comment, created_by, at),
                )
            assert cur.lastrowid is not None
            return Silence(cur.lastrowid, school, device, code, starts_at, ends_at, comment, created_by, at)

        return await self._run(op)

    async def list_silences(self, *, school: str | None = None) -> list[Silence]:
        """Silences, soonest-ending first."""
        where, params = _filters(("school", school))
        sql = f"SELECT {_SILENCE_COLUMNS} FROM silences{_where(where)} ORDER BY ends_at, id"
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [Silence(*row) for row in rows]

    async def end_silence(self, silence_id: int, at: float) -> Silence | None:
        """End a silence at ``at`` (one already over stays as it was)."""

        def op(conn: sqlite3.Connection) -> Silence | None:
            with sqlite.transaction(conn):
                conn.execute(
                    "UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?", (at, silence_id, at)
                )
                row = conn.execute(
                    f"SELECT {_SILENCE_COLUMNS} FROM silences WHERE id = ?", (silence_id,)
                ).fetchone()
            return None if row is None else Silence(*row)

        return await self._run(op)

    # -- tickets
    async def create_ticket(
        self,
        *,
        dedup_key: str,
        school: str,
        device: str | None,
        problem_code: str,
        title: str,
        body: str,
        priority: str,
        assignee: str | None,
        at: float,
    ) -> TicketRecord:
        """Create an open ticket with an ``opened`` note, or return the open one with this key."""

        def op(conn: sqlite3.Connection) -> TicketRecord:
            with sqlite.transaction(conn):
                existing = conn.execute(
                    "SELECT id FROM tickets WHERE dedup_key = ? AND state = 'open'", (dedup_key,)
                ).fetchone()
                if existing is None:
                    cur = conn.execute(
                        "INSERT INTO tickets (dedup_key, school, device, problem_code, title, body, "
                        "priority, assignee, state, opened_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)",
                        (dedup_key, school, device, problem_code, title, body, priority, assignee, at),
                    )
                    ticket_id = cast(int, cur.lastrowid)
                    _insert_note(conn, ticket_id, TicketNote(at=at, kind="opened", text=body))
                else:
                    ticket_id = int(existing[0])
                ticket = _fetch_ticket(conn, ticket_id)
            assert ticket is not None  # written in this very transaction
            return ticket

        return await self._run(op)

    async def add_ticket_note(self, ticket_id: int, note: TicketNote) -> None:
        """Append a note."""

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                _require_ticket(conn, ticket_id)
                _insert_note(conn, ticket_id, note)

        await self._run(op)

    async def set_ticket_state(self, ticket_id: int, state: TicketState, note: TicketNote) -> None:
        """Resolve or reopen, with the note that says why."""

        def op(conn: sqlite3.Connection) -> None:
            with sqlite.transaction(conn):
                _require_ticket(conn, ticket_id)
                conn.execute(
                    "UPDATE tickets SET state = ?, resolved_at = ? WHERE id = ?",
                    (state, note.at if state == "resolved" else None, ticket_id),
                )
                _insert_note(conn, ticket_id, note)

        await self._run(op)

    async def get_ticket(self, ticket_id: int) -> TicketRecord | None:
        """One ticket with its history."""
        return await self._run(lambda conn: _fetch_ticket(conn, ticket_id))

    async def list_tickets(
        self, *, state: TicketState | None = None, school: str | None = None
    ) -> list[TicketRecord]:
        """Tickets newest first, without history."""
        where, params = _filters(("state", state), ("school", school))
        sql = f"SELECT {_TICKET_COLUMNS} FROM tickets{_where(where)} ORDER BY opened_at DESC, id DESC"
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [_ticket(row, ()) for row in rows]


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    # NORMAL is durable across process crashes in WAL mode; only a power cut may lose the last commits.
    conn = sqlite.connect(path, synchronous="NORMAL", busy_timeout_s=busy_timeout_s)
    try:
        sqlite.migrate(conn, MIGRATIONS, path=path, program="collector")
    except sqlite.SchemaTooNew as err:
        conn.close()
        raise StoreError(str(err)) from None
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass(frozen=True)
class _DailyTable:
    """A table of one value per (school, device, part, day): a part's history for its forecast."""

    table: str
    part: str
    value: str


_SUPPLY_DAYS = _DailyTable("supply_levels", "supply", "remaining")
_LAMP_DAYS = _DailyTable("lamp_hours", "lamp", "hours")


def _record_daily(
    conn: sqlite3.Connection,
    t: _DailyTable,
    school: str,
    device: str,
    day: int,
    values: Sequence[tuple[int, float]],
    keep_from_day: int,
) -> None:
    # Table and column names are the constants above, never input: formatting them in is safe.
    with sqlite.transaction(conn):
        conn.executemany(
            f"INSERT INTO {t.table} (school, device, {t.part}, day, {t.value}) VALUES (?, ?, ?, ?, ?) "
            f"ON CONFLICT (school, device, {t.part}, day) DO UPDATE SET {t.value} = excluded.{t.value}",
            [(school, device, part, day, value) for part, value in values],
        )
        conn.execute(
            f"DELETE FROM {t.table} WHERE school = ? AND device = ? AND day < ?",
            (school, device, keep_from_day),
        )


def _list_daily(conn: sqlite3.Connection, t: _DailyTable, from_day: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT school, device, {t.part}, day, {t.value} FROM {t.table} WHERE day >= ? "
        f"ORDER BY school, device, {t.part}, day",
        (from_day,),
    ).fetchall()


def _filters(*pairs: tuple[str, object | None]) -> tuple[list[str], list[Any]]:
    where = [f"{column} = ?" for column, value in pairs if value is not None]
    return where, [value for _, value in pairs if value is not None]


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def _fetch_devices(conn: sqlite3.Connection, where: list[str], params: list[Any]) -> list[DeviceRecord]:
    sql = f"SELECT {_DEVICE_COLUMNS} FROM {_DEVICE_FROM}{_where(where)}"
    rows = conn.execute(sql + " ORDER BY d.school, d.device", params).fetchall()
    return [
        DeviceRecord(
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
        )
        for row in rows
    ]


def _problem(row: tuple[Any, ...]) -> ProblemRecord:
    return ProblemRecord(
        id=row[0],
        key=ProblemKey(school=row[1], device=row[2], code=row[3], subject=row[4]),
        state=row[5],
        severity=row[6],
        summary=row[7],
        opened_at=row[8],
        resolved_at=row[9],
        ticket_ref=row[10],
        affected=tuple(json.loads(row[11])),
        seen_at=row[12],
    )


def _require_ticket(conn: sqlite3.Connection, ticket_id: int) -> None:
    if conn.execute("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)).fetchone() is None:
        raise UnknownTicket(f"no ticket with id {ticket_id}")


def _insert_note(conn: sqlite3.Connection, ticket_id: int, note: TicketNote) -> None:
    conn.execute(
        "INSERT INTO ticket_notes (ticket_id, at, kind, text) VALUES (?, ?, ?, ?)",
        (ticket_id, note.at, note.kind, note.text),
    )


def _fetch_ticket(conn: sqlite3.Connection, ticket_id: int) -> TicketRecord | None:
    row = conn.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    notes = conn.execute(
        "SELECT at, kind, text FROM ticket_notes WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    ).fetchall()
    return _ticket(row, tuple(TicketNote(*note) for note in notes))


def _ticket(row: tuple[Any, ...], history: tuple[TicketNote, ...]) -> TicketRecord:
    return TicketRecord(
        id=row[0],
        dedup_key=row[1],
        school=row[2],
        device=row[3],
        problem_code=row[4],
        title=row[5],
        body=row[6],
        priority=row[7],
        assignee=row[8],
        state=row[9],
        opened_at=row[10],
        resolved_at=row[11],
        history=history,
    )

"""The agent's durable outbox: every event is numbered, written to SQLite on disk, and kept until acked.

Store-and-forward is what lets a school lose its uplink for days without losing a report. An event gets
its sequence number when it is added (one counter per outbox, so per agent, monotonic across restarts
because the counter lives in the same file and transaction as the event); the sender reads batches
oldest first and deletes only what the collector acknowledged. A crash at any point leaves either the
event stored with its number or not stored at all, never half of it.

Disk use is bounded by ``max_bytes`` (the encoded events; SQLite's page overhead comes on top, see
:attr:`OutboxStats.file_bytes`). When an outage fills the budget, the outbox sheds what carries no news:

1. superseded samples, oldest first: a poll whose status, problem set and reported states (of its
   supplies and trays) equal the device's previous poll, or a heartbeat, when a newer one of the same
   key is queued;
2. then the remaining latest samples, oldest first;
3. never a state change (a poll whose status, problems or states differ from the device's previous poll, the
   first poll of a device, or a discovery result: it names only the devices new or changed since the
   previous run, news no later result repeats). If state changes alone exceed the budget, the outbox
   keeps them, goes over the bound, and says so (``over_bound`` and a warning): losing an outage's
   alarms is worse than disk.

All methods are synchronous and thread-safe (one connection behind a lock): an add is one short
transaction, but with ``synchronous=FULL`` it waits for an fsync, so callers on the event loop run it
with ``asyncio.to_thread``. :meth:`stats` reads only memory and is safe to call on the loop.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from campuswatch import sqlite
from campuswatch.report import (
    AnyEvent,
    DevicePoll,
    DiscoveredDevice,
    DiscoveryEvent,
    Heartbeat,
    HeartbeatEvent,
    PollEvent,
    encode,
    encode_within_bounds,
)

log = logging.getLogger(__name__)

#: Default disk budget for queued events (``outbox_max_bytes`` in agent.yaml): days of a mid-sized school's
#: polls before unchanged samples are shed, far below the free space of the smallest gateway we run on.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

#: Coalescing frees down to this fraction of the budget, so a full outbox does not rescan on every add.
_LOW_WATER = 0.9

#: The outbox's schema. Step 1 says IF NOT EXISTS: outboxes made before migrations were numbered have
#: these tables already and no schema_version yet.
MIGRATIONS: sqlite.Migrations = (
    (
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        """CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            -- NULL: a state change, never dropped; else the key of samples that supersede each other
            coalesce_key TEXT,
            body BLOB NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS events_by_key ON events (coalesce_key, seq) WHERE coalesce_key IS NOT NULL",
        "CREATE TABLE IF NOT EXISTS device_state (device TEXT PRIMARY KEY, signature BLOB NOT NULL)",
        """CREATE TABLE IF NOT EXISTS parked (
            seq INTEGER PRIMARY KEY,
            parked_at REAL NOT NULL,
            reason TEXT NOT NULL,
            body BLOB NOT NULL
        )""",
    ),
)

#: Samples that are not the newest of their key: the first ones to go when the outbox is full.
_SUPERSEDED = """
SELECT seq, length(body) FROM events
WHERE coalesce_key IS NOT NULL
  AND seq NOT IN (SELECT max(seq) FROM events WHERE coalesce_key IS NOT NULL GROUP BY coalesce_key)
ORDER BY seq
"""
_ALL_SAMPLES = "SELECT seq, length(body) FROM events WHERE coalesce_key IS NOT NULL ORDER BY seq"

_event_decoder = msgspec.json.Decoder(AnyEvent)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A queued event as it goes on the wire: its number and its encoded JSON (seq included)."""

    seq: int
    body: bytes


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """A snapshot of the outbox for metrics and heartbeats, taken after the last write."""

    depth: int
    bytes: int
    oldest_at: float | None
    last_seq: int
    coalesced: int
    parked: int
    over_bound: bool
    file_bytes: int


def poll_signature(poll: DevicePoll) -> bytes:
    """What makes a poll news: its status, its set of problems (identity and severity) and the states
    its device reports of its supplies and trays (a toner that reached ``empty``, a refilled one).

    Two polls of a device with equal signatures are samples of one state; a different signature is a
    state change, which the outbox never drops. The states matter because the agent judges no
    threshold: a toner running out is a number and a state here, and the collector's problem.
    """
    reading = poll.reading
    if reading is None:
        return msgspec.json.encode([poll.status])
    identities = sorted({(p.code, p.subject, p.severity) for p in reading.problems})
    states = [[s.index, s.state] for s in reading.supplies] + [[t.index, t.state] for t in reading.trays]
    return msgspec.json.encode([poll.status, identities, states])


class Outbox:
    """A durable, numbered, bounded queue of events in one SQLite file (see the module doc)."""

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._path = Path(path)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        # A tuple replaced whole: adds on worker threads iterate it while the loop adds or removes.
        self._listeners: tuple[Callable[[], None], ...] = ()
        # FULL, not NORMAL: in WAL mode NORMAL can lose the last commits on power loss, and school
        # gateways lose power; an fsync per event is cheap at poll rates (events per second at most).
        self._conn = sqlite.connect(self._path, synchronous="FULL")
        # Keep the WAL small on a small disk: checkpoint every 256 pages and truncate it back to 1 MiB.
        self._conn.execute("PRAGMA wal_autocheckpoint=256")
        self._conn.execute(f"PRAGMA journal_size_limit={1024 * 1024}")
        sqlite.migrate(self._conn, MIGRATIONS, path=self._path, program="agent")
        self._warned_over_bound = False
        # Counters kept in memory and changed only after a commit, so stats() never scans the queue.
        self._coalesced = 0
        # Samples shed while the batch holding them was on its way: the collector may have them (it
        # did if the batch is acknowledged), so they count as shed only once that batch has failed.
        self._sending_up_to = 0
        self._shed_while_sending: set[int] = set()
        depth, size = self._conn.execute(
            "SELECT count(*), coalesce(sum(length(body)), 0) FROM events"
        ).fetchone()
        self._depth: int = depth
        self._bytes: int = size
        (self._parked,) = self._conn.execute("SELECT count(*) FROM parked").fetchone()
        self._last = self._last_seq()
        self._oldest_at = self._head_at()
        self._stats = self._snapshot()

    # -- adding -----------------------------------------------------------------------------------

    def add_poll(self, poll: DevicePoll, *, at: float | None = None) -> int:
        """Queue a device poll; returns its seq. A state change of the device is marked never-drop."""
        signature = poll_signature(poll)

        def build(seq: int, when: float) -> bytes:
            return encode_within_bounds(PollEvent(seq=seq, at=when, poll=poll))

        return self._add(build, at, device=(poll.device, signature))

    def add_heartbeat(self, heartbeat: Heartbeat, *, at: float | None = None) -> int:
        """Queue a heartbeat; returns its seq. Only the newest heartbeat matters if space runs out."""
        return self._add(
            lambda seq, when: encode_within_bounds(HeartbeatEvent(seq=seq, at=when, heartbeat=heartbeat)),
            at,
            coalesce_key="heartbeat",
        )

    def add_discovery(self, devices: list[DiscoveredDevice], *, at: float | None = None) -> int:
        """Queue a discovery result (the devices new or changed since the previous run); returns its seq.
        Never dropped: a later result does not repeat these devices."""
        return self._add(
            lambda seq, when: encode_within_bounds(DiscoveryEvent(seq=seq, at=when, devices=devices)), at
        )

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every committed add, from the adding thread (keep it thread-safe)."""
        self._listeners = (*self._listeners, callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback`` (a sender that ends, e.g. replaced after a config reload)."""
        self._listeners = tuple(c for c in self._listeners if c != callback)

    def _add(
        self,
        build: Callable[[int, float], bytes],
        at: float | None,
        *,
        coalesce_key: str | None = None,
        device: tuple[str, bytes] | None = None,
    ) -> int:
        when = time.time() if at is None else at
        with self._lock:
            with sqlite.transaction(self._conn):
                seq = self._last + 1
                if device is not None:
                    name, signature = device
                    row = self._conn.execute(
                        "SELECT signature FROM device_state WHERE device = ?", (name,)
                    ).fetchone()
                    # Samples of one device supersede each other; a changed (or first) state never does.
                    coalesce_key = f"poll:{name}" if row is not None and row[0] == signature else None
                    self._conn.execute(
                        "INSERT INTO device_state (device, signature) VALUES (?, ?) "
                        "ON CONFLICT (device) DO UPDATE SET signature = excluded.signature",
                        (name, signature),
                    )
                body = build(seq, when)
                self._conn.execute(
                    "INSERT INTO events (seq, at, coalesce_key, body) VALUES (?, ?, ?, ?)",
                    (seq, when, coalesce_key, body),
                )
                self._set_last_seq(seq)
                total = self._bytes + len(body)
                shed, freed = self._enforce_bound(total) if total > self._max_bytes else ([], 0)
            self._depth += 1 - len(shed)
            self._bytes = total - freed
            in_flight = {s for s in shed if s <= self._sending_up_to}
            self._shed_while_sending |= in_flight
            self._coalesced += len(shed) - len(in_flight)
            self._last = seq
            if shed or self._oldest_at is None:
                self._oldest_at = self._head_at()
            self._stats = self._snapshot()
        for callback in self._listeners:
            callback()
        return seq

    # -- bound --------------------------------------------------------------------------------------

    def _enforce_bound(self, total: int) -> tuple[list[int], int]:
        """Shed samples (superseded ones first, then any) down to the low-water mark, inside the add's
        transaction; returns the events (their seqs) and how many bytes went."""
        target = int(self._max_bytes * _LOW_WATER)
        freed = 0
        doomed_all: list[int] = []
        for query in (_SUPERSEDED, _ALL_SAMPLES):
            doomed: list[tuple[int]] = []
            for seq, size in self._conn.execute(query).fetchall():
                if total - freed <= target:
                    break
                doomed.append((seq,))
                freed += size
            self._conn.executemany("DELETE FROM events WHERE seq = ?", doomed)
            doomed_all.extend(seq for (seq,) in doomed)
        over = total - freed > self._max_bytes
        if over and not self._warned_over_bound:
            log.warning(
                "outbox over its bound with state changes only; keeping them",
                extra={"outbox_bytes": total - freed, "max_bytes": self._max_bytes},
            )
        self._warned_over_bound = over
        return doomed_all, freed

    # -- reading and acknowledging --------------------------------------------------------------------

    def next_batch(self, max_events: int, max_bytes: int) -> list[StoredEvent]:
        """The oldest queued events, at most ``max_events`` and ``max_bytes`` (but at least one event)."""
        out: list[StoredEvent] = []
        size = 0
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, body FROM events ORDER BY seq LIMIT ?", (max_events,)
            ).fetchall()
            for seq, body in rows:
                if out and size + len(body) > max_bytes:
                    break
                out.append(StoredEvent(seq, bytes(body)))
                size += len(body)
            # A new batch: the last one was not acknowledged as a whole, so what was shed of it and is
            # still unacknowledged never reached the collector.
            self._coalesced += len(self._shed_while_sending)
            self._shed_while_sending.clear()
            self._sending_up_to = out[-1].seq if out else 0
            self._stats = self._snapshot()
        return out

    def ack(self, up_to_seq: int) -> int:
        """Delete every event with ``seq <= up_to_seq`` (the collector stored them); returns how many."""
        with self._lock:
            with sqlite.transaction(self._conn):
                count, size = self._conn.execute(
                    "SELECT count(*), coalesce(sum(length(body)), 0) FROM events WHERE seq <= ?",
                    (up_to_seq,),
                ).fetchone()
                self._conn.execute("DELETE FROM events WHERE seq <= ?", (up_to_seq,))
            # Shed while on their way, yet stored by the collector: delivered, not shed.
            self._shed_while_sending = {seq for seq in self._shed_while_sending if seq > up_to_seq}
            self._removed(count, size)
        return int(count)

    def park(self, seq: int, reason: str) -> None:
        """Move one event the collector refuses out of the queue, so it cannot block the rest.

        It stays in the outbox file's ``parked`` table with the reason, for an operator to inspect.
        """
        with self._lock:
            with sqlite.transaction(self._conn):
                moved = self._conn.execute(
                    "INSERT OR REPLACE INTO parked (seq, parked_at, reason, body) "
                    "SELECT seq, ?, ?, body FROM events WHERE seq = ?",
                    (time.time(), reason, seq),
                ).rowcount
                (size,) = self._conn.execute(
                    "SELECT coalesce(sum(length(body)), 0) FROM events WHERE seq = ?", (seq,)
                ).fetchone()
                self._conn.execute("DELETE FROM events WHERE seq = ?", (seq,))
            self._parked += moved
            self._removed(moved, size)

    def renumber_after(self, floor: int) -> int:
        """Give every queued event a seq above ``floor``, keeping their order; returns how many moved.

        For an outbox that was lost and recreated: its numbers restart at 1 while the collector already
        stored higher ones for this agent, and would discard the new events as duplicates.
        """
        with self._lock:
            with sqlite.transaction(self._conn):
                rows = self._conn.execute("SELECT at, coalesce_key, body FROM events ORDER BY seq").fetchall()
                self._conn.execute("DELETE FROM events")
                size = 0
                for seq, (when, key, body) in enumerate(rows, start=floor + 1):
                    event = encode(msgspec.structs.replace(_event_decoder.decode(body), seq=seq))
                    size += len(event)
                    self._conn.execute(
                        "INSERT INTO events (seq, at, coalesce_key, body) VALUES (?, ?, ?, ?)",
                        (seq, when, key, event),
                    )
                last = max(self._last, floor + len(rows))
                self._set_last_seq(last)
            self._last = last
            self._bytes = size  # numbers of other widths change the encoded size
            self._stats = self._snapshot()
        return len(rows)

    # -- state ----------------------------------------------------------------------------------------

    def stats(self) -> OutboxStats:
        """Depth, bytes, oldest event time and counters as of the last write (no disk access)."""
        return self._stats

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close; the outbox is unusable afterwards."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()

    def _last_seq(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        return int(row[0]) if row else 0

    def _set_last_seq(self, seq: int) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES ('last_seq', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (seq,),
        )

    def _head_at(self) -> float | None:
        """When the event at the head of the queue was made; None when the queue is empty."""
        row = self._conn.execute("SELECT at FROM events ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def _removed(self, count: int, size: int) -> None:
        """Account for ``count`` events of ``size`` bytes that left the queue (committed)."""
        self._depth -= count
        self._bytes -= size
        self._oldest_at = self._head_at()
        self._stats = self._snapshot()

    def _snapshot(self) -> OutboxStats:
        return OutboxStats(
            depth=self._depth,
            bytes=self._bytes,
            oldest_at=self._oldest_at,
            last_seq=self._last,
            coalesced=self._coalesced,
            parked=self._parked,
            over_bound=self._bytes > self._max_bytes,
            file_bytes=_file_bytes(self._path),
        )


def _file_bytes(path: Path) -> int:
    """Disk used by the database, its WAL and shared-memory file."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            total += (path.parent / (path.name + suffix)).stat().st_size
    return total

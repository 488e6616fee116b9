"""The agent's durable outbox: every event is numbered, written to SQLite on disk, and kept until acked.

Store-and-forward is what lets a school lose its uplink for days without losing a report. An event gets
its sequence number when it is added (one counter per outbox, so per agent, monotonic across restarts
because the counter lives in the same file and transaction as the event); the sender reads batches
oldest first and deletes only what the collector acknowledged. A crash at any point leaves either the
event stored with its number or not stored at all, never half of it.

A poll whose state (its status, address, label, parent, and its reading apart from the measurements
that move at every poll: :data:`campuswatch.report.MEASURED`) equals the device's previous poll is a
*sample*; any other is *news*. A sample goes as a compact :class:`~campuswatch.report.UnchangedEvent`
("unchanged since seq N", with its measurements) once the collector has said it reads those (its
acks carry its schema version: :meth:`Outbox.collector_reads`), unless the device's last full poll is
older than ``full_every_s`` or the collector asked for a full one (:meth:`Outbox.want_full`); news
always goes in full.

Disk use is bounded by ``max_bytes`` (the encoded events; SQLite's page overhead comes on top, see
:attr:`OutboxStats.file_bytes`). When an outage fills the budget, the outbox sheds what carries no news:

1. superseded samples, oldest first: a poll that is a sample, or a heartbeat, when a newer one of the
   same key is queued;
2. then the remaining latest samples, oldest first;
3. never news (a state change, the first poll of a device, or a discovery result: it names only the
   devices new or changed since the previous run, news no later result repeats). If news alone
   exceeds the budget, the outbox keeps it, goes over the bound, and says so (``over_bound`` and a
   warning): losing an outage's alarms is worse than disk.

A compact event whose full poll was shed (or the collector otherwise lacks) is answered with a wish for
the device's next poll in full: nothing is lost but the measurements of the polls in between.

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
    COMPACT_SINCE_VERSION,
    AnyEvent,
    DevicePoll,
    DiscoveredDevice,
    DiscoveryEvent,
    Heartbeat,
    HeartbeatEvent,
    PollEvent,
    UnchangedEvent,
    encode,
    encode_within_bounds,
    measurements,
    reading_signature,
    within_bounds,
)

log = logging.getLogger(__name__)

#: Default disk budget for queued events (``outbox_max_bytes`` in agent.yaml): days of a mid-sized school's
#: polls before unchanged samples are shed, far below the free space of the smallest gateway we run on.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Default for ``collector.full_every_s``: a device's poll goes in full at least this often even when
#: nothing changed, so that a collector whose copy of the reading went astray has it again within the hour.
DEFAULT_FULL_EVERY_S = 3600.0

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
    (
        # Each device's last full poll (its seq and time): what its compact events refer to.
        "ALTER TABLE device_state ADD COLUMN full_seq INTEGER",
        "ALTER TABLE device_state ADD COLUMN full_at REAL",
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
    #: Queued events that are news (state changes, discovery): the sender sends those at once.
    news: int = 0


def poll_signature(poll: DevicePoll) -> bytes:
    """What makes a poll news: its status, address, label, parent and its reading's state (the reading
    apart from its measurements, problems included).

    Two polls of a device with equal signatures are samples of one state; a different signature is a
    state change, which the outbox never drops and sends in full.
    """
    reading = None if poll.reading is None else reading_signature(poll.reading)
    return msgspec.json.encode([poll.status, poll.address, poll.label, poll.parent, reading])


class Outbox:
    """A durable, numbered, bounded queue of events in one SQLite file (see the module doc)."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        full_every_s: float = DEFAULT_FULL_EVERY_S,
    ) -> None:
        self._path = Path(path)
        self._max_bytes = max_bytes
        self._full_every_s = full_every_s
        #: Whether the collector reads compact events: only once one of its acks said so (a collector of
        #: schema 1 does not; until the first ack every poll goes in full, which every collector reads).
        self._compact = False
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
        depth, size, news = self._conn.execute(
            "SELECT count(*), coalesce(sum(length(body)), 0), coalesce(sum(coalesce_key IS NULL), 0) FROM events"
        ).fetchone()
        self._depth: int = depth
        self._bytes: int = size
        self._news: int = news
        (self._parked,) = self._conn.execute("SELECT count(*) FROM parked").fetchone()
        self._last = self._last_seq()
        self._oldest_at = self._head_at()
        self._stats = self._snapshot()

    # -- adding -----------------------------------------------------------------------------------

    def add_poll(self, poll: DevicePoll, *, at: float | None = None) -> int:
        """Queue a device poll, compact where it may go so; returns its seq. A state change of the device
        is marked never-drop. What the device said beyond the report's bounds is cut to fit first
        (:func:`~campuswatch.report.within_bounds`), so that the measurements a compact event carries fit too."""
        poll = within_bounds(poll)
        signature = poll_signature(poll)

        def build(seq: int, when: float) -> tuple[bytes, str | None]:
            body, news = self._poll_body(seq, when, poll, signature)
            # Samples of one device supersede each other; a changed (or first) state never does.
            return body, None if news else f"poll:{poll.device}"

        return self._add(build, at)

    def collector_reads(self, schema_version: int | None) -> None:
        """The collector's schema version, as its latest ack said (None: before version 2)."""
        self._compact = schema_version is not None and schema_version >= COMPACT_SINCE_VERSION

    def want_full(self, devices: list[str]) -> None:
        """Send the next poll of each of ``devices`` in full (the collector lacks what their compact
        events refer to)."""
        with self._lock, sqlite.transaction(self._conn):
            self._conn.executemany(
                "UPDATE device_state SET full_seq = NULL WHERE device = ?", [(d,) for d in devices]
            )

    def add_heartbeat(self, heartbeat: Heartbeat, *, at: float | None = None) -> int:
        """Queue a heartbeat; returns its seq. Only the newest heartbeat matters if space runs out."""
        return self._add(
            lambda seq, when: (
                encode_within_bounds(HeartbeatEvent(seq=seq, at=when, heartbeat=heartbeat)),
                "heartbeat",
            ),
            at,
        )

    def add_discovery(self, devices: list[DiscoveredDevice], *, at: float | None = None) -> int:
        """Queue a discovery result (the devices new or changed since the previous run); returns its seq.
        Never dropped: a later result does not repeat these devices."""
        return self._add(
            lambda seq, when: (encode_within_bounds(DiscoveryEvent(seq=seq, at=when, devices=devices)), None),
            at,
        )

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every committed add, from the adding thread (keep it thread-safe)."""
        self._listeners = (*self._listeners, callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback`` (a sender that ends, e.g. replaced after a config reload)."""
        self._listeners = tuple(c for c in self._listeners if c != callback)

    def _add(self, build: Callable[[int, float], tuple[bytes, str | None]], at: float | None) -> int:
        """Queue the event ``build(seq, at)`` makes, with its coalesce key (None: news, never dropped)."""
        when = time.time() if at is None else at
        with self._lock:
            with sqlite.transaction(self._conn):
                seq = self._last + 1
                body, coalesce_key = build(seq, when)
                self._conn.execute(
                    "INSERT INTO events (seq, at, coalesce_key, body) VALUES (?, ?, ?, ?)",
                    (seq, when, coalesce_key, body),
                )
                self._set_last_seq(seq)
                total = self._bytes + len(body)
                shed, freed = self._enforce_bound(total) if total > self._max_bytes else ([], 0)
            self._depth += 1 - len(shed)
            self._news += coalesce_key is None
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

    def _poll_body(self, seq: int, when: float, poll: DevicePoll, signature: bytes) -> tuple[bytes, bool]:
        """The event for a poll, compact if it may be (see the module doc), and whether the poll is news;
        notes the device's state (inside the add's transaction)."""
        row = self._conn.execute(
            "SELECT signature, full_seq, full_at FROM device_state WHERE device = ?", (poll.device,)
        ).fetchone()
        news = row is None or row[0] != signature
        compact = (
            not news
            and self._compact
            and poll.status == "ok"
            and poll.reading is not None
            and row[1] is not None
            and when - row[2] < self._full_every_s
        )
        if compact:
            assert poll.reading is not None
            body = encode(
                UnchangedEvent(
                    seq=seq,
                    at=when,
                    device=poll.device,
                    since=row[1],
                    polled_at=poll.polled_at,
                    duration_s=poll.duration_s,
                    measured=measurements(poll.reading),
                )
            )
        else:
            body = encode(PollEvent(seq=seq, at=when, poll=poll))
        full_seq, full_at = (row[1], row[2]) if compact else (seq, when)
        self._conn.execute(
            "INSERT INTO device_state (device, signature, full_seq, full_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (device) DO UPDATE SET signature = excluded.signature, "
            "full_seq = excluded.full_seq, full_at = excluded.full_at",
            (poll.device, signature, full_seq, full_at),
        )
        return body, news

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
                count, size, news = self._conn.execute(
                    "SELECT count(*), coalesce(sum(length(body)), 0), coalesce(sum(coalesce_key IS NULL), 0) "
                    "FROM events WHERE seq <= ?",
                    (up_to_seq,),
                ).fetchone()
                self._conn.execute("DELETE FROM events WHERE seq <= ?", (up_to_seq,))
            # Shed while on their way, yet stored by the collector: delivered, not shed.
            self._shed_while_sending = {seq for seq in self._shed_while_sending if seq > up_to_seq}
            self._removed(count, size, news)
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
                size, news = self._conn.execute(
                    "SELECT coalesce(sum(length(body)), 0), coalesce(sum(coalesce_key IS NULL), 0) "
                    "FROM events WHERE seq = ?",
                    (seq,),
                ).fetchone()
                self._conn.execute("DELETE FROM events WHERE seq = ?", (seq,))
            self._parked += moved
            self._removed(moved, size, news)

    def renumber_after(self, floor: int) -> int:
        """Give every queued event a seq above ``floor``, keeping their order; returns how many moved.

        For an outbox that was lost and recreated: its numbers restart at 1 while the collector already
        stored higher ones for this agent, and would discard the new events as duplicates. Compact
        events and the devices' last full polls are renumbered with the polls they refer to.
        """
        with self._lock:
            with sqlite.transaction(self._conn):
                rows = self._conn.execute(
                    "SELECT seq, at, coalesce_key, body FROM events ORDER BY seq"
                ).fetchall()
                renumbered = {old: new for new, (old, *_) in enumerate(rows, start=floor + 1)}
                self._conn.execute("DELETE FROM events")
                size = 0
                for seq, (_, when, key, body) in enumerate(rows, start=floor + 1):
                    decoded = _event_decoder.decode(body)
                    if isinstance(decoded, UnchangedEvent):
                        # A full poll not in the queue went under its old number: the collector will ask.
                        decoded.since = renumbered.get(decoded.since, decoded.since)
                    event = encode(msgspec.structs.replace(decoded, seq=seq))
                    size += len(event)
                    self._conn.execute(
                        "INSERT INTO events (seq, at, coalesce_key, body) VALUES (?, ?, ?, ?)",
                        (seq, when, key, event),
                    )
                for device, full_seq in self._conn.execute(
                    "SELECT device, full_seq FROM device_state"
                ).fetchall():
                    self._conn.execute(
                        "UPDATE device_state SET full_seq = ? WHERE device = ?",
                        (renumbered.get(full_seq), device),
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

    def _removed(self, count: int, size: int, news: int) -> None:
        """Account for ``count`` events of ``size`` bytes, ``news`` of them news, that left the queue
        (committed)."""
        self._depth -= count
        self._bytes -= size
        self._news -= news
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
            news=self._news,
        )


def _file_bytes(path: Path) -> int:
    """Disk used by the database, its WAL and shared-memory file."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            total += (path.parent / (path.name + suffix)).stat().st_size
    return total

"""A durable outbox per ticket sink, and the dispatcher that empties it.

The collector never calls a ticket system directly: it enqueues an operation (open, note, resolve,
reopen, keyed by the problem's ``dedup_key``) and the :class:`Dispatcher` delivers it. That way a ticket
system that is down, slow or refusing delays tickets but loses none:

* an operation is written to the outbox's database (its own SQLite file, ``synchronous=FULL``, or the
  collectors' PostgreSQL database) before :meth:`TicketOutbox.enqueue` returns;
* it is marked done only after the sink call returned, in the same transaction that records the
  ticket's id (``dedup_key -> external_id``), so notes and resolves later go to the right ticket;
* operations of one dedup key go out strictly in order (a note never overtakes its open); different
  keys and different sinks do not wait for each other;
* a retryable failure (the ticket system is down, slow, answers 5xx) is retried with exponential backoff
  and jitter (:mod:`campuswatch.backoff`), while the sink waits as a whole; after
  :data:`MAX_ATTEMPTS` attempts (about a day at the backoff's cap) the operation is parked;
* an unexpected exception is the operation's own poison (a device id with CR/LF that no mail header can
  carry, a bug a payload brings out): it is retried :data:`MAX_UNEXPECTED_ATTEMPTS` times without
  holding up the sink's other operations, then parked;
* a non-retryable failure is *parked* at once with its reason: visible in :meth:`TicketOutbox.parked`,
  in ``/metrics`` (``campuswatch_ticket_outbox_operations{state="parked"}``) and on the helpdesk page,
  retried only when an operator calls :meth:`TicketOutbox.requeue`. A parked operation never holds up
  the operations of other tickets.

A crash after the ticket system accepted an ``open`` but before it was marked done replays the open;
:meth:`TicketSink.open` is idempotent by dedup key (RT searches its DedupKey custom field), so the
replay finds the ticket instead of creating a second one.

The SQL is the store's portable kind (:mod:`campuswatch.collector.store.sql.txn`), run by SQLite or
PostgreSQL alike; several collectors on one PostgreSQL database share one outbox, and the one that
leads delivery (``service.deliver_while_leading``) empties it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from campuswatch import sqlite
from campuswatch.backoff import backoff_delay
from campuswatch.collector.language import Language
from campuswatch.collector.store.connect import open_database
from campuswatch.collector.store.location import DatabaseLocation
from campuswatch.collector.store.sql.txn import Database, Query, Txn, execute, filters, rows, where
from campuswatch.collector.tickets.sink import Drafts, Texts, TicketDraft, TicketSink, TicketSinkError
from campuswatch.collector.tickets.sinks.delivery import delivery_id_var

log = logging.getLogger(__name__)

Op = Literal["open", "note", "resolve", "reopen"]
OPS: frozenset[str] = frozenset(get_args(Op))
#: Attempts of one operation that failed retryably before it is parked: with the backoff capped at 300 s,
#: a ticket system down for a day. While it is down, attempts spread over every queued operation.
MAX_ATTEMPTS = 288
#: Attempts of one operation that raised what no sink should raise before it is parked.
MAX_UNEXPECTED_ATTEMPTS = 3

#: The outbox's schema. Step 1 says IF NOT EXISTS: outboxes made before migrations were numbered have
#: these tables already and no schema_version yet.
MIGRATIONS: sqlite.Migrations = (
    (
        """CREATE TABLE IF NOT EXISTS ticket_outbox (
            id INTEGER PRIMARY KEY,
            sink TEXT NOT NULL,
            op TEXT NOT NULL,
            dedup_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at DOUBLE PRECISION NOT NULL,
            next_attempt_at DOUBLE PRECISION NOT NULL,
            done_at DOUBLE PRECISION,
            last_error TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS ticket_outbox_pending ON ticket_outbox (sink, state, dedup_key, id)",
        """CREATE TABLE IF NOT EXISTS ticket_aliases (
            alias TEXT PRIMARY KEY,
            dedup_key TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS ticket_links (
            sink TEXT NOT NULL,
            dedup_key TEXT NOT NULL,
            external_id TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (sink, dedup_key)
        )""",
    ),
)

#: The columns :meth:`TicketOutbox._row` reads, named so that a column added later changes nothing.
_OP_COLUMNS = "id, sink, op, dedup_key, payload, state, attempts, created_at, last_error"


@dataclass(frozen=True)
class OutboxOp:
    """One queued ticket operation as stored."""

    id: int
    sink: str
    op: Op
    dedup_key: str
    payload: dict[str, Any]
    state: Literal["pending", "done", "parked"]
    attempts: int
    created_at: float
    last_error: str | None


@dataclass(frozen=True)
class OutboxStats:
    """Counts for one sink, for ``/metrics`` and alerting on a ticket system that stays down."""

    pending: int
    #: Pending operations whose last attempt failed (the ticket system is down or refusing).
    failing: int
    parked: int
    #: Delivered operations still kept (see :meth:`TicketOutbox.prune`).
    delivered: int
    #: Age of the oldest pending operation; 0 when nothing is pending.
    oldest_pending_age_seconds: float


def draft_payload(draft: TicketDraft) -> dict[str, Any]:
    """The payload of an ``open`` operation (the draft as plain JSON data)."""
    return dataclasses.asdict(draft)


def text_payload(text: str) -> dict[str, Any]:
    """The payload of a ``note``, ``resolve`` or ``reopen`` operation."""
    return {"text": text}


class TicketOutbox:
    """The durable queue of ticket operations, with the dedup key -> ticket id mapping of every sink.

    Its tables live where :meth:`open` puts them: a SQLite file of their own (``synchronous=FULL``),
    or, for collectors on PostgreSQL, that database, so that every replica queues into one outbox and
    the one that leads delivery empties it. Each method is one transaction.
    """

    def __init__(self, location: DatabaseLocation, *, clock: Callable[[], float] = time.time) -> None:
        """An outbox at ``location``, to be opened (:meth:`open`) before use."""
        self.location = location
        #: The time source for queue times and backoff (tests pass a fake one).
        self.clock = clock
        self._opened: Database | None = None
        self._listeners: list[Callable[[], None]] = []

    @classmethod
    async def opened(
        cls, location: DatabaseLocation, *, clock: Callable[[], float] = time.time
    ) -> TicketOutbox:
        """An outbox at ``location``, opened."""
        outbox = cls(location, clock=clock)
        await outbox.open()
        return outbox

    async def open(self) -> None:
        """Open the database and migrate the outbox's tables (an acknowledged enqueue survives a power
        cut: SQLite syncs every commit)."""
        if self._opened is None:
            self._opened = await open_database(
                self.location, MIGRATIONS, name="ticket_outbox", synchronous="FULL"
            )

    @property
    def _db(self) -> Database:
        if self._opened is None:
            raise RuntimeError("the ticket outbox is used before it was opened")
        return self._opened

    async def close(self) -> None:
        """Close the database."""
        if self._opened is not None:
            await self._opened.close()
            self._opened = None

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every enqueue (the dispatcher wakes up instead of polling)."""
        self._listeners.append(callback)

    async def enqueue(self, sink: str, op: Op, dedup_key: str, payload: Mapping[str, Any]) -> int:
        """Queue ``op`` for ``sink``; returns the operation's id once it is on disk.

        ``payload`` is :func:`draft_payload` for ``open`` and :func:`text_payload` otherwise.
        """
        [op_id] = await self.enqueue_many({sink: payload}, op, dedup_key)
        return op_id

    async def enqueue_many(
        self,
        payloads: Mapping[str, Mapping[str, Any]],
        op: Op,
        dedup_key: str,
        *,
        alias: str | None = None,
    ) -> list[int]:
        """Queue ``op`` for each sink in ``payloads`` (sink name -> that sink's payload: its language's
        text) in one transaction (all or none); returns the ids.

        ``alias`` (another system's id for this ticket, see :class:`MirroredSink`) is remembered as
        standing for ``dedup_key`` in the same transaction.
        """
        if op not in OPS:
            raise ValueError(f"unknown ticket operation {op!r}")
        for payload in payloads.values():
            if op == "open":
                TicketDraft(**payload)  # reject a payload the dispatcher could not turn back into a draft
            elif not isinstance(payload.get("text"), str):
                raise ValueError(f"{op} needs a payload with a text")
        bodies = {sink: json.dumps(dict(payload)) for sink, payload in payloads.items()}
        ids = await self._db.write(_enqueue(bodies, op, dedup_key, alias, self.clock()))
        log.debug("ticket op queued", extra={"op": op, "dedup_key": dedup_key, "op_ids": ids})
        for listener in self._listeners:
            listener()
        return ids

    async def dedup_key_for(self, alias: str) -> str | None:
        """The dedup key an alias was recorded for (see :meth:`enqueue_many`)."""
        found = await self._db.read(rows("SELECT dedup_key FROM ticket_aliases WHERE alias = ?", (alias,)))
        return str(found[0][0]) if found else None

    async def due(self, sink: str, limit: int = 100) -> list[OutboxOp]:
        """The operations of ``sink`` that may be attempted now: the oldest pending one of each dedup key
        whose backoff has passed. A key whose head is waiting holds back its later operations."""
        found = await self._db.read(
            rows(
                f"SELECT {_OP_COLUMNS} FROM ticket_outbox o WHERE o.sink = ? AND o.state = 'pending'"
                " AND o.next_attempt_at <= ? AND o.id = (SELECT MIN(p.id) FROM ticket_outbox p"
                " WHERE p.sink = o.sink AND p.dedup_key = o.dedup_key AND p.state = 'pending')"
                " ORDER BY o.id LIMIT ?",
                (sink, self.clock(), limit),
            )
        )
        return [self._row(r) for r in found]

    async def next_due_at(self, sink: str) -> float | None:
        """When the earliest pending operation of ``sink`` may be attempted (None: nothing pending)."""
        [(at,)] = await self._db.read(
            rows(
                "SELECT MIN(next_attempt_at) FROM ticket_outbox WHERE sink = ? AND state = 'pending'", (sink,)
            )
        )
        return None if at is None else float(at)

    async def external_id(self, sink: str, dedup_key: str) -> str | None:
        """The ticket id ``sink`` gave the ticket of ``dedup_key``, once its open was delivered."""
        found = await self._db.read(
            rows("SELECT external_id FROM ticket_links WHERE sink = ? AND dedup_key = ?", (sink, dedup_key))
        )
        return str(found[0][0]) if found else None

    async def mark_done(self, op: OutboxOp, external_id: str | None = None) -> None:
        """Record a delivered operation (and, for an open, the ticket id) in one transaction."""
        await self._db.write(_mark_done(op, external_id, self.clock()))

    async def mark_failed(self, op: OutboxOp, reason: str, retry_at: float) -> None:
        """Record a failed attempt; the operation stays pending until ``retry_at``."""
        await self._db.write(
            execute(
                "UPDATE ticket_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
                " WHERE id = ?",
                (reason, retry_at, op.id),
            )
        )

    async def park(self, op: OutboxOp, reason: str) -> None:
        """Set an operation aside that retrying cannot fix, keeping it and the reason for an operator."""
        await self._db.write(
            execute(
                "UPDATE ticket_outbox SET state = 'parked', attempts = attempts + 1, last_error = ?"
                " WHERE id = ?",
                (reason, op.id),
            )
        )

    async def requeue(self, op_id: int) -> bool:
        """Put a parked operation back in line (after the cause was fixed); False if it is not parked."""
        changed = await self._db.write(
            execute(
                "UPDATE ticket_outbox SET state = 'pending', next_attempt_at = ? WHERE id = ?"
                " AND state = 'parked'",
                (self.clock(), op_id),
            )
        )
        return changed == 1

    async def operations(self, sink: str | None = None, state: str | None = None) -> list[OutboxOp]:
        """Operations in queue order, optionally of one sink and/or state (for tests and an admin view)."""
        conditions, params = filters(("sink", sink), ("state", state))
        found = await self._db.read(
            rows(f"SELECT {_OP_COLUMNS} FROM ticket_outbox{where(conditions)} ORDER BY id", params)
        )
        return [self._row(r) for r in found]

    async def parked(self, sink: str | None = None) -> list[OutboxOp]:
        """Parked operations with their reasons."""
        return await self.operations(sink, "parked")

    async def stats(self, sinks: Iterable[str] = ()) -> dict[str, OutboxStats]:
        """Per-sink counts (see :class:`OutboxStats`): every sink with operations, plus ``sinks`` (zeros
        for a configured sink that has had none, so its metrics exist from the start)."""
        now = self.clock()
        found = await self._db.read(
            rows(
                "SELECT sink,"
                " SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN state = 'parked' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END),"
                " MIN(CASE WHEN state = 'pending' THEN created_at END)"
                " FROM ticket_outbox GROUP BY sink"
            )
        )
        stats = dict.fromkeys(sinks, OutboxStats(0, 0, 0, 0, 0.0))
        stats |= {
            sink: OutboxStats(
                pending=int(pending),
                failing=int(failing),
                parked=int(parked),
                delivered=int(done),
                oldest_pending_age_seconds=max(0.0, now - oldest) if oldest is not None else 0.0,
            )
            for sink, pending, failing, parked, done, oldest in found
        }
        return stats

    async def prune(self, older_than_seconds: float) -> int:
        """Delete delivered operations older than the given age; returns how many."""
        return await self._db.write(
            execute(
                "DELETE FROM ticket_outbox WHERE state = 'done' AND done_at < ?",
                (self.clock() - older_than_seconds,),
            )
        )

    @staticmethod
    def _row(r: tuple[Any, ...]) -> OutboxOp:
        op_id, sink, op, key, payload, state, attempts, created_at, last_error = r
        return OutboxOp(op_id, sink, op, key, json.loads(payload), state, attempts, created_at, last_error)


def _enqueue(
    bodies: Mapping[str, str], op: Op, dedup_key: str, alias: str | None, now: float
) -> Txn[list[int]]:
    if alias is not None:
        yield Query(
            "INSERT INTO ticket_aliases (alias, dedup_key) VALUES (?, ?)"
            " ON CONFLICT (alias) DO UPDATE SET dedup_key = excluded.dedup_key",
            (alias, dedup_key),
        )
    ids: list[int] = []
    for sink, body in bodies.items():
        inserted = yield Query(
            "INSERT INTO ticket_outbox (sink, op, dedup_key, payload, state, attempts, created_at,"
            " next_attempt_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) RETURNING id",
            (sink, op, dedup_key, body, now, now),
        )
        ids.append(int(inserted.rows[0][0]))
    return ids


def _mark_done(op: OutboxOp, external_id: str | None, now: float) -> Txn[None]:
    if external_id is not None:
        yield Query(
            "INSERT INTO ticket_links (sink, dedup_key, external_id, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (sink, dedup_key) DO UPDATE SET external_id = excluded.external_id,"
            " updated_at = excluded.updated_at",
            (op.sink, op.dedup_key, external_id, now),
        )
    yield Query(
        "UPDATE ticket_outbox SET state = 'done', done_at = ?, attempts = attempts + 1,"
        " last_error = NULL WHERE id = ?",
        (now, op.id),
    )


class Dispatcher:
    """Delivers the outbox to the sinks: one loop per sink, so a dead ticket system delays only itself.

    Two backoffs work together. Each operation has its own (stored with it), so one operation that
    keeps failing does not hold up the others. Each sink has one more (in memory) that grows with
    consecutive failures of that sink: while a ticket system is down, the loop sends one probe per
    backoff step instead of trying every queued operation. Any answer from the system resets it.

    ``run()`` runs until cancelled; ``drain_once()`` makes one pass over everything due now (tests, or a
    collector that drives delivery from its own scheduler).
    """

    def __init__(
        self,
        outbox: TicketOutbox,
        sinks: Mapping[str, TicketSink] | Sequence[TicketSink],
        *,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        poll_interval: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.sinks = dict(sinks) if isinstance(sinks, Mapping) else {s.name: s for s in sinks}
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.poll_interval = poll_interval
        self._rng = rng or random.Random()
        self._wakeups: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sink_failures: dict[str, int] = dict.fromkeys(self.sinks, 0)
        self._hold_until: dict[str, float] = dict.fromkeys(self.sinks, 0.0)
        #: Failed attempts since start, per sink (a counter for ``/metrics``).
        self.failures_total: dict[str, int] = dict.fromkeys(self.sinks, 0)
        outbox.add_listener(self.wake)

    def wake(self) -> None:
        """Look at the outbox now (called on enqueue; safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for event in self._wakeups.values():
            loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        """Deliver forever (until cancelled)."""
        self._loop = asyncio.get_running_loop()
        self._wakeups = {name: asyncio.Event() for name in self.sinks}
        try:
            async with asyncio.TaskGroup() as tg:
                for name in self.sinks:
                    tg.create_task(self._run_sink(name), name=f"ticket-dispatch-{name}")
        finally:
            self._loop = None

    async def drain_once(self) -> int:
        """One pass over every sink's due operations; returns how many were delivered.

        Ignores the sink backoff (the caller asked), but stops a sink's pass at its first retryable
        failure like :meth:`run` does.
        """
        counts = await asyncio.gather(*(self._drain_sink(name) for name in self.sinks))
        return sum(counts)

    async def _run_sink(self, name: str) -> None:
        wakeup = self._wakeups[name]
        while True:
            wakeup.clear()
            try:
                await self._drain_sink(name)
            except Exception:
                # The outbox itself failed (disk full, database locked too long). Nothing was marked
                # done, so waiting and trying again is safe, and stopping would strand every ticket.
                log.exception("ticket outbox pass failed; retrying", extra={"sink": name})
                await asyncio.sleep(self.poll_interval)
                continue
            now = self.outbox.clock()
            hold = self._hold_until[name] - now
            if hold > 0:
                # The system is down: new operations wait for the next probe like the queued ones.
                await asyncio.sleep(hold)
                continue
            next_at = await self.outbox.next_due_at(name)
            timeout = self.poll_interval if next_at is None else min(self.poll_interval, next_at - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), max(0.0, timeout))

    async def _drain_sink(self, name: str) -> int:
        sink = self.sinks[name]
        delivered = 0
        attempted: set[int] = set()
        while True:
            due = await self.outbox.due(name)
            batch = [op for op in due if op.id not in attempted]
            if not batch:
                return delivered
            for op in batch:
                attempted.add(op.id)
                outcome = await self._deliver(sink, op)
                if outcome == "deferred":
                    continue  # this operation's own trouble: the sink's others go on
                if outcome == "retry":
                    self._sink_failures[name] += 1
                    delay = self._backoff(self._sink_failures[name])
                    self._hold_until[name] = self.outbox.clock() + delay
                    return delivered
                self._sink_failures[name] = 0
                self._hold_until[name] = 0.0
                if outcome == "done":
                    delivered += 1

    def _backoff(self, attempts: int) -> float:
        return backoff_delay(attempts, self.backoff_base, self.backoff_cap, self._rng)

    async def _deliver(
        self, sink: TicketSink, op: OutboxOp
    ) -> Literal["done", "retry", "deferred", "parked"]:
        """Attempt one operation and record the outcome."""
        fields = {"sink": op.sink, "op": op.op, "dedup_key": op.dedup_key, "op_id": op.id}
        # A stable id per operation, so a receiver that sees a retry can tell it is one (webhook
        # delivery header, e-mail Message-ID).
        token = delivery_id_var.set(f"{op.sink}-{op.id}")
        try:
            external_id = await self._call(sink, op)
        except TicketSinkError as err:
            return await self._failed(op, str(err), err.retryable, fields)
        except Exception as err:  # a bug in a sink, or a poison payload: it must not stop the others
            log.exception("ticket sink raised an unexpected error", extra=fields)
            return await self._failed(op, f"unexpected {type(err).__name__}", True, fields, poison=True)
        finally:
            delivery_id_var.reset(token)
        await self.outbox.mark_done(op, external_id)
        log.info("ticket op delivered", extra={**fields, "external_id": external_id})
        return "done"

    async def _failed(
        self, op: OutboxOp, reason: str, retryable: bool, fields: dict[str, Any], *, poison: bool = False
    ) -> Literal["retry", "deferred", "parked"]:
        """Record a failed attempt: retry later (the sink waiting as a whole, or only this operation for
        ``poison``), or park it when retrying cannot help or has been tried long enough."""
        self.failures_total[op.sink] = self.failures_total.get(op.sink, 0) + 1
        limit = MAX_UNEXPECTED_ATTEMPTS if poison else MAX_ATTEMPTS
        if retryable and op.attempts + 1 >= limit:
            retryable, reason = False, f"gave up after {op.attempts + 1} attempts: {reason}"
        if not retryable:
            await self.outbox.park(op, reason)
            log.error("ticket op parked: %s", reason, extra={**fields, "reason": reason})
            return "parked"
        delay = self._backoff(op.attempts + 1)
        await self.outbox.mark_failed(op, reason, self.outbox.clock() + delay)
        log.warning(
            "ticket op failed, retry in %.1fs: %s",
            delay,
            reason,
            extra={**fields, "attempts": op.attempts + 1, "retry_in": delay},
        )
        return "deferred" if poison else "retry"

    async def _call(self, sink: TicketSink, op: OutboxOp) -> str | None:
        """Run the sink call; returns the ticket id for an open."""
        if op.op == "open":
            return await sink.open(TicketDraft(**op.payload))
        external_id = await self.outbox.external_id(op.sink, op.dedup_key)
        if external_id is None:
            # Its open was parked (or never queued): there is no ticket to add to. Parking this one
            # too keeps it visible; requeue both once the open is fixed.
            raise TicketSinkError(f"no ticket known for dedup key {op.dedup_key!r}", retryable=False)
        text = op.payload["text"]
        if op.op == "note":
            await sink.note(external_id, text)
        elif op.op == "resolve":
            await sink.resolve(external_id, text)
        else:
            await sink.reopen(external_id, text)
        return None


class MirroredSink:
    """The collector's own ticket sink, mirrored into the external ticket systems through the outbox.

    Give this to the ticket lifecycle in place of the built-in sink. Every call goes to ``primary``
    first (the built-in ticket store, in the collector's ``language``: its answer is the ticket
    reference the collector keeps), then the same operation is queued for each external sink, keyed by
    the dedup key, in that sink's language (``sink_languages``: sink name -> language). Notes, resolves
    and reopens arrive with the primary's ticket id only, so the open records that id as an alias of the
    dedup key.

    Primary first, queue second: if the collector dies in between, the lifecycle has not stored the
    ticket reference yet and calls ``open`` again, which the primary answers with the same ticket
    (idempotent by dedup key), and the operations are queued then.
    """

    def __init__(
        self,
        primary: TicketSink,
        outbox: TicketOutbox,
        sink_languages: Mapping[str, Language],
        language: Language,
    ) -> None:
        self.name = primary.name
        self.primary = primary
        self.outbox = outbox
        self.sink_languages = dict(sink_languages)
        self.language = language
        self.languages = frozenset({language, *self.sink_languages.values()})

    async def open(self, drafts: Drafts) -> str:
        """Open in the primary, and queue the open for every external sink in its language."""
        ref = await self.primary.open(drafts[self.language])
        payloads = {sink: draft_payload(drafts[lang]) for sink, lang in self.sink_languages.items()}
        await self.outbox.enqueue_many(payloads, "open", drafts[self.language].dedup_key, alias=ref)
        return ref

    async def note(self, external_id: str, texts: Texts) -> None:
        """Note in the primary, and queue the note."""
        await self.primary.note(external_id, texts[self.language])
        await self._mirror("note", external_id, texts)

    async def resolve(self, external_id: str, texts: Texts) -> None:
        """Resolve in the primary, and queue the resolve."""
        await self.primary.resolve(external_id, texts[self.language])
        await self._mirror("resolve", external_id, texts)

    async def reopen(self, external_id: str, texts: Texts) -> None:
        """Reopen in the primary, and queue the reopen."""
        await self.primary.reopen(external_id, texts[self.language])
        await self._mirror("reopen", external_id, texts)

    async def _mirror(self, op: Op, ref: str, texts: Texts) -> None:
        key = await self.outbox.dedup_key_for(ref)
        if key is None:
            # Opened before external sinks were configured: they never had this ticket.
            log.info("ticket not mirrored: opened before the external sinks", extra={"op": op, "ticket": ref})
            return
        payloads = {sink: text_payload(texts[lang]) for sink, lang in self.sink_languages.items()}
        await self.outbox.enqueue_many(payloads, op, key)

"""Delivery: take batches from the outbox, POST them to the collector, delete what it acknowledged.

The outbox is the source of truth and delivery is at-least-once: an event leaves the outbox only after a
200 whose ``acked_seq`` covers it, so a crash, a timeout or a lost response means the same events are
sent again and the collector drops the copies by (agent_id, seq). What each answer means here:

- 200: ack up to ``acked_seq``; the next batch goes at once. The ack also says the collector's schema
  version (the outbox sends compact events only to one that reads them) and which devices it wants
  polled in full next.

Batches: news (a state change, a discovery result) goes at once; samples (polls that changed nothing,
heartbeats) wait up to ``batch_wait_s`` for company, so a school of 300 devices polled every minute
sends a batch every few seconds instead of a request per poll.
- 5xx, 429, connection errors, timeouts, an unreadable ack: the collector is away; retry the same events
  after an exponential backoff with full jitter (:mod:`campuswatch.backoff`: a city's agents do not
  return in lockstep).
- 401/403: the token is wrong for this collector or school. Nothing will fix itself: log an error that
  says what to check (never the token), keep all data, retry after a long pause.
- 400/413: something in the batch is refused. Split the batch and send the halves, down to the one event
  at fault, which is parked (moved aside in the outbox, logged and counted) so it cannot block the queue.
  Before parking on a 400, an empty batch probes whether the envelope (agent id, school, schema version)
  is what the collector refuses; then it is a config problem and nothing is parked.
"""

from __future__ import annotations

import asyncio
import gzip as gzip_module
import logging
import random
import ssl
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import cast

import aiohttp
import msgspec

from campuswatch.agent.uplink.outbox import Outbox, StoredEvent
from campuswatch.backoff import Backoff
from campuswatch.config import Secret
from campuswatch.report import SCHEMA_VERSION, AnyEvent, Batch, BatchAck, encode

log = logging.getLogger(__name__)

_ack_decoder = msgspec.json.Decoder(BatchAck)
#: Batches smaller than this go uncompressed: ten seconds of a school's compact polls are a few
#: kilobytes, which compressing costs the collector more CPU than they cost any school's uplink; a
#: backlog's batches (up to a megabyte of full readings) shrink tenfold.
GZIP_ABOVE_BYTES = 32 * 1024
#: How much of a refusal's body goes into logs and park reasons.
_MESSAGE_LIMIT = 300


@dataclass
class SenderStats:
    """What the sender did, for the agent's /metrics (read at scrape time) and for tests."""

    events_acked: int = 0
    duplicates: int = 0
    batches_ok: int = 0
    parked: int = 0
    #: Failed attempts by reason: ``connection``, ``tls``, ``timeout``, ``http_5xx``, ``http_401``, ``bad_ack``,
    #: ``internal`` (an unexpected error in the agent itself), ...
    failures: dict[str, int] = field(default_factory=dict)
    last_success_at: float | None = None

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


class _Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: back off exponentially
    REFUSED = "refused"  # config is wrong (auth, envelope): back off long


class Sender:
    """Moves events from an :class:`Outbox` to the collector at ``url`` until stopped.

    Call :meth:`run` as one task; it wakes when the outbox gets an event and sleeps otherwise.
    :meth:`stop` ends it after one last attempt to deliver what is queued, within a deadline.
    """

    def __init__(
        self,
        outbox: Outbox,
        url: str,
        token: Secret,
        *,
        agent_id: str,
        school: str,
        ca_file: str | Path | None = None,
        client_cert: tuple[str | Path, str | Path] | None = None,
        batch_max_events: int = 500,
        batch_max_bytes: int = 1024 * 1024,
        batch_wait_s: float = 0.0,
        gzip: bool = True,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        refused_pause: float = 900.0,
        request_timeout: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self._outbox = outbox
        self._url = url
        self._token = token
        self._agent_id = agent_id
        self._school = school
        self._ca_file = ca_file
        self._client_cert = client_cert
        self._max_events = batch_max_events
        self._max_bytes = batch_max_bytes
        self._batch_wait_s = batch_wait_s
        self._gzip = gzip
        self._backoff = Backoff(backoff_base, backoff_cap, rng)
        self._refused_pause = refused_pause
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._drain_until: float | None = None
        self._task: asyncio.Task[None] | None = None
        self.stats = SenderStats()

    # -- lifecycle ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until :meth:`stop`; then try once more to empty the outbox before the deadline."""
        loop = asyncio.get_running_loop()

        def wake() -> None:  # called by the outbox from whatever thread added the event
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._wake.set)

        self._outbox.add_listener(wake)
        self._task = asyncio.current_task()
        try:
            async with aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(ssl=self._ssl_context())
            ) as session:
                while not self._stopping.is_set():
                    try:
                        await self._step(session)
                    except Exception:
                        # A bug or a broken outbox row must not end delivery silently while polls go on
                        # queueing behind it: say so, count it, and try again after a backoff.
                        self.stats.fail("internal")
                        log.exception("delivery failed unexpectedly; will retry")
                        await self._wait_any(self._stopping, timeout=self._backoff.next_delay())
                await self._drain(session)
        finally:
            self._outbox.remove_listener(wake)
            self._finished.set()

    async def stop(self, deadline: float = 10.0) -> None:
        """Stop delivering, after one last try to send what is queued within ``deadline`` seconds."""
        self._drain_until = asyncio.get_running_loop().time() + deadline
        self._stopping.set()
        try:
            await asyncio.wait_for(self._finished.wait(), deadline + 1.0)
        except TimeoutError:
            # A request still in flight: abandon it. Its events stay queued and go again next start.
            log.warning("sender did not stop within its deadline; cancelled", extra={"deadline_s": deadline})
            if self._task is not None:
                self._task.cancel()

    # -- the loop --------------------------------------------------------------------------------------

    async def _step(self, session: aiohttp.ClientSession) -> None:
        """Send one batch, or wait for events; after a failure, pause before the next try."""
        # Clear before reading: an event added after the read sets it again, so no wake-up is lost.
        self._wake.clear()
        stats = self._outbox.stats()
        if stats.depth and not stats.news and stats.depth < self._max_events and stats.oldest_at is not None:
            wait = stats.oldest_at + self._batch_wait_s - time.time()
            if wait > 0:
                # Only samples queued: let them gather; news or a full batch wakes us before.
                await self._wait_any(self._wake, self._stopping, timeout=wait)
                return
        events = await asyncio.to_thread(self._outbox.next_batch, self._max_events, self._max_bytes)
        if not events:
            await self._wait_any(self._wake, self._stopping)
            return
        outcome = await self._send(session, events)
        if outcome is _Outcome.DELIVERED:
            self._backoff.reset()
            return
        pause = self._refused_pause if outcome is _Outcome.REFUSED else self._backoff.next_delay()
        log.info("delivery paused", extra={"pause_s": round(pause, 3), "outcome": outcome.value})
        await self._wait_any(self._stopping, timeout=pause)

    async def _drain(self, session: aiohttp.ClientSession) -> None:
        """After stop: deliver what is queued until empty, the first failure, or the deadline."""
        deadline = self._drain_until if self._drain_until is not None else asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout_at(deadline):
                while events := await asyncio.to_thread(
                    self._outbox.next_batch, self._max_events, self._max_bytes
                ):
                    outcome = await self._send(session, events)
                    if outcome is not _Outcome.DELIVERED:
                        break
        except TimeoutError:
            pass
        except Exception:
            self.stats.fail("internal")
            log.exception("delivery failed unexpectedly while stopping")
        depth = self._outbox.stats().depth
        if depth:
            log.warning("sender stopped with events still queued", extra={"outbox_depth": depth})

    @staticmethod
    async def _wait_any(*events: asyncio.Event, timeout: float | None = None) -> None:
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # -- one batch -------------------------------------------------------------------------------------

    async def _send(self, session: aiohttp.ClientSession, events: list[StoredEvent]) -> _Outcome:
        """POST ``events``; on 400/413 split them until the one refused event is found and parked."""
        answer = await self._post(session, events)
        if isinstance(answer, _Outcome):
            return answer
        status, body = answer
        if status == 200:
            return await self._acknowledge(events, body)
        if status in (401, 403):
            self.stats.fail(f"http_{status}")
            log.error(
                "collector refused the agent's token; check the token and school in the agent config",
                extra={"status": status, "url": self._url, "school": self._school},
            )
            return _Outcome.REFUSED
        if status in (400, 413):
            self.stats.fail(f"http_{status}")
            message = _message(body)
            if len(events) > 1:
                half = len(events) // 2
                first = await self._send(session, events[:half])
                if first is not _Outcome.DELIVERED:
                    return first
                return await self._send(session, events[half:])
            if status == 400:
                probe = await self._post(session, [])
                if isinstance(probe, _Outcome):
                    return probe
                if probe[0] != 200:
                    log.error(
                        "collector refuses even an empty batch: agent id, school or schema is wrong",
                        extra={"status": probe[0], "reason": _message(probe[1]), "agent_id": self._agent_id},
                    )
                    return _Outcome.REFUSED
            await self._park(events[0], f"{status}: {message}")
            return _Outcome.DELIVERED
        self.stats.fail("http_other" if status < 500 else "http_5xx")
        log.warning("collector answered with an error; will retry", extra={"status": status})
        return _Outcome.RETRY

    async def _post(
        self, session: aiohttp.ClientSession, events: list[StoredEvent]
    ) -> tuple[int, bytes] | _Outcome:
        """The only network call: the HTTP status and body, or RETRY for a connection failure."""
        body, headers = await asyncio.to_thread(self._encode, events)
        headers["Authorization"] = f"Bearer {self._token.reveal()}"
        try:
            async with session.post(self._url, data=body, headers=headers) as response:
                return response.status, await response.read()
        except TimeoutError:
            self.stats.fail("timeout")
            log.warning("collector did not answer in time; will retry", extra={"url": self._url})
        except aiohttp.ClientSSLError as err:
            # Retrying will not help until ca_file or the collector's certificate is fixed; say so.
            self.stats.fail("tls")
            log.error(
                "TLS with the collector failed; check ca_file and the client certificate",
                extra={"url": self._url, "error": str(err)},
            )
        except aiohttp.ClientError as err:
            self.stats.fail("connection")
            # The error names host and port, never headers, so the token cannot leak through it.
            log.warning("collector unreachable; will retry", extra={"url": self._url, "error": str(err)})
        return _Outcome.RETRY

    def _encode(self, events: list[StoredEvent]) -> tuple[bytes, dict[str, str]]:
        """The request body (gzip'd if configured and larger than :data:`GZIP_ABOVE_BYTES`) and its
        headers; CPU work, run off the loop."""
        # Events are already JSON in the outbox: splice them in as Raw instead of decoding them again.
        raw_events = cast(list[AnyEvent], [msgspec.Raw(e.body) for e in events])
        batch = Batch(
            schema_version=SCHEMA_VERSION,
            agent_id=self._agent_id,
            school=self._school,
            events=raw_events,
            sent_at=time.time(),
        )
        body = encode(batch)
        headers = {"Content-Type": "application/json"}
        if self._gzip and len(body) > GZIP_ABOVE_BYTES:
            body = gzip_module.compress(body, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return body, headers

    async def _acknowledge(self, events: list[StoredEvent], body: bytes) -> _Outcome:
        try:
            ack = _ack_decoder.decode(body)
        except msgspec.DecodeError as err:
            self.stats.fail("bad_ack")
            log.warning(
                "collector answered 200 with an unreadable ack; will retry", extra={"error": str(err)}
            )
            return _Outcome.RETRY
        self._outbox.collector_reads(ack.schema_version)
        if ack.full_wanted:
            await asyncio.to_thread(self._outbox.want_full, ack.full_wanted)
        if not events:
            return _Outcome.DELIVERED
        last = events[-1].seq
        if ack.acked_seq > self._outbox.stats().last_seq:
            # The collector stored numbers this outbox never gave out: the outbox was lost and recreated,
            # and the collector took our events for duplicates. Renumber them above its count and resend.
            moved = await asyncio.to_thread(self._outbox.renumber_after, ack.acked_seq)
            log.warning(
                "collector knows higher seqs than this outbox; renumbered queued events",
                extra={"acked_seq": ack.acked_seq, "renumbered": moved},
            )
            return _Outcome.DELIVERED
        removed = await asyncio.to_thread(self._outbox.ack, ack.acked_seq)
        self.stats.events_acked += removed
        self.stats.duplicates += ack.duplicates
        if ack.acked_seq < last:
            # 200 but not all stored: against the contract. Keep the rest and do not hammer the collector.
            self.stats.fail("bad_ack")
            log.warning(
                "collector acked less than it was sent", extra={"acked_seq": ack.acked_seq, "last_seq": last}
            )
            return _Outcome.RETRY
        self.stats.batches_ok += 1
        self.stats.last_success_at = time.time()
        log.debug("batch delivered", extra={"events": len(events), "acked_seq": ack.acked_seq})
        return _Outcome.DELIVERED

    async def _park(self, event: StoredEvent, reason: str) -> None:
        await asyncio.to_thread(self._outbox.park, event.seq, reason)
        self.stats.parked += 1
        log.error(
            "collector refuses an event; parked it in the outbox", extra={"seq": event.seq, "reason": reason}
        )

    def _ssl_context(self) -> ssl.SSLContext | bool:
        """TLS for https URLs: the system CAs or ``ca_file``, plus an optional client certificate."""
        if not self._url.startswith("https:") or (self._ca_file is None and self._client_cert is None):
            return True  # aiohttp's default: verify against the system CAs
        context = ssl.create_default_context(cafile=str(self._ca_file) if self._ca_file else None)
        if self._client_cert is not None:
            cert, key = self._client_cert
            context.load_cert_chain(str(cert), str(key))
        return context


def _message(body: bytes) -> str:
    """A refusal's body as text for logs, shortened."""
    return body[:_MESSAGE_LIMIT].decode("utf-8", "replace").strip()

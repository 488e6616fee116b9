"""The sender delivers every outbox event to the collector exactly once in storage, whatever happens.

``Receiver`` is a test double of our collector's ``POST /api/v1/reports`` contract (auth by school
token, gzip bodies, 400 naming the field, 413, idempotent storage by (agent_id, seq), ``BatchAck``). It
records every seq it receives (``received``, duplicates included) and what it stored (``stored``).

Run as a script, this file is the agent side of the SIGKILL test: a sender on an outbox file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from aiohttp import web
from msgspec.structs import replace

from campuswatch.agent.uplink.delivery import Sender
from campuswatch.agent.uplink.outbox import Outbox
from campuswatch.config import Secret
from campuswatch.report import (
    BatchAck,
    DevicePoll,
    DeviceReading,
    Heartbeat,
    PollEvent,
    SystemInfo,
    decode_batch,
    encode,
)
from tests.support.paths import REPO
from tests.support.pki import Pki

TOKEN = "s3cr3t-token-of-school-a"
OTHER_TOKEN = "token-of-school-b"
AGENT = "agent-a"


class Receiver:
    """The collector's report endpoint, as the contract says, recording what it receives and stores."""

    def __init__(self, *, max_body: int = 10 * 1024 * 1024) -> None:
        self.tokens = {TOKEN: "school-a", OTHER_TOKEN: "school-b"}
        self.max_body = max_body
        self.stored: dict[str, dict[int, bytes]] = {}
        self.received: list[int] = []
        self.requests = 0
        self.gzipped = 0
        #: Answer 503 instead of storing (the collector is up but unwell).
        self.unavailable = False
        #: Devices whose polls the collector refuses with 400 (a malformed field).
        self.poison_devices: set[str] = set()
        #: Refuse every batch with 400 naming ``agent_id`` (an envelope problem).
        self.refuse_envelope = False
        #: Awaited after storing a batch and before answering (to kill the agent mid-batch).
        self.after_store: Callable[[], Awaitable[None]] | None = None
        #: What the acks say of the collector: its schema version (None: one before version 2), and the
        #: devices it wants in full (said once, in the next ack).
        self.schema_version: int | None = None
        self.full_wanted: list[str] = []
        self.port = 0
        self.scheme = "http"
        self._runner: web.AppRunner | None = None

    async def start(self, port: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post("/api/v1/reports", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=ssl_context)
        self.scheme = "https" if ssl_context else "http"
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/api/v1/reports"

    def stored_seqs(self, agent: str = AGENT) -> list[int]:
        return sorted(self.stored.get(agent, {}))

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if request.headers.get("Content-Encoding") == "gzip":
            self.gzipped += 1
        auth = request.headers.get("Authorization", "")
        school = self.tokens.get(auth.removeprefix("Bearer "))
        if not auth.startswith("Bearer ") or school is None:
            return web.Response(status=401, text="unknown token")
        if self.unavailable:
            return web.Response(status=503, text="try later")
        # aiohttp inflates a gzip body itself and answers 413 past client_max_size, as the collector does.
        body = await request.read()
        try:
            batch = decode_batch(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as err:
            return web.Response(status=400, text=str(err))
        if batch.school != school:
            return web.Response(status=403, text="token of another school")
        if self.refuse_envelope:
            return web.Response(status=400, text="Invalid agent id - at `$.agent_id`")
        for i, event in enumerate(batch.events):
            self.received.append(event.seq)
            if isinstance(event, PollEvent) and event.poll.device in self.poison_devices:
                return web.Response(status=400, text=f"Invalid device - at `$.events[{i}].poll.device`")
        mine = self.stored.setdefault(batch.agent_id, {})
        duplicates = 0
        for event in batch.events:
            if event.seq in mine:
                duplicates += 1
            else:
                mine[event.seq] = encode(event)
        if self.after_store is not None:
            await self.after_store()
        ack = BatchAck(
            acked_seq=max(mine, default=0),
            stored=len(batch.events) - duplicates,
            duplicates=duplicates,
            schema_version=self.schema_version,
            full_wanted=self.full_wanted,
        )
        self.full_wanted = []
        return web.Response(body=encode(ack), content_type="application/json")


def poll(device: str, n: int) -> DevicePoll:
    return DevicePoll(device=device, address="10.1.0.1", status="ok", polled_at=float(n), duration_s=0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for ``condition`` (checked every 10 ms); fail the test naming ``what`` after ``timeout``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def make_sender(outbox: Outbox, url: str, token: str = TOKEN, **kwargs: object) -> Sender:
    options: dict[str, object] = {"backoff_base": 0.005, "backoff_cap": 0.05, "refused_pause": 3600.0}
    options.update(kwargs)
    return Sender(outbox, url, Secret(token), agent_id=AGENT, school="school-a", **options)  # type: ignore[arg-type]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    await rec.start()
    yield rec
    await rec.stop()


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3")


# -- the long outage --------------------------------------------------------------------------------


async def test_long_outage_then_every_event_delivered_once_in_order(outbox: Outbox) -> None:
    """5000 polls pile up while the collector is down, then unwell (503), then up: none lost or doubled."""
    port = free_port()
    receiver = Receiver()
    sender = make_sender(outbox, f"http://127.0.0.1:{port}/api/v1/reports", batch_max_events=300)
    task = asyncio.create_task(sender.run())
    outage_began = asyncio.get_running_loop().time()

    def produce() -> None:
        for n in range(5000):
            outbox.add_poll(poll(f"printer-{n % 40}", n))

    await asyncio.to_thread(produce)
    await until(lambda: sender.stats.failures.get("connection", 0) >= 30, "attempts against a dead collector")
    refused = sender.stats.failures["connection"]
    receiver.unavailable = True
    await receiver.start(port)
    await until(lambda: sender.stats.failures.get("http_5xx", 0) >= 10, "attempts against a 503 collector")
    assert receiver.stored_seqs() == []
    receiver.unavailable = False
    outage_s = asyncio.get_running_loop().time() - outage_began
    await until(lambda: outbox.stats().depth == 0, "the outbox to drain")
    await sender.stop()
    await task
    await receiver.stop()

    delivered = receiver.received
    assert delivered == list(range(1, 5001)), "every event once, in order, no gap"
    assert receiver.stored_seqs() == list(range(1, 5001))
    assert sender.stats.events_acked == 5000
    assert sender.stats.duplicates == 0
    assert receiver.gzipped == receiver.requests, "every batch went gzip'd"
    print(
        f"outage: events=5000 stored={len(receiver.stored_seqs())} duplicates_received="
        f"{len(delivered) - len(set(delivered))} lost={5000 - len(receiver.stored_seqs())} "
        f"refused_connections={refused} http_503={sender.stats.failures['http_5xx']} "
        f"batches={sender.stats.batches_ok} outage_s={outage_s:.2f}"
    )


async def test_a_new_event_wakes_an_idle_sender(outbox: Outbox, receiver: Receiver) -> None:
    sender = make_sender(outbox, receiver.url)
    task = asyncio.create_task(sender.run())
    await asyncio.to_thread(outbox.add_poll, poll("p", 1))
    await until(lambda: receiver.stored_seqs() == [1], "the first event to arrive")
    # The sender has nothing queued now and waits; only the next add can wake it.
    await asyncio.to_thread(outbox.add_poll, poll("p", 2))
    await until(lambda: receiver.stored_seqs() == [1, 2], "the second event to arrive")
    await sender.stop()
    await task
    assert receiver.requests == 2, "an idle sender does not poll the collector"


async def test_stop_drains_what_is_queued(outbox: Outbox, receiver: Receiver) -> None:
    sender = make_sender(outbox, receiver.url, batch_max_events=7)
    for n in range(50):
        await asyncio.to_thread(outbox.add_poll, poll("p", n))
    task = asyncio.create_task(sender.run())
    await sender.stop(deadline=30.0)
    await task
    assert receiver.stored_seqs() == list(range(1, 51))
    assert outbox.stats().depth == 0


async def test_stop_gives_up_at_the_deadline_and_keeps_the_events(outbox: Outbox) -> None:
    sender = make_sender(outbox, f"http://127.0.0.1:{free_port()}/api/v1/reports")
    await asyncio.to_thread(outbox.add_poll, poll("p", 1))
    task = asyncio.create_task(sender.run())
    await until(lambda: sender.stats.failures.get("connection", 0) >= 1, "a failed attempt")
    await sender.stop(deadline=0.5)
    await task
    assert outbox.stats().depth == 1


async def test_stop_abandons_a_request_the_collector_never_answers(outbox: Outbox) -> None:
    """A hung collector cannot hold the agent's shutdown past the deadline; the event stays queued."""
    receiver = Receiver()
    hang = asyncio.Event()

    async def never_answer() -> None:
        await hang.wait()

    receiver.after_store = never_answer
    await receiver.start()
    await asyncio.to_thread(outbox.add_poll, poll("p", 1))
    sender = make_sender(outbox, receiver.url, request_timeout=3600.0)
    task = asyncio.create_task(sender.run())
    await until(lambda: receiver.stored_seqs() == [1], "the request to be in flight")
    await sender.stop(deadline=0.1)
    with pytest.raises(asyncio.CancelledError):
        await task
    hang.set()
    await receiver.stop()
    assert outbox.stats().depth == 1, "not acknowledged, so still queued (the collector dedupes the resend)"


# -- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("token", "status"), [("wrong-token-xyz", 401), (OTHER_TOKEN, 403)])
async def test_refused_token_keeps_the_data_and_never_logs_the_token(
    outbox: Outbox, receiver: Receiver, caplog: pytest.LogCaptureFixture, token: str, status: int
) -> None:
    for n in range(5):
        await asyncio.to_thread(outbox.add_poll, poll("p", n))
    sender = make_sender(outbox, receiver.url, token=token)
    with caplog.at_level(logging.DEBUG):
        task = asyncio.create_task(sender.run())
        await until(lambda: sender.stats.failures.get(f"http_{status}", 0) == 1, "the refusal")
        await until(lambda: "delivery paused" in caplog.text, "the long pause")
        assert receiver.requests == 1, "a refused token waits long before trying again"
        await sender.stop(deadline=0.0)
        await task
    assert outbox.stats().depth == 5
    assert sender.stats.parked == 0
    assert "check the token" in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage() and token not in repr(record.__dict__)


async def test_a_refused_event_is_parked_and_the_rest_flows(outbox: Outbox, receiver: Receiver) -> None:
    receiver.poison_devices = {"bad"}
    for n in range(100):
        await asyncio.to_thread(outbox.add_poll, poll("bad" if n == 42 else f"p{n % 5}", n))
    sender = make_sender(outbox, receiver.url, batch_max_events=64)
    task = asyncio.create_task(sender.run())
    await until(lambda: outbox.stats().depth == 0, "the queue to flow past the bad event")
    await sender.stop()
    await task
    assert receiver.stored_seqs() == [s for s in range(1, 101) if s != 43]
    assert sender.stats.parked == 1
    assert outbox.stats().parked == 1


async def test_too_large_batches_split_and_a_too_large_event_is_parked(outbox: Outbox) -> None:
    receiver = Receiver(max_body=4096)
    await receiver.start()
    for n in range(60):
        await asyncio.to_thread(outbox.add_poll, poll(f"p{n}", n))
    # Too large for the collector's body limit, though every field of it fits the report.
    reading = DeviceReading(address="10.1.0.2", partial={f"table{i}": "x" * 200 for i in range(50)})
    huge = DevicePoll(device="huge", address="10.1.0.2", status="error", polled_at=0.0, reading=reading)
    await asyncio.to_thread(outbox.add_poll, huge)
    await asyncio.to_thread(outbox.add_poll, poll("after", 61))
    sender = make_sender(outbox, receiver.url, batch_max_events=1000, gzip=False)
    task = asyncio.create_task(sender.run())
    await until(lambda: outbox.stats().depth == 0, "the queue to flow")
    await sender.stop()
    await task
    await receiver.stop()
    assert receiver.stored_seqs() == [*range(1, 61), 62]
    assert sender.stats.parked == 1
    assert sender.stats.failures["http_413"] > 1, "the big batch was split before the event was found"


async def test_an_envelope_refusal_parks_nothing(outbox: Outbox, receiver: Receiver) -> None:
    receiver.refuse_envelope = True
    for n in range(8):
        await asyncio.to_thread(outbox.add_poll, poll("p", n))
    sender = make_sender(outbox, receiver.url)
    task = asyncio.create_task(sender.run())
    await until(lambda: sender.stats.failures.get("http_400", 0) >= 4, "the split down to one event")
    # 8 -> 4 -> 2 -> 1 event, then the empty-batch probe: five requests, then the long pause.
    await until(lambda: receiver.requests >= 5, "the empty-batch probe")
    await sender.stop(deadline=0.0)
    await task
    assert sender.stats.parked == 0
    assert outbox.stats().depth == 8
    assert receiver.requests == 5


async def test_a_recreated_outbox_is_renumbered_above_the_collectors_seq(
    outbox: Outbox, receiver: Receiver
) -> None:
    """A gateway reinstalled with an empty outbox must not have its new events taken for duplicates."""
    receiver.stored[AGENT] = {seq: b"{}" for seq in range(1, 1001)}
    for n in range(5):
        await asyncio.to_thread(outbox.add_poll, poll("p", n))
    sender = make_sender(outbox, receiver.url)
    task = asyncio.create_task(sender.run())
    await until(lambda: outbox.stats().depth == 0, "the renumbered events to arrive")
    await sender.stop()
    await task
    assert receiver.stored_seqs()[-5:] == [1001, 1002, 1003, 1004, 1005]
    assert await asyncio.to_thread(outbox.add_poll, poll("p", 9)) == 1006


# -- TLS with the city's CA and client certificates ------------------------------------------------


@pytest.mark.parametrize(
    ("use_ca", "use_client_cert", "failure"),
    [(True, True, None), (True, False, "connection"), (False, True, "tls")],
    ids=["ca-and-client-cert", "no-client-cert", "collector-not-trusted"],
)
async def test_tls_needs_the_ca_and_a_client_certificate(
    pki: Pki, outbox: Outbox, use_ca: bool, use_client_cert: bool, failure: str | None
) -> None:
    """A collector that demands client certificates; an agent trusts it only through ``ca_file``."""
    receiver = Receiver()
    await receiver.start(ssl_context=pki.server_context())
    await asyncio.to_thread(outbox.add_poll, poll("p", 1))
    sender = make_sender(
        outbox,
        receiver.url,
        ca_file=pki.ca if use_ca else None,
        client_cert=(pki.client_cert, pki.client_key) if use_client_cert else None,
    )
    task = asyncio.create_task(sender.run())
    try:
        if failure is None:
            await until(lambda: receiver.stored_seqs() == [1], "delivery over TLS")
        else:
            await until(lambda: sender.stats.failures.get(failure, 0) >= 2, "refused handshakes")
    finally:
        await sender.stop(deadline=0.0)
        await task
        await receiver.stop()
    assert outbox.stats().depth == (0 if failure is None else 1)
    assert receiver.stored_seqs() == ([1] if failure is None else [])


# -- SIGKILL in the middle of a batch ----------------------------------------------------------------


def _spawn_agent(outbox_path: Path, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, str(outbox_path), url],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.integration
async def test_agent_killed_mid_batch_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    outbox_path = tmp_path / "outbox.sqlite3"
    total = 3000

    def fill() -> None:
        box = Outbox(outbox_path)
        for n in range(total):
            box.add_poll(poll(f"d{n % 30}", n))
        box.close()

    await asyncio.to_thread(fill)
    receiver = Receiver()
    await receiver.start()
    agents = [_spawn_agent(outbox_path, receiver.url)]
    kills = 0

    async def kill_after_storing() -> None:
        # The batch is stored; the agent dies before it hears so. Twice, at different points.
        nonlocal kills
        if kills < 2 and len(receiver.stored_seqs()) >= 700 * (kills + 1):
            kills += 1
            agents[-1].send_signal(signal.SIGKILL)
            await asyncio.to_thread(agents[-1].wait)

    receiver.after_store = kill_after_storing
    try:
        for _ in range(2):
            await until(lambda: agents[-1].poll() is not None, "the agent to be killed")
            assert agents[-1].returncode == -signal.SIGKILL
            agents.append(_spawn_agent(outbox_path, receiver.url))
        await until(lambda: len(receiver.stored_seqs()) == total, "every event to arrive")
        agents[-1].send_signal(signal.SIGTERM)
        await asyncio.to_thread(agents[-1].wait, 30)
    finally:
        for agent in agents:
            if agent.poll() is None:
                agent.kill()
        await receiver.stop()
    assert agents[-1].returncode == 0
    duplicates = len(receiver.received) - len(set(receiver.received))
    assert receiver.stored_seqs() == list(range(1, total + 1)), "none lost"
    assert sorted(set(receiver.received)) == receiver.stored_seqs()
    assert duplicates > 0, "the killed batches were sent again (and deduplicated), not lost"
    assert (await asyncio.to_thread(Outbox, outbox_path)).stats().depth == 0
    print(
        f"sigkill: events={total} kills={kills} received={len(receiver.received)} duplicates={duplicates} stored={len(receiver.stored_seqs())} lost=0"
    )


async def _agent_main(outbox_path: str, url: str) -> None:
    """The agent side of the SIGKILL test: send until SIGTERM, then drain and exit 0."""
    outbox = Outbox(outbox_path)
    sender = make_sender(outbox, url, batch_max_events=100)
    task = asyncio.create_task(sender.run())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await sender.stop()
    await task
    outbox.close()


if __name__ == "__main__":
    asyncio.run(_agent_main(sys.argv[1], sys.argv[2]))


# -- batches: samples wait for company, news goes at once -----------------------------------------------


async def test_samples_wait_for_company_and_news_takes_them_along(outbox: Outbox, receiver: Receiver) -> None:
    sender = make_sender(outbox, receiver.url, batch_wait_s=30.0)
    task = asyncio.create_task(sender.run())
    await asyncio.to_thread(
        outbox.add_poll, poll("printer-1", 1)
    )  # a device's first poll is news: it goes at once
    # Its acknowledgement taken in too: the samples below then wait on their own, whatever the load.
    await until(lambda: receiver.stored_seqs() == [1] and outbox.stats().depth == 0, "the first poll")
    for n in range(2, 6):
        await asyncio.to_thread(outbox.add_poll, poll("printer-1", n))  # the same state again: samples
    await asyncio.to_thread(outbox.add_heartbeat, Heartbeat(agent_version="t", uptime_s=1.0))
    await asyncio.sleep(0.5)
    assert receiver.stored_seqs() == [1] and outbox.stats().depth == 5, "samples wait"
    await asyncio.to_thread(outbox.add_poll, replace(poll("printer-1", 6), status="unreachable"))
    await until(lambda: receiver.stored_seqs() == list(range(1, 8)), "the news, and the samples with it")
    assert receiver.requests == 2
    assert receiver.gzipped == 0, "batches this small go uncompressed"
    await sender.stop()
    await task


async def test_the_collectors_ack_turns_compact_events_on_and_asks_for_full_ones(
    outbox: Outbox, receiver: Receiver
) -> None:
    reading = DeviceReading(address="10.1.0.1", kind="printer", system=SystemInfo(uptime_s=1.0))
    sender = make_sender(outbox, receiver.url)
    task = asyncio.create_task(sender.run())
    await asyncio.to_thread(outbox.add_poll, replace(poll("printer-1", 1), reading=reading))
    await until(lambda: len(receiver.stored_seqs()) == 1, "the first poll")
    await asyncio.to_thread(outbox.add_poll, replace(poll("printer-1", 2), reading=reading))
    await until(lambda: len(receiver.stored_seqs()) == 2, "a poll to a collector of schema 1")
    receiver.schema_version = 2
    receiver.full_wanted = ["printer-1"]
    await asyncio.to_thread(
        outbox.add_poll, replace(poll("printer-1", 3), reading=reading)
    )  # still full: no ack said 2 yet
    await until(lambda: len(receiver.stored_seqs()) == 3, "the poll whose ack says version 2")
    for n in (4, 5):  # the first is full as the collector asked, the next compact
        await asyncio.to_thread(outbox.add_poll, replace(poll("printer-1", n), reading=reading))
        await until(lambda n=n: len(receiver.stored_seqs()) == n, f"poll {n}")  # type: ignore[misc]
    types = [msgspec.json.decode(receiver.stored[AGENT][seq])["type"] for seq in range(1, 6)]
    assert types == ["poll", "poll", "poll", "poll", "unchanged"]
    await sender.stop()
    await task

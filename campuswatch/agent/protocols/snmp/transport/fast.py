"""The fast path: our own BER codec on ONE asyncio UDP socket shared by every device, for SNMP v1, v2c
and v3 (USM: :mod:`~campuswatch.agent.protocols.snmp.transport.v3`).

Replies are routed to their request by request-id (v3: msgID, which we make equal to it) and checked
against the address they came from; a v3 reply is then authenticated and decrypted before it counts,
and one that fails is dropped as if it had not come. Timeouts and retries are loop timers, not tasks, so
a thousand outstanding polls cost a thousand timer handles. In-flight requests are bounded and the
socket gets a large receive buffer: more than about 100 replies arriving at once overflow a default
buffer and look like timeouts.

SNMPv3 adds to each request what USM needs: the agent's engine is discovered by the first request to
it (one more exchange, shared by concurrent requests), keys are localised to it once, and the agent's
reports steer the rest: usmStatsUnknownEngineIDs (a new engine at that address) discovers again,
usmStatsNotInTimeWindows (authenticated: the agent rebooted) takes its clock and sends again, and
unknown user, wrong digest, decryption error or unsupported level fail as ``SnmpAuthError``.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from campuswatch.agent.protocols.snmp.transport import ber, usm
from campuswatch.agent.protocols.snmp.transport.backend import PduKind, Reply
from campuswatch.agent.protocols.snmp.transport.types import (
    Oid,
    SnmpAuthError,
    SnmpError,
    SnmpReplyError,
    SnmpTarget,
    SnmpTimeout,
    SnmpValue,
    V3User,
)
from campuswatch.agent.protocols.snmp.transport.v3 import Discard, Engine, LocalKeys, Usm, refusal, reports

log = logging.getLogger(__name__)

_PDU_TAGS: dict[PduKind, int] = {
    "get": ber.GET,
    "getnext": ber.GETNEXT,
    "getbulk": ber.GETBULK,
    "set": ber.SET,
}
_VERSIONS = {"1": ber.VERSION_1, "2c": ber.VERSION_2C}
DEFAULT_RCVBUF = 4 * 1024 * 1024
DEFAULT_MAX_IN_FLIGHT = 100
#: Sends of one v3 request at most: the first, one after rediscovering the engine or taking its clock
#: from a notInTimeWindow report, one more for an agent that rebooted in between.
V3_ATTEMPTS = 3

#: Opens an SNMPv3 reply for the request it answers: authenticated, decrypted, its PDU; raises
#: :class:`Discard` to drop it.
Opener = Callable[[ber.V3Message, bytes], ber.Pdu]


@dataclass(slots=True)
class _Pending:
    request_id: int
    future: asyncio.Future[ber.Pdu]
    addr: tuple[str, int]
    packet: bytes
    attempts_left: int
    timeout_s: float
    release: Callable[[], None] | None
    #: None for v1/v2c; for v3 how its replies are opened.
    opener: Opener | None = None
    timer: asyncio.TimerHandle | None = field(default=None)

    def free_slot(self) -> None:
        """Give back the in-flight slot, once."""
        if self.release is not None:
            self.release()
            self.release = None


class FastBackend(asyncio.DatagramProtocol):
    """SNMP requests over one UDP socket; implements :class:`campuswatch.agent.protocols.snmp.transport.backend.Backend`."""

    def __init__(self, *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT, rcvbuf: int = DEFAULT_RCVBUF) -> None:
        self._rcvbuf = rcvbuf
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, _Pending] = {}
        self._slots = asyncio.Semaphore(max_in_flight)
        self._next_id = random.randrange(1, 1 << 30)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._addresses: dict[str, str] = {}
        self._usm = Usm()
        #: Engine discoveries under way, by address: concurrent requests to one agent share one.
        self._discovering: dict[tuple[str, int], asyncio.Future[Engine]] = {}

    async def open(self) -> None:
        """Bind the shared socket (any address, a kernel-chosen port)."""
        self._loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        _grow_rcvbuf(sock, self._rcvbuf)
        sock.bind(("0.0.0.0", 0))
        await self._loop.create_datagram_endpoint(lambda: self, sock=sock)

    def close(self) -> None:
        """Close the socket; outstanding requests fail as timeouts."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for pending in list(self._pending.values()):
            self._finish(pending, SnmpTimeout("SNMP client closed"))

    # asyncio.DatagramProtocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport, but is one.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if ber.is_v3(data):
            self._v3_received(data, addr)
            return
        try:
            message = ber.decode_message(data)
        except ber.BerError as err:
            self._malformed(data, addr, err)
            return
        pending = self._pending.get(message.request_id)
        if pending is None or pending.addr != addr[:2] or pending.opener is not None:
            return  # a late duplicate, or a stray packet: nothing waits for it
        self._settle(pending, message, ber.RESPONSE)

    def _v3_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            message = ber.decode_v3_message(data)
        except ber.BerError as err:
            self._malformed(data, addr, err)
            return
        pending = self._pending.get(message.msg_id)
        if pending is None or pending.addr != addr[:2] or pending.opener is None:
            return
        try:
            pdu = pending.opener(message, data)
        except Discard as why:
            # RFC 3414 3.2: dropped, as if never received; the request waits on for the real reply.
            log.debug("dropped SNMPv3 reply", extra={"peer": addr[0], "reason": str(why)})
            return
        except SnmpError as err:
            self._finish(pending, err)
            return
        self._settle(pending, pdu, ber.RESPONSE, ber.REPORT)

    def _settle(self, pending: _Pending, pdu: ber.Pdu, *tags: int) -> None:
        """The request's reply has come: its PDU, or an error if the PDU is none of ``tags``."""
        if pdu.pdu_tag not in tags:
            self._finish(pending, SnmpReplyError(f"reply is not a Response PDU (tag 0x{pdu.pdu_tag:02x})"))
            return
        self._forget(pending)
        if not pending.future.done():
            pending.future.set_result(pdu)

    def error_received(self, exc: Exception) -> None:
        # Without a connected socket the kernel does not say which peer refused; the prober asks later.
        log.debug("udp error on shared SNMP socket", extra={"error": type(exc).__name__})

    # requests ----------------------------------------------------------------------------------------

    def _malformed(self, data: bytes, addr: tuple[str, int], err: ber.BerError) -> None:
        """Fail the request a malformed reply belongs to: by its request-id if that much parses,
        else the only request outstanding to that address."""
        try:
            candidates = [self._pending[ber.request_id_of(data)]]
        except (ber.BerError, KeyError):
            candidates = [p for p in self._pending.values() if p.addr == addr[:2]]
        if len(candidates) == 1 and candidates[0].addr == addr[:2]:
            self._finish(candidates[0], SnmpReplyError(f"malformed SNMP reply: {err}"))
        else:
            log.debug("dropped malformed SNMP datagram", extra={"peer": addr[0], "error": str(err)})

    def _forget(self, pending: _Pending) -> None:
        """The request is settled: stop routing replies and timers to it, free its slot."""
        if self._pending.get(pending.request_id) is pending:
            del self._pending[pending.request_id]
        if pending.timer is not None:
            pending.timer.cancel()
        pending.free_slot()

    def _finish(self, pending: _Pending, exc: Exception) -> None:
        self._forget(pending)
        if not pending.future.done():
            pending.future.set_exception(exc)

    def _expire(self, request_id: int) -> None:
        pending = self._pending.get(request_id)
        if pending is None:
            return
        # A device that let one try expire is not about to flood the socket with replies: its retries
        # run outside the in-flight bound, so dead devices cannot starve the healthy ones of slots.
        pending.free_slot()
        if pending.attempts_left > 0 and self._transport is not None:
            # Resend with the same request-id: a late answer to the first try is as good as any.
            pending.attempts_left -= 1
            self._transport.sendto(pending.packet, pending.addr)
            assert self._loop is not None
            pending.timer = self._loop.call_later(pending.timeout_s, self._expire, request_id)
            return
        self._finish(pending, SnmpTimeout("no SNMP answer"))

    async def _resolve(self, host: str) -> str:
        """The IPv4 address replies will come from; remembered, since replies are matched by address.
        (The fast path is IPv4 only.)"""
        try:
            address = str(ipaddress.IPv4Address(host))
        except ValueError:
            assert self._loop is not None
            try:
                infos = await self._loop.getaddrinfo(
                    host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM
                )
            except OSError:
                raise SnmpTimeout("cannot resolve the device's host name") from None
            address = str(infos[0][4][0])
        self._addresses[host] = address
        return address

    def _new_id(self) -> int:
        self._next_id = self._next_id + 1 if self._next_id < (1 << 31) - 1 else 1
        return self._next_id

    async def request(
        self,
        target: SnmpTarget,
        kind: PduKind,
        varbinds: Sequence[tuple[Oid, SnmpValue | None]],
        max_repetitions: int = 0,
    ) -> Reply:
        """Send one request and wait for its response (see :class:`campuswatch.agent.protocols.snmp.transport.backend.Backend`)."""
        if self._transport is None or self._loop is None:
            raise RuntimeError("FastBackend.open() was not awaited")
        addr = (self._addresses.get(target.host) or await self._resolve(target.host), target.port)
        reps = max_repetitions if kind == "getbulk" else 0
        if target.version == "3":
            pdu = await self._request_v3(target, addr, _PDU_TAGS[kind], varbinds, reps)
        else:
            version, community = _VERSIONS[target.version], target.community.reveal().encode()

            def build(request_id: int) -> tuple[bytes, Opener | None]:
                packet = ber.encode_request(
                    version, community, _PDU_TAGS[kind], request_id, varbinds, max_repetitions=reps
                )
                return packet, None

            pdu = await self._exchange(target, addr, build)
        return Reply(pdu.error_status, pdu.error_index, pdu.varbinds)

    async def _exchange(
        self,
        target: SnmpTarget,
        addr: tuple[str, int],
        build: Callable[[int], tuple[bytes, Opener | None]],
    ) -> ber.Pdu:
        """Send the packet ``build`` makes for a fresh request-id, with the target's timeout and retries,
        within the in-flight bound; the PDU of its reply."""
        assert self._transport is not None and self._loop is not None
        await self._slots.acquire()
        request_id = self._new_id()
        try:
            packet, opener = build(request_id)
        except ber.BerError as err:
            self._slots.release()
            raise SnmpReplyError(f"cannot encode request: {err}") from None
        except BaseException:
            self._slots.release()
            raise
        future: asyncio.Future[ber.Pdu] = self._loop.create_future()
        pending = _Pending(
            request_id, future, addr, packet, target.retries, target.timeout_s, self._slots.release, opener
        )
        self._pending[request_id] = pending
        self._transport.sendto(packet, addr)
        pending.timer = self._loop.call_later(target.timeout_s, self._expire, request_id)
        try:
            return await future
        finally:
            if self._pending.get(request_id) is pending:
                self._finish(pending, SnmpTimeout("request cancelled"))

    # SNMPv3 --------------------------------------------------------------------------------------------

    async def _request_v3(
        self,
        target: SnmpTarget,
        addr: tuple[str, int],
        pdu_tag: int,
        varbinds: Sequence[tuple[Oid, SnmpValue | None]],
        max_repetitions: int,
    ) -> ber.Pdu:
        """One v3 request: discover the engine if need be, send, and follow the agent's reports."""
        user = target.v3
        if user is None:
            raise SnmpAuthError("SNMPv3 target without a v3 user")
        report = None
        for _ in range(V3_ATTEMPTS):
            engine = self._usm.engine(addr) or await self._discover(target, addr)
            keys = await self._usm.keys(user, engine.engine_id)
            build = functools.partial(self._seal, user, keys, engine, pdu_tag, varbinds, max_repetitions)
            report = await self._exchange(target, addr, build)
            if report.pdu_tag != ber.REPORT:
                return report
            where = {"host": target.host, "port": target.port}
            if reports(report, usm.UNKNOWN_ENGINE_IDS):
                log.info(
                    "SNMPv3 engine at this address changed (device replaced?): discovering it", extra=where
                )
                self._usm.forget(addr)
            elif reports(report, usm.NOT_IN_TIME_WINDOWS):
                # Usm.open took the agent's clock from the authenticated report: send again.
                log.info("SNMPv3 agent's clock moved (rebooted?): resynchronised", extra=where)
            else:
                raise refusal(report)
        assert report is not None
        if reports(report, usm.NOT_IN_TIME_WINDOWS):
            raise SnmpAuthError("agent refused our SNMPv3 credentials (usmStatsNotInTimeWindows)")
        raise SnmpReplyError("agent keeps reporting our engine ID unknown (usmStatsUnknownEngineIDs)")

    def _seal(
        self,
        user: V3User,
        keys: LocalKeys,
        engine: Engine,
        pdu_tag: int,
        varbinds: Sequence[tuple[Oid, SnmpValue | None]],
        max_repetitions: int,
        request_id: int,
    ) -> tuple[bytes, Opener]:
        """The sealed v3 request for a request-id, and how to open its reply."""
        pdu = ber.encode_pdu(pdu_tag, request_id, varbinds, max_repetitions=max_repetitions)
        packet, sealed = self._usm.seal(user, keys, engine, request_id, pdu)
        return packet, functools.partial(self._usm.open, sealed)

    async def _discover(self, target: SnmpTarget, addr: tuple[str, int]) -> Engine:
        """The engine at ``addr``, discovered once however many requests wait for it."""
        running = self._discovering.get(addr)
        if running is None:
            running = asyncio.ensure_future(self._discovery(target, addr))
            self._discovering[addr] = running

            def done(future: asyncio.Future[Engine]) -> None:
                self._discovering.pop(addr, None)
                if not future.cancelled():
                    future.exception()  # retrieved: its waiters may all have been cancelled

            running.add_done_callback(done)
        return await asyncio.shield(running)

    async def _discovery(self, target: SnmpTarget, addr: tuple[str, int]) -> Engine:
        def build(request_id: int) -> tuple[bytes, Opener]:
            return ber.encode_v3_discovery(request_id), lambda message, _: self._usm.discovered(addr, message)

        await self._exchange(target, addr, build)
        engine = self._usm.engine(addr)
        assert engine is not None, "Usm.discovered records the engine before the reply counts"
        log.debug(
            "SNMPv3 engine discovered",
            extra={"host": target.host, "port": target.port, "engine_id": engine.engine_id.hex()},
        )
        return engine


def _grow_rcvbuf(sock: socket.socket, size: int) -> None:
    """Ask for a large receive buffer; root may exceed net.core.rmem_max with SO_RCVBUFFORCE."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
            return
        except OSError:
            pass  # not privileged: fall back to what rmem_max allows
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

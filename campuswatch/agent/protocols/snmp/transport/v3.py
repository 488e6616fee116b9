"""SNMPv3 on the fast path: what we know of each agent's engine, keys localised to it, requests sealed
and replies opened with USM (RFC 3414). No sockets: :mod:`~campuswatch.agent.protocols.snmp.transport.fast`
sends what :meth:`Usm.seal` builds and hands each reply to :meth:`Usm.open`.

We are the non-authoritative side: each agent's engine is found by discovery (an empty request that it
answers with a usmStatsUnknownEngineIDs report carrying its engine ID, boots and time), its clock is then
estimated from our monotonic clock and followed by the authenticated messages that come back (RFC 3414
3.2 step 7b), and an authenticated usmStatsNotInTimeWindows report resets it (the agent rebooted, or the
clock drifted). Keys are derived once per password (the megabyte hash, in a thread) and localised once
per engine; both are cached and never printed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from campuswatch.agent.protocols.snmp.transport import ber, usm
from campuswatch.agent.protocols.snmp.transport.types import SnmpAuthError, SnmpReplyError, V3User
from campuswatch.config import Secret

#: Cached keys and engines at most: a sweep over a large subnet must not grow them without end.
CACHE_LIMIT = 4096


class Discard(Exception):
    """A reply to drop and keep waiting for the real one: it fails authentication, is outside the time
    window, or is not for the request it claims to answer. The message says which (never a key)."""


@dataclass(slots=True)
class Engine:
    """An authoritative SNMP engine as we know it (RFC 3414 2.3): its ID and its clock."""

    engine_id: bytes
    boots: int
    #: latestReceivedEngineTime: the engine's time in the newest authentic message...
    time: int
    #: ...and our monotonic clock when it arrived.
    received_at: float

    def clock(self, now: float) -> int:
        """The engine's time now, as far as we can tell."""
        return min(self.time + int(now - self.received_at), usm.MAX_BOOTS)

    def accept(self, boots: int, engine_time: int, now: float) -> bool:
        """An authentic message's boots and time: move our notion of the engine's clock forward, and
        say whether the message is inside the time window (RFC 3414 3.2 step 7b)."""
        if boots > self.boots or (boots == self.boots and engine_time > self.time):
            self.boots, self.time, self.received_at = boots, engine_time, now
        return not (
            boots == usm.MAX_BOOTS
            or boots < self.boots
            or (boots == self.boots and engine_time < self.time - usm.TIME_WINDOW_S)
        )

    def resync(self, boots: int, engine_time: int, now: float) -> None:
        """Take the clock of an authenticated notInTimeWindow report, also backwards: an agent whose
        clock went back would otherwise refuse us until it caught up."""
        self.boots, self.time, self.received_at = boots, engine_time, now


@dataclass(frozen=True, slots=True)
class LocalKeys:
    """A user's keys localised to one engine; never printed."""

    auth: bytes = field(repr=False)
    priv: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Sealed:
    """What a request was sent with: its reply must be for the same user, engine and request."""

    user: V3User
    keys: LocalKeys
    engine: Engine
    flags: int
    request_id: int


def security_flags(user: V3User) -> int:
    """msgFlags' security level for a user: authentication if it has an auth protocol and key, privacy
    if it also has a privacy protocol and key (privacy without authentication does not exist)."""
    if user.auth_protocol == "none" or user.auth_key is None:
        return 0
    if user.priv_protocol == "none" or user.priv_key is None:
        return ber.FLAG_AUTH
    return ber.FLAG_AUTH | ber.FLAG_PRIV


def refusal(pdu: ber.Pdu) -> SnmpAuthError | SnmpReplyError:
    """The error a report (other than unknown engine or time window) stands for."""
    for name, _ in pdu.varbinds:
        refused = usm.REFUSALS.get(name)
        if refused is not None:
            return SnmpAuthError(f"agent refused our SNMPv3 credentials ({refused})")
    reported = ", ".join(".".join(map(str, name)) for name, _ in pdu.varbinds[:3]) or "nothing"
    return SnmpReplyError(f"agent answered with a report ({reported})")


def reports(pdu: ber.Pdu, counter: tuple[int, ...]) -> bool:
    """Whether ``pdu`` is a report of this usmStats counter."""
    return pdu.pdu_tag == ber.REPORT and any(name == counter for name, _ in pdu.varbinds)


class Usm:
    """The User-based Security Model's state for one SNMP client: engines by address, cached keys, the
    privacy salt. ``clock`` is monotonic seconds (tests pass their own)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._engines: dict[tuple[str, int], Engine] = {}
        self._ku: dict[tuple[usm.AuthName, Secret], bytes] = {}
        self._keys: dict[tuple[bytes, V3User], LocalKeys] = {}
        # The salt only has to differ between messages under one key (RFC 3826 3.1.2.1): a counter from
        # a random start, so a restarted agent does not repeat the previous run's salts.
        self._salt = random.getrandbits(64)

    # engines -------------------------------------------------------------------------------------------

    def engine(self, addr: tuple[str, int]) -> Engine | None:
        """The engine answering at ``addr``, if discovered."""
        return self._engines.get(addr)

    def forget(self, addr: tuple[str, int]) -> None:
        """Discover the engine at ``addr`` again (it reported our engine ID unknown: a new device)."""
        self._engines.pop(addr, None)

    def discovered(self, addr: tuple[str, int], message: ber.V3Message) -> ber.Pdu:
        """Open the reply to a discovery request and remember the engine it names. Its clock is taken
        as given, unauthenticated (nothing to authenticate with yet): a wrong one costs one
        notInTimeWindow report, which is authenticated and corrects it."""
        _, _, pdu = _scoped(message.scoped)
        if pdu.pdu_tag != ber.REPORT or not message.usm.engine_id:
            raise Discard("reply to an engine discovery is not a report naming an engine")
        if len(self._engines) >= CACHE_LIMIT:
            self._engines.clear()
        parameters = message.usm
        engine = Engine(parameters.engine_id, parameters.boots, parameters.time, self._clock())
        self._engines[addr] = engine
        return pdu

    # keys ----------------------------------------------------------------------------------------------

    async def keys(self, user: V3User, engine_id: bytes) -> LocalKeys:
        """The user's keys localised to the engine. Deriving a key from a password hashes a megabyte
        (1-2 ms that release the GIL): done in a thread, once per password."""
        cached = self._keys.get((engine_id, user))
        if cached is not None:
            return cached
        flags = security_flags(user)
        auth = priv = b""
        if flags & ber.FLAG_AUTH:
            assert user.auth_key is not None and user.auth_protocol != "none"
            protocol = user.auth_protocol
            auth = usm.localize_key(await self._password_key(protocol, user.auth_key), engine_id, protocol)
            if flags & ber.FLAG_PRIV:
                assert user.priv_key is not None and user.priv_protocol != "none"
                kul = usm.localize_key(await self._password_key(protocol, user.priv_key), engine_id, protocol)
                priv = usm.privacy_key(kul, protocol, user.priv_protocol)
        if len(self._keys) >= CACHE_LIMIT:
            self._keys.clear()
        keys = self._keys[(engine_id, user)] = LocalKeys(auth, priv)
        return keys

    async def _password_key(self, auth: usm.AuthName, password: Secret) -> bytes:
        ku = self._ku.get((auth, password))
        if ku is None:
            try:
                ku = await asyncio.to_thread(usm.password_to_key, password.reveal().encode(), auth)
            except usm.UsmError as err:
                raise SnmpAuthError(str(err)) from None
            if len(self._ku) >= CACHE_LIMIT:
                self._ku.clear()
            self._ku[(auth, password)] = ku
        return ku

    # messages ------------------------------------------------------------------------------------------

    def seal(
        self, user: V3User, keys: LocalKeys, engine: Engine, request_id: int, pdu: bytes
    ) -> tuple[bytes, Sealed]:
        """The request message for an encoded PDU (msgID = request-id), encrypted and signed as the
        user's security level says, and what its reply must match."""
        flags = security_flags(user)
        name, context = user.user.encode(), user.context.encode()
        if len(name) > ber.MAX_ADMIN_STRING or len(context) > ber.MAX_ADMIN_STRING:
            # An agent drops such a request unanswered: say why instead of timing out.
            raise SnmpAuthError("SNMPv3 user or context name longer than 32 octets (RFC 3411)")
        engine_time = engine.clock(self._clock())
        scoped = ber.encode_scoped_pdu(engine.engine_id, context, pdu)
        priv_parameters = b""
        if flags & ber.FLAG_PRIV:
            assert user.priv_protocol != "none"
            self._salt = (self._salt + 1) & 0xFFFFFFFFFFFFFFFF
            scoped, priv_parameters = usm.encrypt(
                user.priv_protocol,
                keys.priv,
                scoped,
                boots=engine.boots,
                engine_time=engine_time,
                salt=self._salt,
            )
        auth = user.auth_protocol if flags & ber.FLAG_AUTH else "none"
        mac_length = usm.AUTH[auth].mac_length if auth != "none" else 0
        parameters = ber.UsmParameters(
            engine.engine_id,
            engine.boots,
            engine_time,
            name,
            bytes(mac_length),
            priv_parameters,
        )
        message, offset = ber.encode_v3_message(request_id, flags | ber.FLAG_REPORTABLE, parameters, scoped)
        if auth != "none":
            message = usm.sign(auth, keys.auth, message, offset)
        return message, Sealed(user, keys, engine, flags, request_id)

    def open(self, sealed: Sealed, message: ber.V3Message, data: bytes) -> ber.Pdu:
        """The PDU of a reply to the request ``sealed`` describes, authenticated and decrypted.

        Raises :class:`Discard` for a reply to ignore (RFC 3414 3.2 drops those silently), and
        :class:`SnmpAuthError` for an authentic reply we cannot decrypt (the agent's privacy password
        differs from ours). Reports may come unauthenticated (the agent could not authenticate us);
        responses must come at the level we asked for."""
        user, parameters = sealed.user, message.usm
        level = message.flags & (ber.FLAG_AUTH | ber.FLAG_PRIV)
        if parameters.user != user.user.encode():
            raise Discard("reply for another user")
        if level & ber.FLAG_AUTH:
            if not sealed.flags & ber.FLAG_AUTH or parameters.engine_id != sealed.engine.engine_id:
                raise Discard("authenticated reply from another engine or for a user without a key")
            assert user.auth_protocol != "none"
            try:
                usm.verify(user.auth_protocol, sealed.keys.auth, data, message.auth_offset, parameters.auth)
            except usm.UsmError as err:
                raise Discard(str(err)) from None
        elif level & ber.FLAG_PRIV:
            raise Discard("privacy without authentication")
        scoped = message.scoped
        if level & ber.FLAG_PRIV:
            if not sealed.flags & ber.FLAG_PRIV:
                raise Discard("encrypted reply to a request without privacy")
            assert user.priv_protocol != "none"
            try:
                scoped = usm.decrypt(
                    user.priv_protocol,
                    sealed.keys.priv,
                    scoped,
                    parameters.priv,
                    boots=parameters.boots,
                    engine_time=parameters.time,
                )
            except usm.UsmError as err:
                raise Discard(str(err)) from None
        try:
            _, _, pdu = _scoped(scoped, padded=user.priv_protocol == "des" and bool(level & ber.FLAG_PRIV))
        except SnmpReplyError:
            if level & ber.FLAG_PRIV:
                # Authentic, so from the agent, yet not readable: its privacy key is not ours.
                raise SnmpAuthError(
                    "agent's reply does not decrypt with our SNMPv3 privacy key (wrong privacy password?)"
                ) from None
            raise
        if pdu.pdu_tag == ber.REPORT:
            if level & ber.FLAG_AUTH and reports(pdu, usm.NOT_IN_TIME_WINDOWS):
                sealed.engine.resync(parameters.boots, parameters.time, self._clock())
            return pdu
        if level != sealed.flags:
            raise Discard("reply at another security level than the request")
        if pdu.request_id != sealed.request_id:
            raise Discard("reply names another request")
        if level & ber.FLAG_AUTH and not sealed.engine.accept(
            parameters.boots, parameters.time, self._clock()
        ):
            raise Discard("reply outside the time window")
        return pdu


def _scoped(data: bytes, *, padded: bool = False) -> tuple[bytes, bytes, ber.Pdu]:
    try:
        return ber.decode_scoped_pdu(data, padded=padded)
    except ber.BerError as err:
        raise SnmpReplyError(f"malformed SNMPv3 scoped PDU: {err}") from None

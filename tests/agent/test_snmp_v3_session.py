"""The fast path's SNMPv3 state without a socket: requests sealed, replies opened or dropped as RFC 3414
says, the engine's clock followed and reset, keys derived once per password and localised per engine.

The "agent" here is a few lines built from the codec and USM functions, playing the authoritative
side; that it agrees with a real agent is what tests/agent/test_snmp_snmpd.py shows against net-snmp.
"""

from __future__ import annotations

import dataclasses

import pytest

from campuswatch.agent.protocols.snmp.transport import ber, usm
from campuswatch.agent.protocols.snmp.transport.types import (
    Oid,
    SnmpAuthError,
    SnmpReplyError,
    SnmpValue,
    V3User,
)
from campuswatch.agent.protocols.snmp.transport.v3 import (
    Discard,
    Engine,
    LocalKeys,
    Sealed,
    Usm,
    refusal,
    reports,
)
from campuswatch.config import Secret

ENGINE_ID = b"\x80\x00\x1f\x88\x80agent-1"
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
USERS = {
    "sha256-aes128": V3User("u256", "sha256", Secret("auth-pass-256"), "aes128", Secret("priv-pass-128")),
    "sha-aes256": V3User("usha", "sha", Secret("auth-sha1-pass"), "aes256", Secret("priv-aes256-p")),
    "md5-des": V3User("umd5", "md5", Secret("auth-md5-pass"), "des", Secret("priv-des-pass")),
    "sha512-aes192": V3User("u512", "sha512", Secret("auth-512-pass"), "aes192", Secret("priv-192-pass")),
    "sha224-authnopriv": V3User("u224", "sha224", Secret("auth-224-pass"), "none", None),
    "noauth": V3User("public-v3", "none", None, "none", None),
}


class Clock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Agent:
    """The authoritative side of one engine: opens our requests, answers them as the user's level says."""

    def __init__(self, keys: LocalKeys, boots: int = 4, engine_time: int = 5000) -> None:
        self.keys, self.boots, self.time = keys, boots, engine_time

    def read(self, user: V3User, packet: bytes) -> tuple[ber.V3Message, ber.Pdu]:
        message = ber.decode_v3_message(packet)
        scoped = message.scoped
        if message.flags & ber.FLAG_AUTH:
            assert user.auth_protocol != "none"
            usm.verify(user.auth_protocol, self.keys.auth, packet, message.auth_offset, message.usm.auth)
        if message.flags & ber.FLAG_PRIV:
            assert user.priv_protocol != "none"
            p = message.usm
            scoped = usm.decrypt(
                user.priv_protocol, self.keys.priv, scoped, p.priv, boots=p.boots, engine_time=p.time
            )
        return message, ber.decode_scoped_pdu(scoped, padded=True)[2]

    def reply(
        self,
        user: V3User,
        msg_id: int,
        varbinds: list[tuple[Oid, SnmpValue | None]],
        *,
        tag: int = ber.RESPONSE,
        flags: int | None = None,
        engine_id: bytes = ENGINE_ID,
        boots: int | None = None,
        engine_time: int | None = None,
        priv_key: bytes | None = None,
    ) -> bytes:
        level = _level(user) if flags is None else flags
        boots = self.boots if boots is None else boots
        engine_time = self.time if engine_time is None else engine_time
        pdu = ber.encode_pdu(tag, msg_id, varbinds)
        scoped = ber.encode_scoped_pdu(engine_id, b"", pdu)
        salt = b""
        if level & ber.FLAG_PRIV:
            assert user.priv_protocol != "none"
            key = self.keys.priv if priv_key is None else priv_key
            scoped, salt = usm.encrypt(
                user.priv_protocol, key, scoped, boots=boots, engine_time=engine_time, salt=99
            )
        length = (
            usm.AUTH[user.auth_protocol].mac_length
            if level & ber.FLAG_AUTH and user.auth_protocol != "none"
            else 0
        )
        parameters = ber.UsmParameters(engine_id, boots, engine_time, user.user.encode(), bytes(length), salt)
        message, offset = ber.encode_v3_message(msg_id, level, parameters, scoped)
        if length:
            assert user.auth_protocol != "none"
            message = usm.sign(user.auth_protocol, self.keys.auth, message, offset)
        return message


def _level(user: V3User) -> int:
    if user.auth_protocol == "none":
        return 0
    return ber.FLAG_AUTH | (ber.FLAG_PRIV if user.priv_protocol != "none" else 0)


async def _session(user: V3User, clock: Clock | None = None) -> tuple[Usm, Engine, LocalKeys, Agent]:
    """A Usm that discovered ENGINE_ID at 10.0.0.1 (boots 4, time 5000), the user's keys, the agent."""
    session = Usm(clock or Clock())
    discovery = ber.decode_v3_message(
        ber.encode_v3_message(
            1,
            0,
            ber.UsmParameters(ENGINE_ID, 4, 5000, b"", b"", b""),
            ber.encode_scoped_pdu(b"", b"", ber.encode_pdu(ber.REPORT, 1, [(usm.UNKNOWN_ENGINE_IDS, 1)])),
        )[0]
    )
    assert session.discovered(("10.0.0.1", 161), discovery).pdu_tag == ber.REPORT
    engine = session.engine(("10.0.0.1", 161))
    assert engine is not None and engine.engine_id == ENGINE_ID
    keys = await session.keys(user, ENGINE_ID)
    return session, engine, keys, Agent(keys)


def _request(
    session: Usm, user: V3User, keys: LocalKeys, engine: Engine, request_id: int = 41
) -> tuple[bytes, Sealed]:
    return session.seal(
        user, keys, engine, request_id, ber.encode_pdu(ber.GET, request_id, [(SYS_NAME, None)])
    )


@pytest.mark.parametrize("name", list(USERS))
async def test_requests_are_sealed_and_replies_opened_at_each_level(name: str) -> None:
    user = USERS[name]
    session, engine, keys, agent = await _session(user)
    packet, sealed = _request(session, user, keys, engine)
    message, pdu = agent.read(user, packet)
    assert message.flags == _level(user) | ber.FLAG_REPORTABLE
    assert (message.msg_id, pdu.request_id, pdu.varbinds) == (41, 41, [(SYS_NAME, None)])
    assert (message.usm.engine_id, message.usm.user, message.usm.boots, message.usm.time) == (
        ENGINE_ID,
        user.user.encode(),
        4,
        5000,
    )
    if _level(user) & ber.FLAG_PRIV:
        assert b"\x06\x08+\x06\x01\x02\x01\x01\x05\x00" not in packet  # sysName's OID travels encrypted
    reply = agent.reply(user, 41, [(SYS_NAME, b"drucker-101")])
    opened = session.open(sealed, ber.decode_v3_message(reply), reply)
    assert (opened.pdu_tag, opened.varbinds) == (ber.RESPONSE, [(SYS_NAME, b"drucker-101")])


async def test_engine_time_goes_on_with_our_clock() -> None:
    clock = Clock()
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user, clock)
    clock.now += 61.7
    message, _ = agent.read(user, _request(session, user, keys, engine)[0])
    assert (message.usm.boots, message.usm.time) == (4, 5061)


def _open(session: Usm, sealed: Sealed, reply: bytes) -> ber.Pdu:
    return session.open(sealed, ber.decode_v3_message(reply), reply)


async def test_a_reply_with_a_changed_octet_is_dropped() -> None:
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    reply = bytearray(agent.reply(user, 41, [(SYS_NAME, b"drucker-101")]))
    reply[-3] ^= 0x20
    with pytest.raises(Discard, match="authentication failed"):
        _open(session, sealed, bytes(reply))


async def test_an_unauthenticated_response_to_an_authenticated_request_is_dropped() -> None:
    """Otherwise anyone on the school's LAN could answer for the printer."""
    user = USERS["sha224-authnopriv"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    with pytest.raises(Discard, match="another security level"):
        _open(session, sealed, agent.reply(user, 41, [(SYS_NAME, b"forged")], flags=0))


async def test_a_plaintext_response_to_an_encrypted_request_is_dropped() -> None:
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    with pytest.raises(Discard, match="another security level"):
        _open(session, sealed, agent.reply(user, 41, [(SYS_NAME, b"x")], flags=ber.FLAG_AUTH))


async def test_replies_from_another_engine_user_or_request_are_dropped() -> None:
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    with pytest.raises(Discard, match="another engine"):
        _open(session, sealed, agent.reply(user, 41, [], engine_id=b"\x80other-engine"))
    with pytest.raises(Discard, match="another request"):
        _open(session, sealed, agent.reply(user, 42, []))
    other = V3User("someone", "sha256", Secret("auth-pass-256"), "aes128", Secret("priv-pass-128"))
    with pytest.raises(Discard, match="another user"):
        _open(session, sealed, Agent(keys).reply(other, 41, []))


async def test_a_replayed_reply_from_before_the_time_window_is_dropped() -> None:
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    with pytest.raises(Discard, match="time window"):
        _open(session, sealed, agent.reply(user, 41, [], engine_time=5000 - 151))
    with pytest.raises(Discard, match="time window"):
        _open(session, sealed, agent.reply(user, 41, [], boots=3))
    _open(session, sealed, agent.reply(user, 41, [], engine_time=5000 - 150))  # inside: accepted


def test_the_engine_clock_only_moves_forward_on_replies_and_may_move_back_on_resync() -> None:
    engine = Engine(ENGINE_ID, boots=4, time=5000, received_at=100.0)
    assert engine.clock(130.9) == 5030
    assert engine.accept(4, 5100, now=140.0) and (engine.boots, engine.time, engine.received_at) == (
        4,
        5100,
        140.0,
    )
    assert engine.accept(4, 5000, now=150.0) and engine.time == 5100  # older but inside the window: kept ours
    assert engine.accept(5, 3, now=160.0) and (engine.boots, engine.time) == (5, 3)  # the agent rebooted
    assert not engine.accept(4, 9999, now=170.0)
    assert not engine.accept(usm.MAX_BOOTS, 1, now=170.0)
    engine.resync(5, 1, now=200.0)
    assert engine.clock(210.0) == 11


async def test_an_authenticated_not_in_time_window_report_resets_the_clock() -> None:
    clock = Clock()
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user, clock)
    _, sealed = _request(session, user, keys, engine)
    # The agent rebooted: boots 5, time 12; it reports authNoPriv as RFC 3414 3.2 step 7a says.
    report = agent.reply(
        user, 41, [(usm.NOT_IN_TIME_WINDOWS, 1)], tag=ber.REPORT, flags=ber.FLAG_AUTH, boots=5, engine_time=12
    )
    pdu = _open(session, sealed, report)
    assert reports(pdu, usm.NOT_IN_TIME_WINDOWS)
    clock.now += 3
    message, _ = agent.read(user, _request(session, user, keys, engine)[0])
    assert (message.usm.boots, message.usm.time) == (5, 15)


async def test_an_unauthenticated_not_in_time_window_report_changes_nothing() -> None:
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    report = agent.reply(
        user, 41, [(usm.NOT_IN_TIME_WINDOWS, 1)], tag=ber.REPORT, flags=0, boots=1, engine_time=1
    )
    assert reports(_open(session, sealed, report), usm.NOT_IN_TIME_WINDOWS)
    assert (engine.boots, engine.time) == (4, 5000)


@pytest.mark.parametrize(
    ("counter", "name"),
    [
        (usm.UNKNOWN_USER_NAMES, "usmStatsUnknownUserNames"),
        (usm.WRONG_DIGESTS, "usmStatsWrongDigests"),
        (usm.DECRYPTION_ERRORS, "usmStatsDecryptionErrors"),
        (usm.UNSUPPORTED_SEC_LEVELS, "usmStatsUnsupportedSecLevels"),
    ],
)
async def test_unauthenticated_refusal_reports_are_auth_failures(counter: Oid, name: str) -> None:
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    pdu = _open(session, sealed, agent.reply(user, 41, [(counter, 7)], tag=ber.REPORT, flags=0))
    error = refusal(pdu)
    assert isinstance(error, SnmpAuthError) and error.status == "auth_failed" and name in str(error)


async def test_an_unknown_report_is_a_reply_error() -> None:
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    pdu = _open(
        session,
        sealed,
        agent.reply(user, 41, [((1, 3, 6, 1, 6, 3, 11, 2, 1, 1, 0), 1)], tag=ber.REPORT, flags=0),
    )
    error = refusal(pdu)
    assert isinstance(error, SnmpReplyError) and not isinstance(error, SnmpAuthError)
    assert "1.3.6.1.6.3.11.2.1.1.0" in str(error)


async def test_an_authentic_reply_that_does_not_decrypt_means_a_wrong_privacy_password() -> None:
    user = USERS["sha256-aes128"]
    session, engine, keys, agent = await _session(user)
    _, sealed = _request(session, user, keys, engine)
    reply = agent.reply(user, 41, [(SYS_NAME, b"x" * 40)], priv_key=bytes(16))
    with pytest.raises(SnmpAuthError, match="privacy password"):
        _open(session, sealed, reply)


async def test_discovery_needs_a_report_naming_an_engine() -> None:
    session = Usm(Clock())
    response = ber.encode_v3_message(
        1,
        0,
        ber.UsmParameters(ENGINE_ID, 1, 1, b"", b"", b""),
        ber.encode_scoped_pdu(b"", b"", ber.encode_pdu(ber.RESPONSE, 1, [])),
    )[0]
    with pytest.raises(Discard):
        session.discovered(("10.0.0.1", 161), ber.decode_v3_message(response))
    assert session.engine(("10.0.0.1", 161)) is None


async def test_keys_come_from_each_password_once_and_are_localised_per_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    derived: list[str] = []
    original = usm.password_to_key

    def counting(password: bytes, auth: usm.AuthName) -> bytes:
        derived.append(auth)
        return original(password, auth)

    monkeypatch.setattr(usm, "password_to_key", counting)
    user = USERS["sha-aes256"]
    session = Usm(Clock())
    first = await session.keys(user, b"\x80engine-one")
    again = await session.keys(user, b"\x80engine-one")
    second = await session.keys(user, b"\x80engine-two")
    assert derived == ["sha", "sha"]  # the auth and the privacy password, once each
    assert first is again
    assert first.auth != second.auth and first.priv != second.priv
    assert (len(first.auth), len(first.priv)) == (20, 32)  # SHA-1's key, AES-256's (extended) key
    assert repr(first) == "LocalKeys()"  # keys never print


async def test_an_empty_password_is_an_auth_failure_without_the_secret() -> None:
    user = V3User("u", "sha", Secret(""), "none", None)
    with pytest.raises(SnmpAuthError, match="empty"):
        await Usm(Clock()).keys(user, ENGINE_ID)


async def test_names_longer_than_an_admin_string_are_refused_before_sending() -> None:
    """An agent drops a request whose context name is over 32 octets without a word (snmpsim does)."""
    user = USERS["sha256-aes128"]
    session, engine, keys, _ = await _session(user)
    with pytest.raises(SnmpAuthError, match="longer than 32 octets"):
        _request(session, dataclasses.replace(user, context="c" * 33), keys, engine)
    with pytest.raises(SnmpAuthError, match="longer than 32 octets"):
        _request(session, dataclasses.replace(user, user="u" * 33), keys, engine)
    _request(session, dataclasses.replace(user, context="c" * 32), keys, engine)  # 32 is allowed

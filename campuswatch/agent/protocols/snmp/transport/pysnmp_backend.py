"""The pysnmp backend: every SNMP version, used for IPv6 targets (the fast path's socket is IPv4) and as
the reference the fast path is tested and measured against. This is the only module that imports pysnmp;
pysnmp values become plain values here.

Importing pysnmp and building its engine loads MIB modules from disk, which blocks: call
:func:`build_backend` in a thread (``await asyncio.to_thread(build_backend)``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
    set_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as usm
from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds
from pysnmp.proto import errind, rfc1902, rfc1905

from campuswatch.agent.protocols.snmp.transport.backend import PduKind, Reply
from campuswatch.agent.protocols.snmp.transport.ber import MAX_SUBID, MAX_SUBIDS, Missing, ReplyValue
from campuswatch.agent.protocols.snmp.transport.types import (
    Oid,
    SnmpAuthError,
    SnmpReplyError,
    SnmpTarget,
    SnmpTimeout,
    SnmpValue,
    V3User,
)

log = logging.getLogger(__name__)

_AUTH = {
    "none": usm.USM_AUTH_NONE,
    "md5": usm.USM_AUTH_HMAC96_MD5,
    "sha": usm.USM_AUTH_HMAC96_SHA,
    "sha224": usm.USM_AUTH_HMAC128_SHA224,
    "sha256": usm.USM_AUTH_HMAC192_SHA256,
    "sha384": usm.USM_AUTH_HMAC256_SHA384,
    "sha512": usm.USM_AUTH_HMAC384_SHA512,
}
# AES-192/256 with Blumenthal key extension: what net-snmp's AES-192/AES-256 mean.
_PRIV = {
    "none": usm.USM_PRIV_NONE,
    "des": usm.USM_PRIV_CBC56_DES,
    "aes128": usm.USM_PRIV_CFB128_AES,
    "aes192": usm.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256": usm.USM_PRIV_CFB256_AES_BLUMENTHAL,
}
#: USM reports and engine refusals that mean "your credentials are wrong" (RFC 3414 usmStats*).
_AUTH_INDICATIONS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.DecryptionError,
    errind.NotInTimeWindow,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
)
#: MIB modules pysnmp imports lazily when the first user, community or target is configured.
_CONFIG_MIBS = (
    "PYSNMP-MIB",
    "PYSNMP-SOURCE-MIB",
    "PYSNMP-USM-MIB",
    "SNMPv2-TM",
    # An IPv6 target's address type (found by the blocking-call check: the first IPv6 poll loaded it).
    "TRANSPORT-ADDRESS-MIB",
    "__PYSNMP-USM-MIB",
    "__SNMPv2-MIB",
    "SNMP-COMMUNITY-MIB",
    "SNMP-TARGET-MIB",
    "SNMP-USER-BASED-SM-MIB",
    "SNMP-VIEW-BASED-ACM-MIB",
)
_MISSING = {
    rfc1905.NoSuchObject: Missing.NO_SUCH_OBJECT,
    rfc1905.NoSuchInstance: Missing.NO_SUCH_INSTANCE,
    rfc1905.EndOfMibView: Missing.END_OF_MIB_VIEW,
}


def plain_oid(value: Any) -> Oid:
    """A pysnmp OID as a tuple, within the bounds the fast path's codec holds replies to."""
    oid = tuple(int(n) for n in value)
    if len(oid) > MAX_SUBIDS or any(n > MAX_SUBID for n in oid):
        raise SnmpReplyError(f"OID beyond RFC 2578's bounds ({MAX_SUBIDS} sub-identifiers of at most 2^32-1)")
    return oid


def plain_value(value: Any) -> ReplyValue | None:
    """A pysnmp value as the plain types of :mod:`campuswatch.agent.protocols.snmp.transport.types` (None
    for Null); a number wider than 64 bits or an OID out of bounds is a :class:`SnmpReplyError`."""
    missing = _MISSING.get(type(value))
    if missing is not None:
        return missing
    if isinstance(value, univ.ObjectIdentifier):
        return plain_oid(value)
    if isinstance(value, univ.Null):  # before OctetString: pyasn1's Null subclasses it
        return None
    if isinstance(value, univ.OctetString):  # also IpAddress and Opaque
        return bytes(value.asOctets())
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks, Unsigned32
        number = int(value)
        if not -(1 << 63) <= number < 1 << 64:
            raise SnmpReplyError("number wider than 64 bits: no SNMP type is")
        return number
    raise SnmpReplyError(f"unsupported SNMP value type {type(value).__name__}")


def _pysnmp_value(value: SnmpValue | None) -> Any:
    if value is None:
        return rfc1902.Null("")
    if isinstance(value, int):
        return rfc1902.Integer32(value)
    if isinstance(value, bytes):
        return rfc1902.OctetString(value)
    return rfc1902.ObjectIdentifier(value)


def _usm(user: V3User) -> UsmUserData:
    auth = user.auth_key.reveal() if user.auth_key and user.auth_protocol != "none" else None
    priv = user.priv_key.reveal() if user.priv_key and user.priv_protocol != "none" and auth else None
    return UsmUserData(
        user.user,
        authKey=auth,
        privKey=priv,
        authProtocol=_AUTH[user.auth_protocol] if auth else usm.USM_AUTH_NONE,
        privProtocol=_PRIV[user.priv_protocol] if priv else usm.USM_PRIV_NONE,
    )


class PysnmpBackend:
    """Requests through ONE pysnmp SnmpEngine; implements :class:`campuswatch.agent.protocols.snmp.transport.backend.Backend`."""

    def __init__(self, engine: SnmpEngine) -> None:
        self._engine = engine
        self._transports: dict[tuple[str, int, float, int], UdpTransportTarget | Udp6TransportTarget] = {}

    async def _transport(self, target: SnmpTarget) -> UdpTransportTarget | Udp6TransportTarget:
        key = (target.host, target.port, target.timeout_s, target.retries)
        transport = self._transports.get(key)
        if transport is None:
            kind = Udp6TransportTarget if ":" in target.host else UdpTransportTarget
            transport = await kind.create(
                (target.host, target.port), timeout=target.timeout_s, retries=target.retries
            )
            self._transports[key] = transport
        return transport

    def close(self) -> None:
        """Close the engine's sockets."""
        self._engine.close_dispatcher()

    def _auth(self, target: SnmpTarget) -> CommunityData | UsmUserData:
        if target.version == "3":
            if target.v3 is None:
                raise SnmpAuthError("SNMPv3 target without a v3 user")
            return _usm(target.v3)
        return CommunityData(target.community.reveal(), mpModel=0 if target.version == "1" else 1)

    async def request(
        self,
        target: SnmpTarget,
        kind: PduKind,
        varbinds: Sequence[tuple[Oid, SnmpValue | None]],
        max_repetitions: int = 0,
    ) -> Reply:
        """One request/response exchange (see :class:`campuswatch.agent.protocols.snmp.transport.backend.Backend`)."""
        objects = [ObjectType(ObjectIdentity(o), _pysnmp_value(v)) for o, v in varbinds]
        context = ContextData(contextName=target.v3.context if target.v3 else "")
        args = (self._engine, self._auth(target), await self._transport(target), context)
        if kind == "get":
            outcome = await get_cmd(*args, *objects, lookupMib=False)
        elif kind == "getnext":
            outcome = await next_cmd(*args, *objects, lookupMib=False, ignoreNonIncreasingOid=True)
        elif kind == "getbulk":
            outcome = await bulk_cmd(
                *args, 0, max_repetitions, *objects, lookupMib=False, ignoreNonIncreasingOid=True
            )
        else:
            outcome = await set_cmd(*args, *objects, lookupMib=False)
        indication, status, index, reply = outcome
        if indication is not None:
            raise _classify(indication)
        return Reply(int(status), int(index), [(plain_oid(name), plain_value(val)) for name, val in reply])


def _classify(indication: Any) -> Exception:
    """Our exception for a pysnmp error indication; the message is pysnmp's class name, never its
    text (which could quote parameters)."""
    kind = type(indication).__name__
    if isinstance(indication, errind.RequestTimedOut):
        return SnmpTimeout("no SNMP answer")
    if isinstance(indication, _AUTH_INDICATIONS):
        return SnmpAuthError(f"agent refused our SNMPv3 credentials ({kind})")
    return SnmpReplyError(f"SNMP engine error ({kind})")


def build_engine() -> SnmpEngine:
    """A pysnmp engine with the MIB modules it resolves OIDs with already loaded. Blocks: run in a
    thread."""
    engine = SnmpEngine()
    view = CommandGeneratorVarBinds.get_mib_view_controller(engine.cache)
    # Resolving one OID and loading what configuring users and targets imports reads these MIB
    # modules here, not later inside the event loop (a test records which thread loads them).
    ObjectType(ObjectIdentity((1, 3, 6, 1, 2, 1, 1, 1, 0))).resolve_with_mib(view)
    engine.get_mib_builder().load_modules(*_CONFIG_MIBS)
    return engine


def build_backend() -> PysnmpBackend:
    """Build the engine (:func:`build_engine`) and the backend over it. Blocks: run in a thread."""
    return PysnmpBackend(build_engine())

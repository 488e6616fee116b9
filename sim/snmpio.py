"""SNMP v2c GET, SET and walk with pysnmp, for the simulator's own use: injecting faults and checking them.

This is the only module of ``sim`` that talks to pysnmp. Values cross it as plain Python (int, bytes,
OID tuples), keyed by OID tuples, like the agent's own transport hands them to its decoders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    bulk_walk_cmd,
    get_cmd,
    set_cmd,
)
from pysnmp.proto import rfc1902, rfc1905

from campuswatch.agent.protocols.snmp.transport.pysnmp_backend import build_engine
from campuswatch.agent.protocols.snmp.transport.types import Oid
from sim.snmprec import COUNTER32, COUNTER64, GAUGE32, INTEGER, OCTETS, TIMETICKS

PyValue = int | bytes | Oid

_SNMP_TYPES: dict[int, type] = {
    INTEGER: rfc1902.Integer32,
    OCTETS: rfc1902.OctetString,
    COUNTER32: rfc1902.Counter32,
    GAUGE32: rfc1902.Gauge32,
    TIMETICKS: rfc1902.TimeTicks,
    COUNTER64: rfc1902.Counter64,
}
_ABSENT = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)


class SnmpFailure(Exception):
    """A request got no answer (``timeout``) or an error status; the message never holds a community."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


def _to_python(value: object) -> PyValue | None:
    """A pysnmp value as int, bytes or an OID tuple; None for noSuchObject/Instance/endOfMibView."""
    if isinstance(value, _ABSENT):
        return None
    if isinstance(value, ObjectIdentity):
        return tuple(value.get_oid())
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    if isinstance(value, rfc1902.OctetString | rfc1902.IpAddress | rfc1902.Opaque):
        return bytes(value.asOctets())
    number: int = int(value)  # type: ignore[call-overload]
    return number


class SnmpIO:
    """One pysnmp engine (built off the event loop: its MIB loading blocks) and v2c requests through it."""

    def __init__(self, *, timeout_s: float = 1.0, retries: int = 2) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self._engine: SnmpEngine | None = None
        self._engine_lock = asyncio.Lock()

    async def _setup(
        self, host: str, port: int, timeout_s: float | None
    ) -> tuple[SnmpEngine, UdpTransportTarget]:
        async with self._engine_lock:
            if self._engine is None:
                self._engine = await asyncio.to_thread(build_engine)
        target = await UdpTransportTarget.create(
            (host, port),
            timeout=self.timeout_s if timeout_s is None else timeout_s,
            retries=self.retries if timeout_s is None else 0,
        )
        return self._engine, target

    @staticmethod
    def _check(where: str, error_indication: object, error_status: object, error_index: object) -> None:
        if error_indication:
            raise SnmpFailure(f"{where}: {error_indication}", timeout=True)
        if error_status and int(error_status):  # type: ignore[call-overload]
            raise SnmpFailure(f"{where}: error-status {error_status} at varbind {error_index}")

    async def set(
        self, host: str, port: int, community: str, values: Mapping[Oid, tuple[int, int | bytes]]
    ) -> None:
        """SET every OID to its (BER tag, value) in one request."""
        engine, target = await self._setup(host, port, None)
        var_binds = [
            ObjectType(ObjectIdentity(at), _SNMP_TYPES[tag](value)) for at, (tag, value) in values.items()
        ]
        error_indication, error_status, error_index, _ = await set_cmd(
            engine, CommunityData(community, mpModel=1), target, ContextData(), *var_binds
        )
        self._check(f"SET {host}:{port}", error_indication, error_status, error_index)

    async def get(
        self, host: str, port: int, community: str, oids: Iterable[Oid], *, timeout_s: float | None = None
    ) -> dict[Oid, PyValue]:
        """GET the OIDs; those the agent does not have are left out. ``timeout_s`` means one try only."""
        engine, target = await self._setup(host, port, timeout_s)
        error_indication, error_status, error_index, var_binds = await get_cmd(
            engine,
            CommunityData(community, mpModel=1),
            target,
            ContextData(),
            *(ObjectType(ObjectIdentity(at)) for at in oids),
        )
        self._check(f"GET {host}:{port}", error_indication, error_status, error_index)
        out: dict[Oid, PyValue] = {}
        for name, value in var_binds:
            converted = _to_python(value)
            if converted is not None:
                out[tuple(name)] = converted
        return out

    async def walk(self, host: str, port: int, community: str, root: Oid | None = None) -> dict[Oid, PyValue]:
        """Every value under ``root``, or every value the agent has (GETBULK)."""
        engine, target = await self._setup(host, port, None)
        out: dict[Oid, PyValue] = {}
        async for error_indication, error_status, error_index, var_binds in bulk_walk_cmd(
            engine,
            CommunityData(community, mpModel=1),
            target,
            ContextData(),
            0,
            50,
            ObjectType(ObjectIdentity(root or (0, 0))),
            lexicographicMode=root is None,
        ):
            self._check(f"walk {host}:{port}", error_indication, error_status, error_index)
            for name, value in var_binds:
                converted = _to_python(value)
                if converted is not None:
                    out[tuple(name)] = converted
        return out

    def close(self) -> None:
        """Release the engine's sockets."""
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

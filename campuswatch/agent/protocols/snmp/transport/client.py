"""The SNMP transport's public face: ``SnmpClient.fetch(target, plan)`` and ``set_values``.

One client serves every device of an agent. IPv4 targets of every version (v1, v2c, v3 with USM) go
through the fast path (our BER codec and USM on one UDP socket); IPv6 targets go through ONE pysnmp
engine, built in a thread the first time one is polled (pysnmp's MIB loading blocks). Each fetch is
independent: a slow or dead device only holds its own requests, never the socket or the others' replies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from campuswatch.agent.protocols.snmp.transport import ops
from campuswatch.agent.protocols.snmp.transport.backend import Backend
from campuswatch.agent.protocols.snmp.transport.fast import DEFAULT_MAX_IN_FLIGHT, DEFAULT_RCVBUF, FastBackend
from campuswatch.agent.protocols.snmp.transport.silence import explain_silence
from campuswatch.agent.protocols.snmp.transport.types import (
    Oid,
    PollPlan,
    SnmpAuthError,
    SnmpError,
    SnmpTarget,
    SnmpTimeout,
    SnmpValue,
    TableSpec,
    Varbinds,
)

if TYPE_CHECKING:  # imported lazily at run time: pysnmp's import blocks on MIB files
    from campuswatch.agent.protocols.snmp.transport.pysnmp_backend import PysnmpBackend

log = logging.getLogger(__name__)

#: Agents whose silences in a row are counted at most (the oldest forgotten first).
_SILENCES_KEPT = 4096


@dataclass
class FetchResult:
    """What one poll returned: all varbinds, and the tables that failed (name -> why) while the rest
    of the plan succeeded."""

    varbinds: Varbinds = field(default_factory=dict)
    failed_tables: dict[str, str] = field(default_factory=dict)


class SnmpTransport(Protocol):
    """What reading a device needs of the transport: one plan fetched from one target.

    :class:`SnmpClient` is the one on the wire; the SNMP reader depends on this alone, so that tests
    can hand it a device served from a recording.
    """

    async def fetch(self, target: SnmpTarget, plan: PollPlan) -> FetchResult:
        """All varbinds of ``plan`` at ``target``, as :meth:`SnmpClient.fetch` documents."""
        ...


def _target_key(target: SnmpTarget) -> tuple[object, ...]:
    """Identifies the agent and the credentials used (the Secret stays a Secret: never printable)."""
    credentials = target.v3 if target.version == "3" else target.community
    return (target.host, target.port, target.version, credentials)


class SnmpClient:
    """Polls SNMP agents. Use ``async with SnmpClient() as client: await client.fetch(target, plan)``.

    ``fast_path=False`` sends everything through pysnmp (the reference the fast path is tested against).
    """

    def __init__(
        self,
        *,
        fast_path: bool = True,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        rcvbuf: int = DEFAULT_RCVBUF,
    ) -> None:
        self._fast = FastBackend(max_in_flight=max_in_flight, rcvbuf=rcvbuf) if fast_path else None
        self._pysnmp: PysnmpBackend | None = None
        self._pysnmp_lock = asyncio.Lock()
        self._answered: set[tuple[object, ...]] = set()
        self._no_bulk: set[tuple[object, ...]] = set()
        #: Walks in a row whose GETBULK (or shared request) went unanswered while the agent answered
        #: otherwise: silence is remembered as the agent's way only the second time (see ``_strike``).
        self._bulk_silences: dict[tuple[object, ...], int] = {}
        self._batch_silences: dict[tuple[object, ...], int] = {}
        #: Agents whose tables are walked one by one (:meth:`_walk_group`).
        self._no_batch: set[tuple[object, ...]] = set()
        #: Rows each table had at an agent's last complete walk, to size the next walk's GETBULK.
        self._rows: dict[tuple[object, ...], dict[str, int]] = {}

    async def start(self) -> Self:
        """Open the shared UDP socket (and, without the fast path, build the pysnmp engine now)."""
        if self._fast is not None:
            await self._fast.open()
        else:
            await self._pysnmp_backend()
        return self

    async def close(self) -> None:
        """Close the sockets; outstanding requests fail."""
        if self._fast is not None:
            self._fast.close()
        if self._pysnmp is not None:
            self._pysnmp.close()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _pysnmp_backend(self) -> PysnmpBackend:
        async with self._pysnmp_lock:
            if self._pysnmp is None:
                # Imported here: pysnmp's import and engine build load MIBs from disk (blocking).
                from campuswatch.agent.protocols.snmp.transport.pysnmp_backend import build_backend

                started = time.monotonic()
                self._pysnmp = await asyncio.to_thread(build_backend)
                log.info("pysnmp engine ready", extra={"seconds": round(time.monotonic() - started, 3)})
            return self._pysnmp

    async def _backend(self, target: SnmpTarget) -> Backend:
        # The fast path's socket is IPv4; IPv6 literals go through pysnmp.
        if self._fast is not None and ":" not in target.host:
            return self._fast
        return await self._pysnmp_backend()

    async def fetch(
        self, target: SnmpTarget, plan: PollPlan, *, classify_silence: bool = True
    ) -> FetchResult:
        """GET the plan's scalars, then walk its tables: small tables several to a request
        (:func:`campuswatch.agent.protocols.snmp.transport.ops.batches`), one request at a time, each table's GETBULK sized to the rows
        it had at this agent's last walk (:func:`campuswatch.agent.protocols.snmp.transport.ops.fitted`).

        Raises :class:`SnmpTimeout` / :class:`SnmpAuthError` when the device does not answer at all or
        refuses us, :class:`SnmpReplyError` when the scalars' GET fails. A table that fails after the
        device answered is reported in ``failed_tables``, with whatever rows came before the failure.
        After a timeout the target is probed to tell "unreachable" from "silent with these credentials"
        (:mod:`campuswatch.agent.protocols.snmp.transport.silence`: one UDP probe, then TCP connects to a few common ports);
        ``classify_silence=False`` skips that and raises a plain :class:`SnmpTimeout` (subnet sweeps,
        where most addresses are empty and probing each would amount to a port scan).

        One request at a time per device, not all of its walks at once: a fleet's polls run
        concurrently anyway, and a device waiting for an in-flight slot then holds one walk's state
        instead of all of them (memory, and the garbage collector's work, at 1000 devices). After a walk
        that got no answer, the rest go out at once.
        """
        backend = await self._backend(target)
        key = _target_key(target)
        result = FetchResult()
        try:
            if plan.scalars:
                result.varbinds.update(await ops.get(backend, target, plan.scalars))
                self._answered.add(key)
        except SnmpTimeout:
            if not classify_silence:
                raise
            raise await self._silence(target, key) from None
        rows = self._rows.get(key, {})
        tables = tuple(ops.fitted(t, rows[t.name]) if t.name in rows else t for t in plan.tables)
        groups = ops.batches(tables) if key not in self._no_batch else [(t,) for t in tables]
        walked: list[tuple[tuple[TableSpec, ...], list[ops.WalkResult | BaseException]]] = []
        for index, group in enumerate(groups):
            walked.append((group, await self._outcomes(backend, target, group, key)))
            rest = groups[index + 1 :]
            if rest and all(isinstance(outcome, SnmpTimeout) for outcome in walked[-1][1]):
                # The agent went silent, or this table hangs it: walk the rest at once, so that a dead
                # agent costs one more timeout, not one per group, and a hanging table holds up no other.
                later = await asyncio.gather(*(self._outcomes(backend, target, g, key) for g in rest))
                walked += zip(rest, later, strict=True)
                break
        answered = bool(plan.scalars)
        timeouts = 0
        for group, outcomes in walked:
            for table, outcome in zip(group, outcomes, strict=True):
                if isinstance(outcome, SnmpAuthError):
                    raise outcome
                if isinstance(outcome, SnmpTimeout):
                    timeouts += 1
                    result.failed_tables[table.name] = "no SNMP answer"
                elif isinstance(outcome, SnmpError):
                    answered = True
                    result.failed_tables[table.name] = str(outcome)
                elif isinstance(outcome, BaseException):
                    raise outcome
                else:
                    answered = True
                    result.varbinds.update(outcome.varbinds)
                    if outcome.failure:
                        result.failed_tables[table.name] = outcome.failure
                    else:
                        self._rows.setdefault(key, rows)[table.name] = outcome.rows
        if timeouts and not answered:
            raise await self._silence(target, key) if classify_silence else SnmpTimeout("no SNMP answer")
        if result.failed_tables:
            log.info(
                "snmp tables failed",
                extra={"host": target.host, "port": target.port, "failed_tables": result.failed_tables},
            )
        return result

    async def _outcomes(
        self, backend: Backend, target: SnmpTarget, tables: tuple[TableSpec, ...], key: tuple[object, ...]
    ) -> list[ops.WalkResult | BaseException]:
        """Each table's walk result, or the SNMP error that ended it."""
        try:
            return await self._walk_group(backend, target, tables, key)
        except SnmpError as err:
            return [err] * len(tables)

    async def _walk_group(
        self, backend: Backend, target: SnmpTarget, tables: tuple[TableSpec, ...], key: tuple[object, ...]
    ) -> list[ops.WalkResult | BaseException]:
        """Walk several tables in shared requests. If the agent fails that (an error, or silence) after
        it answered us, each table is walked on its own, as it would have been without sharing; when
        those get answers, the agent is walked table by table from then on (after silence, from the
        second time in a row: one lost datagram says nothing about the agent)."""
        try:
            walked: list[ops.WalkResult | BaseException] = list(
                await self._walk(backend, target, tables, key)
            )
        except SnmpAuthError:
            raise
        except SnmpError as err:
            if len(tables) == 1 or (isinstance(err, SnmpTimeout) and key not in self._answered):
                raise
            reason, silent = str(err), isinstance(err, SnmpTimeout)
            alone = await asyncio.gather(
                *(self._walk(backend, target, (t,), key) for t in tables), return_exceptions=True
            )
        else:
            if len(tables) > 1:
                self._batch_silences.pop(key, None)
            return walked
        answered = not all(isinstance(outcome, SnmpTimeout) for outcome in alone)
        if answered and (not silent or _strike(self._batch_silences, key)):
            log.info(
                "agent fails shared table walks; walking tables one by one",
                extra={"host": target.host, "port": target.port, "error": reason},
            )
            self._no_batch.add(key)
        return [outcome if isinstance(outcome, BaseException) else outcome[0] for outcome in alone]

    async def _walk(
        self, backend: Backend, target: SnmpTarget, tables: tuple[TableSpec, ...], key: tuple[object, ...]
    ) -> list[ops.WalkResult]:
        bulk = target.version != "1" and key not in self._no_bulk
        try:
            walked = await ops.walk(backend, target, tables, bulk=bulk)
        except SnmpTimeout:
            if not (bulk and key in self._answered and len(tables) == 1):
                raise
            # Some agents answer GET but ignore GETBULK altogether: try once more with GETNEXT, and
            # if that is answered, take it for the agent's way the second time in a row.
            walked = await ops.walk(backend, target, tables, bulk=False)
            walked[0].bulk_broken = _strike(self._bulk_silences, key)
        else:
            if bulk and not walked[0].bulk_broken:
                self._bulk_silences.pop(key, None)
        self._answered.add(key)
        if walked[0].bulk_broken:
            log.warning(
                "agent's GETBULK is broken; using GETNEXT", extra={"host": target.host, "port": target.port}
            )
            self._no_bulk.add(key)
        return walked

    async def _silence(self, target: SnmpTarget, key: tuple[object, ...]) -> SnmpTimeout | SnmpAuthError:
        error = await explain_silence(target, answered_before=key in self._answered)
        log.info(
            "snmp target silent",
            extra={"host": target.host, "port": target.port, "version": target.version, "reason": str(error)},
        )
        return error

    async def set_values(self, target: SnmpTarget, values: dict[Oid, SnmpValue]) -> None:
        """SNMP SET of the values (int -> INTEGER, bytes -> OCTET STRING, tuple -> OID) in one request."""
        backend = await self._backend(target)
        try:
            await ops.set_values(backend, target, values)
        except SnmpTimeout:
            raise await self._silence(target, _target_key(target)) from None


def _strike(silences: dict[tuple[object, ...], int], key: tuple[object, ...]) -> bool:
    """Count one more silence in a row from an agent that answers otherwise; True from the second: a
    lost datagram or an agent busy for a moment (a printer waking up, a burst of polls) is not the
    agent's way, and taking it for one would cost that agent more requests until the agent restarts."""
    silences[key] = silences.get(key, 0) + 1
    if len(silences) > _SILENCES_KEPT:
        silences.pop(next(iter(silences)))
    return silences[key] >= 2

"""SNMP operations built from single requests: chunked GET, bounded table walks, SET.

Written once against :class:`campuswatch.agent.protocols.snmp.transport.backend.Backend`, so the fast path and pysnmp share the same
walking rules and the same handling of v1 quirks and error statuses.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from campuswatch.agent.protocols.snmp.transport.backend import Backend, Reply
from campuswatch.agent.protocols.snmp.transport.ber import Missing
from campuswatch.agent.protocols.snmp.transport.types import (
    Oid,
    SnmpAuthError,
    SnmpReplyError,
    SnmpTarget,
    SnmpValue,
    TableSpec,
    Varbinds,
    oid_str,
)

#: OIDs per GET request: what snmp_exporter sends too; replies stay well under a 1500-byte MTU for
#: typical scalars, and ``tooBig`` splits further.
GET_CHUNK = 60
#: A walk stops after this many rows per column: no agent can keep us walking forever.
MAX_ROWS_PER_COLUMN = 10_000
#: Varbinds one shared walk request may ask for (columns x max-repetitions): about 1.5-2 KB of reply,
#: what agents answer in one datagram. An agent that cannot truncates a GETBULK (RFC 3416 4.2.3) or
#: answers tooBig, and the walk adapts.
BATCH_VARBINDS = 64

# error-status values (RFC 3416) that change what we do.
TOO_BIG = 1
NO_SUCH_NAME = 2
AUTHORIZATION_ERROR = 16
_STATUS_NAMES = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}


def status_error(reply: Reply, requested: Sequence[Oid]) -> SnmpAuthError | SnmpReplyError:
    """The exception an error-status means; it names the status and the OID it points at."""
    name = _STATUS_NAMES.get(reply.error_status, f"error-status {reply.error_status}")
    where = ""
    if 0 < reply.error_index <= len(requested):
        where = f" at {oid_str(requested[reply.error_index - 1])}"
    if reply.error_status == AUTHORIZATION_ERROR:
        return SnmpAuthError(f"agent refused access: {name}{where}")
    return SnmpReplyError(f"agent answered {name}{where}")


def _charge(target: SnmpTarget, reply: Reply) -> None:
    """Count a reply's names and values against the target's byte budget, if it has one."""
    if target.budget is None or not reply.varbinds:
        return
    size = 0
    for name, value in reply.varbinds:
        size += len(name) + (len(value) if isinstance(value, bytes | tuple) else 8)
    target.budget.charge(size, reply.varbinds[-1][0])


def _keep(varbinds: Varbinds, reply: Reply, requested: list[Oid]) -> None:
    """Store a GET reply's values; an OID we did not ask for (a broken agent) is ignored, not trusted."""
    wanted = set(requested)
    for name, value in reply.varbinds:
        if name in wanted and value is not None and not isinstance(value, Missing):
            varbinds[name] = value


async def get(backend: Backend, target: SnmpTarget, oids: Sequence[Oid]) -> Varbinds:
    """GET the OIDs in chunks; OIDs the agent does not have are simply absent from the result."""
    result: Varbinds = {}
    for start in range(0, len(oids), GET_CHUNK):
        await _get_chunk(backend, target, list(oids[start : start + GET_CHUNK]), result)
    return result


async def _get_chunk(backend: Backend, target: SnmpTarget, oids: list[Oid], result: Varbinds) -> None:
    while oids:
        reply = await backend.request(target, "get", [(o, None) for o in oids])
        _charge(target, reply)
        if reply.error_status == 0:
            _keep(result, reply, oids)
            return
        if reply.error_status == NO_SUCH_NAME and 0 < reply.error_index <= len(oids):
            # SNMPv1 answers one missing OID by failing the whole request: drop it and ask again.
            del oids[reply.error_index - 1]
        elif reply.error_status == TOO_BIG and len(oids) > 1:
            half = len(oids) // 2
            await _get_chunk(backend, target, oids[:half], result)
            oids = oids[half:]
        else:
            raise status_error(reply, oids)


@dataclass
class WalkResult:
    """What a walk collected of one table, why it stopped early (None if it finished) and whether
    GETBULK failed."""

    varbinds: Varbinds
    failure: str | None = None
    bulk_broken: bool = False
    #: The most rows any of the table's columns had.
    rows: int = 0


@functools.lru_cache(maxsize=256)
def batches(tables: tuple[TableSpec, ...], budget: int = BATCH_VARBINDS) -> tuple[tuple[TableSpec, ...], ...]:
    """The tables grouped for walking in shared requests: each group's columns times its largest
    max-repetitions stay within ``budget`` varbinds (a table over budget is a group of its own).

    Sorted by max-repetitions first, so that tables of similar size share requests: one GETBULK applies
    one max-repetitions to every column, and the rows past a short column's end are fetched for nothing.
    Cached: an agent polls a few plans over and over.
    """
    groups: list[list[TableSpec]] = []
    width = reps = 0
    for table in sorted(tables, key=lambda t: t.max_repetitions):
        columns = len(table.columns) or 1
        more = max(reps, table.max_repetitions, 1)
        if groups and (width + columns) * more <= budget:
            groups[-1].append(table)
            width, reps = width + columns, more
        else:
            groups.append([table])
            width, reps = columns, max(table.max_repetitions, 1)
    return tuple(tuple(group) for group in groups)


@dataclass(frozen=True, slots=True)
class _Layout:
    """The columns of a group of tables, as one walk sees them: built once per group (cached), since
    every poll of every device of a kind walks the same groups."""

    #: Each column's OID prefix, the tables' columns side by side.
    prefixes: tuple[Oid, ...]
    #: The position in the group of each column's table.
    owners: tuple[int, ...]
    #: The first request: every column from its start.
    first: tuple[tuple[Oid, None], ...]
    max_repetitions: int


@functools.lru_cache(maxsize=1024)
def _layout(tables: tuple[TableSpec, ...]) -> _Layout:
    prefixes: list[Oid] = []
    owners: list[int] = []
    for position, table in enumerate(tables):
        columns = [(*table.root, col) for col in table.columns] or [table.root]
        prefixes += columns
        owners += [position] * len(columns)
    reps = max(1, *(t.max_repetitions for t in tables))
    return _Layout(tuple(prefixes), tuple(owners), tuple((p, None) for p in prefixes), reps)


async def walk(
    backend: Backend, target: SnmpTarget, tables: tuple[TableSpec, ...], *, bulk: bool
) -> list[WalkResult]:
    """Walk the tables' columns (or whole subtrees) side by side, in shared requests; one result per
    table, in order.

    GETBULK with the tables' largest max_repetitions when ``bulk`` (v2c/v3), else GETNEXT. A column stops
    when the agent leaves its subtree, reports endOfMibView, returns an OID not greater than the previous
    one, or after :data:`MAX_ROWS_PER_COLUMN` rows. If the agent answers GETBULK with an error status,
    the walk carries on with GETNEXT and says so (``bulk_broken``), except that several tables answered
    with tooBig raise :class:`SnmpReplyError`: the caller walks them one by one, each sized on its own.
    """
    layout = _layout(tables)
    results = [WalkResult({}) for _ in tables]
    owners = [results[i] for i in layout.owners]
    prefixes = layout.prefixes
    cursors: list[Oid] = list(prefixes)
    rows = [0] * len(prefixes)
    active = list(range(len(prefixes)))
    max_rep = layout.max_repetitions
    bulk_broken = False
    request: Sequence[tuple[Oid, None]] = layout.first
    while active:
        use_bulk = bulk and not bulk_broken
        reply = await backend.request(target, "getbulk" if use_bulk else "getnext", request, max_rep)
        _charge(target, reply)
        if reply.error_status:
            if reply.error_status == NO_SUCH_NAME and not use_bulk and 0 < reply.error_index <= len(active):
                # SNMPv1's end of the MIB view: that column is finished.
                del active[reply.error_index - 1]
            elif reply.error_status == TOO_BIG and len(tables) > 1:
                raise status_error(reply, [c for c, _ in request])
            elif use_bulk and reply.error_status == TOO_BIG and max_rep > 1:
                max_rep = max(1, max_rep // 2)
            elif use_bulk and reply.error_status != AUTHORIZATION_ERROR:
                bulk_broken = True
            else:
                raise status_error(reply, [c for c, _ in request])
        elif not reply.varbinds:
            for i in active:
                owners[i].failure = "agent returned an empty reply to a walk"
            break
        else:
            active = _advance(reply, active, prefixes, cursors, rows, owners)
        request = [(cursors[i], None) for i in active]
    for result in results:
        result.bulk_broken = bulk_broken
    for owner, count in zip(owners, rows, strict=True):
        owner.rows = max(owner.rows, count)
    return results


@functools.lru_cache(maxsize=4096)
def fitted(table: TableSpec, rows: int) -> TableSpec:
    """``table`` with max-repetitions fitted to ``rows`` rows: one more, so that one GETBULK shows the
    end, but never more than the plan's (a plan sized for big devices should not fetch a small one's
    neighbouring columns for nothing). Cached: the same few sizes come back every poll."""
    reps = max(1, min(table.max_repetitions, rows + 1))
    return table if reps == table.max_repetitions else dataclasses.replace(table, max_repetitions=reps)


def _advance(
    reply: Reply,
    active: list[int],
    prefixes: Sequence[Oid],
    cursors: list[Oid],
    rows: list[int],
    owners: list[WalkResult],
) -> list[int]:
    """Take one reply's varbinds (row-major: one per active column, repeated) into the result of each
    column's table; the columns still to walk."""
    width = len(active)
    finished: set[int] = set()
    for position, (name, value) in enumerate(reply.varbinds):
        col = active[position % width]
        if col in finished:
            continue
        prefix = prefixes[col]
        if value is Missing.END_OF_MIB_VIEW or name[: len(prefix)] != prefix or len(name) <= len(prefix):
            finished.add(col)
            continue
        if name <= cursors[col]:
            owners[col].failure = f"agent returned non-increasing OIDs after {oid_str(cursors[col])}"
            finished.add(col)
            continue
        cursors[col] = name
        rows[col] += 1
        if rows[col] > MAX_ROWS_PER_COLUMN:
            owners[col].failure = f"walk stopped after {MAX_ROWS_PER_COLUMN} rows under {oid_str(prefix)}"
            finished.add(col)
            continue
        if value is not None and not isinstance(value, Missing):
            owners[col].varbinds[name] = value
    return [col for col in active if col not in finished]


async def set_values(backend: Backend, target: SnmpTarget, values: dict[Oid, SnmpValue]) -> None:
    """SET all values in one request; an error status raises."""
    request: list[tuple[Oid, SnmpValue | None]] = list(values.items())
    reply = await backend.request(target, "set", request)
    if reply.error_status:
        raise status_error(reply, [o for o, _ in request])

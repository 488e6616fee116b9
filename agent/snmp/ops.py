"""SNMP operations built from single requests: chunked GET, bounded table walks, SET.

Written once against :class:`agent.snmp.backend.Backend`, so the fast path and pysnmp share the same
walking rules and the same handling of v1 quirks and error statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.snmp.backend import Backend, Reply
from agent.snmp.ber import Missing
from agent.snmp.types import (
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
    """What a walk collected, why it stopped early (None if it finished) and whether GETBULK failed."""

    varbinds: Varbinds
    failure: str | None = None
    bulk_broken: bool = False


async def walk(backend: Backend, target: SnmpTarget, table: TableSpec, *, bulk: bool) -> WalkResult:
    """Walk the table's columns (or its whole subtree) side by side.

    GETBULK with the table's max_repetitions when ``bulk`` (v2c/v3), else GETNEXT. A column stops when
    the agent leaves its subtree, reports endOfMibView, returns an OID not greater than the previous
    one, or after :data:`MAX_ROWS_PER_COLUMN` rows. If the agent answers GETBULK with an error status,
    the walk carries on with GETNEXT and says so (``bulk_broken``).
    """
    prefixes = [(*table.root, col) for col in table.columns] or [table.root]
    cursors: list[Oid] = list(prefixes)
    rows = [0] * len(prefixes)
    active = list(range(len(prefixes)))
    result = WalkResult({})
    max_rep = max(1, table.max_repetitions)
    while active:
        request = [(cursors[i], None) for i in active]
        use_bulk = bulk and not result.bulk_broken
        reply = await backend.request(target, "getbulk" if use_bulk else "getnext", request, max_rep)
        if reply.error_status:
            if reply.error_status == NO_SUCH_NAME and not use_bulk and 0 < reply.error_index <= len(active):
                # SNMPv1's end of the MIB view: that column is finished.
                del active[reply.error_index - 1]
                continue
            if use_bulk and reply.error_status == TOO_BIG and max_rep > 1:
                max_rep = max(1, max_rep // 2)
                continue
            if use_bulk and reply.error_status != AUTHORIZATION_ERROR:
                result.bulk_broken = True
                continue
            raise status_error(reply, [c for c, _ in request])
        if not reply.varbinds:
            result.failure = "agent returned an empty reply to a walk"
            return result
        active = _advance(reply, active, prefixes, cursors, rows, result)
    return result


def _advance(
    reply: Reply,
    active: list[int],
    prefixes: list[Oid],
    cursors: list[Oid],
    rows: list[int],
    result: WalkResult,
) -> list[int]:
    """Take one reply's varbinds (row-major: one per active column, repeated) into ``result``; the
    columns still to walk."""
    width = len(active)
    finished: set[int] = set()
    varbinds = result.varbinds
    for position, (name, value) in enumerate(reply.varbinds):
        col = active[position % width]
        if col in finished:
            continue
        prefix = prefixes[col]
        if value is Missing.END_OF_MIB_VIEW or name[: len(prefix)] != prefix or len(name) <= len(prefix):
            finished.add(col)
            continue
        if name <= cursors[col]:
            result.failure = f"agent returned non-increasing OIDs after {oid_str(cursors[col])}"
            finished.add(col)
            continue
        cursors[col] = name
        rows[col] += 1
        if rows[col] > MAX_ROWS_PER_COLUMN:
            result.failure = f"walk stopped after {MAX_ROWS_PER_COLUMN} rows under {oid_str(prefix)}"
            finished.add(col)
            continue
        if value is not None and not isinstance(value, Missing):
            varbinds[name] = value
    return [col for col in active if col not in finished]


async def set_values(backend: Backend, target: SnmpTarget, values: dict[Oid, SnmpValue]) -> None:
    """SET all values in one request; an error status raises."""
    request: list[tuple[Oid, SnmpValue | None]] = list(values.items())
    reply = await backend.request(target, "set", request)
    if reply.error_status:
        raise status_error(reply, [o for o, _ in request])

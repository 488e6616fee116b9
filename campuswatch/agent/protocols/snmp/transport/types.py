"""What the SNMP transport and the pure decoders agree on: OIDs, values, what to fetch, how it failed.

The transport (the only code that talks to pysnmp) turns a :class:`PollPlan` into :data:`Varbinds`;
decoders are plain functions from :data:`Varbinds` to report models and never see pysnmp types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from campuswatch.agent.errors import (
    AuthenticationFailed,
    DeviceError,
    DeviceOverBudget,
    DeviceReplyError,
    DeviceUnreachable,
)
from campuswatch.config import Secret

#: Where SNMP agents listen unless a device's address says otherwise.
DEFAULT_SNMP_PORT = 161
#: The v1/v2c community of a device that names none: what most devices ship with.
DEFAULT_COMMUNITY = Secret("public")

Oid = tuple[int, ...]
#: An SNMP value as decoders see it: INTEGER, Counter32/64, Gauge32, TimeTicks, Unsigned32 -> int;
#: OCTET STRING, Opaque, IpAddress (4 octets) -> bytes; OBJECT IDENTIFIER -> Oid (a tuple).
#: NoSuchObject / NoSuchInstance / EndOfMibView are left out of the mapping altogether.
SnmpValue = int | bytes | Oid
Varbinds = dict[Oid, SnmpValue]


def oid(text: str) -> Oid:
    """Parse dotted text (leading dot allowed) into an OID tuple."""
    return tuple(int(part) for part in text.strip().lstrip(".").split(".") if part)


def oid_str(value: Oid) -> str:
    """Dotted text without a leading dot."""
    return ".".join(map(str, value))


@dataclass(frozen=True)
class TableSpec:
    """A table (or subtree) to walk: its root and, optionally, only some columns.

    ``columns`` are column numbers under ``root`` (root.1.<col>... is the usual entry layout: pass the
    entry OID as root). Walking only needed columns keeps replies small: decoding varbinds is the
    agent's main CPU cost. ``max_repetitions`` sizes GETBULK to the table's expected rows.
    """

    name: str
    root: Oid
    columns: tuple[int, ...] = ()
    max_repetitions: int = 10


@dataclass(frozen=True)
class PollPlan:
    """Scalars to GET and tables to walk for one device."""

    scalars: tuple[Oid, ...] = ()
    tables: tuple[TableSpec, ...] = ()

    def merged(self, other: PollPlan) -> PollPlan:
        """Both plans, each OID and table once."""
        scalars = tuple(dict.fromkeys(self.scalars + other.scalars))
        tables = tuple({t.name: t for t in self.tables + other.tables}.values())
        return PollPlan(scalars, tables)


@dataclass(frozen=True)
class V3User:
    """SNMPv3 USM credentials; protocols by their RFC names."""

    user: str
    auth_protocol: Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"] = "sha"
    auth_key: Secret | None = None
    priv_protocol: Literal["none", "des", "aes128", "aes192", "aes256"] = "aes128"
    priv_key: Secret | None = None
    context: str = ""


@dataclass
class ByteBudget:
    """What one read of a device may still take in values and names, shared by every request of the read.

    Rows per column are capped too (:data:`campuswatch.agent.protocols.snmp.transport.ops.MAX_ROWS_PER_COLUMN`),
    but a device answering an endless walk with 60 KB values reaches gigabytes long before that cap.
    """

    limit: int
    used: int = 0

    def charge(self, size: int, where: Oid) -> None:
        """Count ``size`` more bytes; past the limit the read ends with :class:`DeviceOverBudget`, which
        no table-by-table fallback catches (it is no ``SnmpError``): the whole read stops."""
        self.used += size
        if self.used > self.limit:
            raise DeviceOverBudget(
                f"device sent more than {self.limit} bytes of SNMP values in one poll (max_poll_bytes); "
                f"stopped at {oid_str(where)[:60]}"
            )


@dataclass(frozen=True)
class SnmpTarget:
    """Where and how to reach one device's SNMP agent; ``budget``, if any, bounds what one read takes."""

    host: str
    port: int = DEFAULT_SNMP_PORT
    version: Literal["1", "2c", "3"] = "2c"
    community: Secret = DEFAULT_COMMUNITY
    v3: V3User | None = None
    timeout_s: float = 2.0
    retries: int = 1
    budget: ByteBudget | None = field(default=None, compare=False)


class SnmpError(DeviceError):
    """Base of the ways an SNMP poll fails; the message never contains a community or key."""


class SnmpTimeout(SnmpError, DeviceUnreachable):
    """No answer within timeout and retries. v1/v2c agents also answer a wrong community with silence; the
    transport tells the two apart where it can (the message says which)."""


class SnmpAuthError(SnmpError, AuthenticationFailed):
    """The agent answered but refused our credentials (v3 usmStats reports, or an authorizationError)."""


class SnmpReplyError(SnmpError, DeviceReplyError):
    """The agent answered with an error status or a reply we could not decode."""

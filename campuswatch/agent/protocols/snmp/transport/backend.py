"""What a way of sending SNMP requests must offer: one request, one reply, no walking or retry policy.

Two backends implement it: the fast path (:mod:`campuswatch.agent.protocols.snmp.transport.fast`, our own BER and USM on one UDP
socket, for v1, v2c and v3) and pysnmp (:mod:`campuswatch.agent.protocols.snmp.transport.pysnmp_backend`, for IPv6 and as a
reference in tests). Everything
above one request (chunking, walking, v1 quirks, error statuses) lives once, in :mod:`campuswatch.agent.protocols.snmp.transport.ops`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from campuswatch.agent.protocols.snmp.transport.ber import ReplyValue
from campuswatch.agent.protocols.snmp.transport.types import Oid, SnmpTarget, SnmpValue

PduKind = Literal["get", "getnext", "getbulk", "set"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A response PDU: error status and index (RFC 3416) and its varbinds, values already plain."""

    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, ReplyValue | None]]


class Backend(Protocol):
    """Sends one request and returns its response, applying the target's timeout and retries.

    Raises ``SnmpTimeout`` (no answer; not yet classified), ``SnmpAuthError`` (v3 reports) or
    ``SnmpReplyError`` (a reply that could not be decoded).
    """

    async def request(
        self,
        target: SnmpTarget,
        kind: PduKind,
        varbinds: Sequence[tuple[Oid, SnmpValue | None]],
        max_repetitions: int = 0,
    ) -> Reply:
        """One request/response exchange."""
        ...

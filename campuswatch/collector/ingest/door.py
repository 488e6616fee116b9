"""A report at the door: who may send it, whether it is a report this collector reads, and its clocks.

Pure, HTTP-free: the web handler turns :class:`ReportRejected` into its status code and message. What
a field can hold is the report schema's (``campuswatch.report``: numbers, strings and lists bounded
where they are decoded); here the rest of what a report must satisfy before anything of it is stored:
a known schema version, ids that are not blank, JSON that is not nested past the decoder's depth, and
timestamps that are not ahead of the collector's clock.

Timestamps, decided per field:

- ``at`` of every event and ``polled_at`` of a poll, more than :data:`CLOCK_SKEW_S` ahead of the
  collector's clock, are **clamped** to the collector's clock (and counted): the readings are real and
  current, only the gateway's clock is wrong, so refusing them would hide a working school; kept as they
  are, a poll stamped years ahead would make every later poll "older" and freeze its device (and a
  heartbeat, the agent's). Clamped, they can be no newer than what arrives after them.
- timestamps in the past are **kept** as they are: an agent's outbox holds days of polls through an
  outage, and an old poll cannot freeze anything, it only becomes history behind what the device said
  since. The schema bounds every timestamp to 1970..2100, so none fails to convert to a date.
- ``rebooted_at`` in a reading and a batch's ``sent_at`` are kept as the agent said (within the
  schema's bounds): they order nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import ClassVar, TypeVar

import msgspec

from campuswatch.report import (
    COMPATIBLE_SCHEMA_VERSIONS,
    Batch,
    DiscoveryEvent,
    PollEvent,
    UnchangedEvent,
    decode_batch,
)

T = TypeVar("T")

#: How far ahead of the collector's clock a timestamp may be before it is clamped: the skew Kerberos
#: tolerates, generous for a gateway whose NTP is a few seconds off, far below a wrong date.
CLOCK_SKEW_S = 300.0


class ReportRejected(Exception):
    """A report the collector refuses; ``status`` is the HTTP status, ``field`` the JSON path at fault."""

    status: ClassVar[int] = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthorized(ReportRejected):
    """No token, or one the collector does not know."""

    status = 401


class WrongSchool(ReportRejected):
    """A valid token used for another school's report (or an agent id that belongs to another school)."""

    status = 403


class BadReport(ReportRejected):
    """A body that is not a report this collector can read."""

    status = 400


class _Envelope(msgspec.Struct):
    """Just the version, read first so that a newer schema gets a clear answer, not a field error."""

    schema_version: int


def _field_of(err: msgspec.ValidationError) -> tuple[str, str | None]:
    message = str(err)
    if " - at `" in message:
        message, _, at = message.rpartition(" - at `")
        return message, at.rstrip("`")
    return message, None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def _strict(decode: Callable[[bytes], T], body: bytes) -> T:
    """``decode(body)``, its errors as :class:`BadReport` naming the field at fault."""
    try:
        return decode(body)
    except msgspec.ValidationError as err:
        message, field = _field_of(err)
        raise BadReport(f"invalid report: {message}", field=field) from None
    except msgspec.DecodeError as err:
        raise BadReport(f"body is not JSON: {err}") from None
    except RecursionError:
        # JSON nested deeper than the interpreter's recursion limit (a list in a list, a thousand times).
        raise BadReport("body is nested too deeply") from None


#: A NUL character in a JSON string (``\u0000`` after an even number of backslashes). PostgreSQL's text
#: cannot hold one, and a batch the store cannot take would be resent by its agent forever.
_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def parse_batch(body: bytes) -> Batch:
    """Decode a report body strictly, raising :class:`BadReport` that names the field at fault."""
    # The pattern is slow over a whole body; the plain search is not, and rules out almost every body.
    if b"\\u0000" in body and _NUL.search(body):
        raise BadReport("a string must not contain the NUL character (\\u0000)")
    try:
        batch = _strict(decode_batch, body)
    except BadReport:
        # A batch of a version this build cannot read is told so, rather than which field it tripped on.
        _check_version(_strict(_ENVELOPE.decode, body).schema_version)
        raise
    _check_version(batch.schema_version)
    if not batch.agent_id.strip():
        raise BadReport("agent_id must not be empty", field="$.agent_id")
    for i, event in enumerate(batch.events):
        # An empty device id would stand for the whole school (school-level problems use it).
        if isinstance(event, PollEvent) and not event.poll.device.strip():
            raise BadReport("device must not be empty", field=f"$.events[{i}].poll.device")
        if isinstance(event, UnchangedEvent) and not event.device.strip():
            raise BadReport("device must not be empty", field=f"$.events[{i}].device")
        if isinstance(event, DiscoveryEvent):
            for j, device in enumerate(event.devices):
                if not device.address.strip():
                    raise BadReport("address must not be empty", field=f"$.events[{i}].devices[{j}].address")
    return batch


def _check_version(version: int) -> None:
    if version not in COMPATIBLE_SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(COMPATIBLE_SCHEMA_VERSIONS))
        raise BadReport(
            f"schema_version {version} is not supported; this collector reads {supported}",
            field="$.schema_version",
        )


def clamp_clocks(batch: Batch, now: float) -> Counter[str]:
    """Clamp the batch's ``at`` and ``polled_at`` that lie more than :data:`CLOCK_SKEW_S` ahead of
    ``now`` to ``now``, in place; how many of each field were clamped (see the module doc)."""
    latest = now + CLOCK_SKEW_S
    clamped: Counter[str] = Counter()
    for event in batch.events:
        if event.at > latest:
            event.at = now
            clamped["at"] += 1
        timed = (
            event.poll
            if isinstance(event, PollEvent)
            else event
            if isinstance(event, UnchangedEvent)
            else None
        )
        if timed is not None and timed.polled_at > latest:
            timed.polled_at = now
            clamped["polled_at"] += 1
    return clamped

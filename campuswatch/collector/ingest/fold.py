"""One poll folded into what the collector knows of its device. Pure.

A poll either changes the device's state (its status, address, label or parent, or its reading apart
from the measurements: :data:`campuswatch.report.MEASURED`) and is *news*, kept in the event log; or it
changes nothing but the time of the last poll, the count of failures in a row and the measurements,
and is folded into the device's row in place. A full poll whose reading has the state already held
counts as no news either: an agent of schema 1 sends every poll in full, and its unchanged polls must
not grow the log. A poll older than the device's last one is history: it goes into the log and touches
no state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress, count
from operator import ne

import msgspec
from msgspec.structs import replace

from campuswatch.collector.alerting.outages import outages_after
from campuswatch.collector.alerting.thresholds import Applied
from campuswatch.collector.model import DeviceRecord, DeviceWrite
from campuswatch.report import (
    DevicePoll,
    DeviceReading,
    MeasuredShape,
    Measurement,
    UnchangedEvent,
    encode,
    measured_shape,
    reading_signature,
)


@dataclass(slots=True)
class KnownDevice:
    """A device as ingest knows it: its row (``record``, its ``reading`` bytes left out) and its
    reading, as the reading of its last change (``base``) with the latest measurements
    (``measured``, in ``shape``'s order) put in when it is asked for (:meth:`reading`): a poll that
    moved only numbers nobody looks at costs no new reading."""

    record: DeviceRecord
    base: DeviceReading | None
    measured: list[Measurement] | None = None
    _current: DeviceReading | None = field(default=None, repr=False)
    _shape: MeasuredShape | None = field(default=None, repr=False)
    #: The measurements ``base`` itself has (what putting the latest in compares with).
    _base_values: list[Measurement] | None = field(default=None, repr=False)
    #: The thresholds that apply to the device, as its ingestor's limits gave them: kept while its
    #: state (kind, vendor, model) stays, so that a poll asks no lookup of them. (The limits are the
    #: ingestor's for its life: a reload of the rules would have to forget the devices kept.)
    applied: Applied | None = field(default=None, repr=False)

    @classmethod
    def of(cls, record: DeviceRecord, reading: DeviceReading | None) -> KnownDevice:
        """A device whose latest reading is ``reading`` (measurements included)."""
        return cls(record, reading, None, reading)

    def shape(self) -> MeasuredShape | None:
        """Where the reading's measurements are (None without a reading)."""
        if self._shape is None and self.base is not None:
            self._shape = measured_shape(self.base)
        return self._shape

    def measurements(self) -> list[Measurement] | None:
        """The latest measurements (None without a reading)."""
        if self.measured is None:
            shape = self.shape()
            if shape is not None and self.base is not None:
                self.measured = shape.values(self.base)
        return self.measured

    def reading(self) -> DeviceReading | None:
        """The latest reading, with the latest measurements (only those that differ from the base
        reading's are put in: an uptime and a page count, say, not every number of the device)."""
        if self._current is None and self.base is not None:
            shape, values = self.shape(), self.measurements()
            assert shape is not None and values is not None
            if self._base_values is None:
                self._base_values = shape.values(self.base)
            # compress, map and ne compare in C (as MeasuredShape.moved): a switch has hundreds of values.
            assert len(values) == len(self._base_values), "measurements that do not fit their reading"
            differ = list(compress(count(), map(ne, self._base_values, values)))
            self._current = shape.apply(self.base, values, differ)
        return self._current

    def state(self) -> DeviceReading | None:
        """A reading with the device's latest state, its measurements perhaps older than the latest
        (cheaper than :meth:`reading` where only the state is read)."""
        return self._current if self._current is not None else self.base


class Folded(msgspec.Struct, frozen=True):
    """What one poll did: the device as it is now (None: nothing known of it yet), the row to write
    (None: nothing to write), whether the event belongs in the event log, whether the device's state
    changed (``news``), which measurements moved (their ``(part, field)`` names), and whether the
    agent should send the device's next poll in full."""

    device: KnownDevice | None
    write: DeviceWrite | None
    logged: bool
    news: bool = False
    moved: frozenset[tuple[str, str]] = frozenset()
    full_wanted: bool = False


def fold_poll(known: KnownDevice | None, school: str, poll: DevicePoll, agent_id: str, seq: int) -> Folded:
    """Fold a full poll (:class:`~campuswatch.report.PollEvent` ``seq`` of ``agent_id``)."""
    old = known.record if known is not None else None
    if old is not None and poll.polled_at < old.last_polled:
        return Folded(known, None, logged=True)
    status = poll.status
    failures = 0
    if status != "ok":
        # A run of the same failure counts up; a different failure starts a new run.
        failures = (old.consecutive_failures if old is not None and old.status == status else 0) + 1
    # Auth failures and errors are answers too: only silence leaves last_seen alone.
    last_seen = poll.polled_at if status != "unreachable" else (old.last_seen if old is not None else None)
    reading = poll.reading
    moved: frozenset[tuple[str, str]] = frozenset()
    if reading is None:
        # Nothing read: the device keeps its kind and the reading it had.
        kind = old.kind if old is not None else "unknown"
        signature = old.signature if old is not None else None
        reading_agent = old.reading_agent if old is not None else None
        reading_seq = old.reading_seq if old is not None else None
        measured = old.measured if old is not None else None
        new_reading = False
    else:
        kind = reading.kind
        signature = reading_signature(reading)
        # The agent's "unchanged since" refers to its last full poll, this one, whatever it brought.
        reading_agent, reading_seq = agent_id, seq
        new_reading = known is None or known.base is None or old is None or signature != old.signature
        measured = None
        if not new_reading:
            assert known is not None
            # Unchanged state (so the same shape): the stored reading stays, and this poll's
            # measurements go beside it.
            shape, before = measured_shape(reading), known.measurements()
            values = shape.values(reading)
            measured = encode_measured(values)
            if before is not None:
                moved = shape.fields(shape.moved(before, values))
    news = (
        old is None
        or new_reading
        or (status, kind, poll.label, poll.address, poll.parent)
        != (old.status, old.kind, old.label, old.address, old.parent)
    )
    record = DeviceRecord(
        school=school,
        device=poll.device,
        kind=kind,
        label=poll.label,
        address=poll.address,
        status=status,
        last_polled=poll.polled_at,
        last_seen=last_seen,
        consecutive_failures=failures,
        reading=None,
        parent=poll.parent,
        outages=outages_after(old, poll),
        signature=signature,
        reading_agent=reading_agent,
        reading_seq=reading_seq,
        measured=measured,
        version=0 if old is None else old.version + 1,
    )
    written = replace(record, reading=encode(reading)) if new_reading and reading is not None else record
    if reading is not None:
        device = KnownDevice.of(record, reading)
    elif known is not None:
        device = KnownDevice(
            record,
            known.base,
            known.measured,
            known._current,
            known._shape,
            known._base_values,
            known.applied,
        )
    else:
        device = KnownDevice(record, None)
    return Folded(
        device,
        DeviceWrite(written, None if old is None else old.version, new_reading),
        logged=news,
        news=news,
        moved=moved,
    )


def fold_unchanged(known: KnownDevice | None, event: UnchangedEvent, agent_id: str) -> Folded:
    """Fold a compact poll: the outcome of the agent's full poll ``event.since``, with new measurements.

    Raises :class:`~campuswatch.report.MeasurementRefused` for measurements that do not fit the reading
    they refer to. Without that reading (never received, shed from the agent's outbox, or a restored
    database), the poll still says the device answered; its measurements wait for the full poll that
    ``full_wanted`` asks for.
    """
    if known is None:
        return Folded(None, None, logged=False, full_wanted=True)
    old = known.record
    if event.polled_at < old.last_polled:
        return Folded(known, None, logged=False)
    shape = known.shape()
    before = known.measurements()
    refers = shape is not None and (old.reading_agent, old.reading_seq) == (agent_id, event.since)
    moved: frozenset[tuple[str, str]] = frozenset()
    values, current, measured = before, known._current, old.measured
    if refers and event.measured != before:
        assert shape is not None and before is not None
        moved = shape.fields(shape.moved(before, event.measured))
        values, current, measured = event.measured, None, encode_measured(event.measured)
    news = old.status != "ok"
    # An answer: it ends the device's own outage; the ports are as in the full poll it refers to, whose
    # fold left their outages as they are.
    outages = (
        old.outages
        if old.status != "unreachable"
        else outages_after(
            old,
            DevicePoll(
                device=old.device,
                address=old.address,
                status="ok",
                polled_at=event.polled_at,
                duration_s=event.duration_s,
            ),
        )
    )
    record = replace(
        old,
        status="ok",
        last_polled=event.polled_at,
        last_seen=event.polled_at,
        consecutive_failures=0,
        reading=None,
        outages=outages,
        measured=measured,
        version=old.version + 1,
    )
    return Folded(
        KnownDevice(record, known.base, values, current, shape, known._base_values, known.applied),
        # Only the poll's own columns moved, unless an outage ended with it.
        DeviceWrite(record, old.version, False, touch=outages == old.outages),
        logged=news,
        news=news,
        moved=moved,
        full_wanted=not refers,
    )


def encode_measured(values: list[Measurement]) -> bytes:
    """Measurements as the device row keeps them (a JSON list)."""
    return msgspec.json.encode(values)


def fold_one(known: DeviceRecord | None, school: str, poll: DevicePoll) -> DeviceRecord | None:
    """The device as one full poll leaves it (``known``: as it was, with its reading; None when first
    seen), as :func:`fold_poll` folds it, for a caller that keeps records rather than ingest's memory of
    the devices (root cause's arrival-order replay). None for a poll older than the device's latest:
    history only."""
    folded = fold_poll(None if known is None else KnownDevice(known, None), school, poll, "", 1)
    if folded.write is None:
        return None
    record = folded.write.record
    # A poll that read nothing keeps the reading the device had.
    return record if record.reading is not None or known is None else replace(record, reading=known.reading)

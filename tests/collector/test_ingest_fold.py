"""Folding one poll into what the collector knows of its device: pure, each rule on its own."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace

from campuswatch.collector.ingest.fold import Folded, KnownDevice, fold_poll, fold_unchanged
from campuswatch.collector.model import reading_of
from campuswatch.report import (
    DevicePoll,
    DeviceReading,
    MeasurementRefused,
    PollStatus,
    PrinterStatus,
    Supply,
    UnchangedEvent,
    WifiRadio,
    WifiStatus,
    measurements,
)

AGENT = "gw-1"


def reading(pages: int = 100, level: float = 50.0, *, state: str = "ok") -> DeviceReading:
    supply = Supply(index=1, description="Black Toner", type="toner", state=state, level_percent=level)  # type: ignore[arg-type]
    return DeviceReading(
        address="10.0.0.5", kind="printer", supplies=[supply], printer=PrinterStatus(page_count=pages)
    )


def poll(at: float, status: PollStatus = "ok", value: DeviceReading | None = None) -> DevicePoll:
    if status == "ok" and value is None:
        value = reading()
    return DevicePoll(device="pr1", address="10.0.0.5", status=status, polled_at=at, reading=value)


def fold(known: KnownDevice | None, *polls: tuple[int, DevicePoll]) -> list[Folded]:
    """Each ``(seq, poll)`` folded in turn onto the result of the one before."""
    out = []
    for seq, p in polls:
        folded = fold_poll(known, "bbg", p, AGENT, seq)
        known = folded.device
        out.append(folded)
    return out


def test_failures_count_runs_of_the_same_status() -> None:
    statuses: list[PollStatus] = ["unreachable", "unreachable", "auth_failed", "ok", "unreachable"]
    folded = fold(None, *((i, poll(10.0 + i, s)) for i, s in enumerate(statuses, start=1)))
    assert [f.device.record.consecutive_failures for f in folded if f.device] == [1, 2, 1, 0, 1]
    last = folded[-1].device
    assert last is not None
    # The last good reading stays when a failed poll read nothing; only silence leaves last_seen alone.
    assert last.reading() == reading()
    assert (last.record.status, last.record.last_polled, last.record.last_seen) == ("unreachable", 15.0, 14.0)
    assert [f.logged for f in folded] == [True, False, True, True, True], "a failure in a row is no news"


def test_a_full_poll_that_changed_only_measurements_is_folded_in_place() -> None:
    first, same = fold(None, (1, poll(10.0)), (2, poll(70.0, value=reading(pages=130, level=49.0))))
    assert (first.logged, first.write is not None and first.write.new_reading) == (True, True)
    assert (same.logged, same.news) == (False, False)
    assert same.moved == {("printer", "page_count"), ("supplies", "level_percent")}
    assert same.write is not None and not same.write.new_reading, "the stored reading stays"
    record = same.write.record
    # What "unchanged since" refers to from now on is this poll, and its measurements go beside the reading.
    assert (record.reading_seq, record.signature) == (
        2,
        first.write.record.signature if first.write else None,
    )
    stored = first.write.record if first.write else None
    assert stored is not None
    # Read back as stored: the first poll's reading with this poll's measurements.
    assert reading_of(replace(record, reading=stored.reading)) == reading(pages=130, level=49.0)


def test_a_changed_state_is_news_with_a_new_reading() -> None:
    _, jammed = fold(None, (1, poll(10.0)), (2, poll(70.0, value=reading(state="empty"))))
    assert (jammed.logged, jammed.news) == (True, True)
    assert jammed.write is not None and jammed.write.new_reading and jammed.write.record.measured is None


def test_an_older_poll_arriving_late_is_history_only() -> None:
    _, late = fold(None, (2, poll(20.0)), (3, poll(10.0, "unreachable")))
    assert (late.logged, late.write) == (True, None)
    assert late.device is not None and (late.device.record.status, late.device.record.last_polled) == (
        "ok",
        20.0,
    )


def unchanged(seq: int, at: float, since: int, value: DeviceReading) -> UnchangedEvent:
    return UnchangedEvent(
        seq=seq, at=at, device="pr1", since=since, polled_at=at, measured=measurements(value)
    )


def test_a_compact_poll_brings_its_measurements_into_the_reading_it_refers_to() -> None:
    [first] = fold(None, (1, poll(10.0)))
    assert first.device is not None
    moved = fold_unchanged(first.device, unchanged(2, 70.0, 1, reading(pages=150, level=48.0)), AGENT)
    assert (moved.logged, moved.news, moved.full_wanted) == (False, False, False)
    assert moved.moved == {("printer", "page_count"), ("supplies", "level_percent")}
    assert moved.device is not None and moved.device.reading() == reading(pages=150, level=48.0)
    assert moved.write is not None and moved.write.read_version == 0 and not moved.write.new_reading
    still = fold_unchanged(moved.device, unchanged(3, 130.0, 1, reading(pages=150, level=48.0)), AGENT)
    assert still.moved == frozenset() and still.device is not None
    assert (still.device.record.last_polled, still.device.reading()) == (
        130.0,
        reading(pages=150, level=48.0),
    )


def test_a_compact_poll_of_a_reading_the_collector_lacks_asks_for_a_full_one() -> None:
    [first] = fold(None, (1, poll(10.0, "unreachable")))
    assert first.device is not None
    # It refers to seq 5, which never arrived: the device answered (ok), its measurements must wait.
    other = fold_unchanged(first.device, unchanged(6, 70.0, 5, reading(pages=150)), AGENT)
    assert (other.full_wanted, other.news, other.logged) == (True, True, True)
    assert other.device is not None and other.device.record.status == "ok"
    assert fold_unchanged(None, unchanged(6, 70.0, 5, reading()), AGENT).full_wanted


@pytest.mark.parametrize("wrong", [-5, 100.5, True, "100", 2**64], ids=repr)
def test_measurements_that_do_not_fit_the_reading_are_refused_naming_the_position(wrong: object) -> None:
    [first] = fold(None, (1, poll(10.0)))
    assert first.device is not None
    event = unchanged(2, 70.0, 1, reading())
    values: list[Any] = list(event.measured)
    position = values.index(100)  # the page count: a whole number from 0 up
    values[position] = wrong
    with pytest.raises(MeasurementRefused) as refused:
        fold_unchanged(first.device, replace(event, measured=values), AGENT)
    assert refused.value.position == position
    with pytest.raises(MeasurementRefused, match="measurements for a reading of"):
        fold_unchanged(first.device, replace(event, measured=[*event.measured, 1]), AGENT)


def test_measurements_that_fit_are_taken_as_their_fields_hold_them() -> None:
    # A page count gone (the field is optional), a toner level sent as JSON's 47 for 47.0.
    [first] = fold(None, (1, poll(10.0)))
    assert first.device is not None
    event = unchanged(2, 70.0, 1, reading())
    values = list(event.measured)
    values[values.index(100)], values[values.index(50.0)] = None, 47
    folded = fold_unchanged(first.device, replace(event, measured=values), AGENT)
    assert folded.device is not None
    now = folded.device.reading()
    assert now is not None and now.printer is not None
    assert (now.printer.page_count, now.supplies[0].level_percent) == (None, 47)


def test_an_access_points_radios_load_is_a_measurement_not_news() -> None:
    # Clients come and go on each radio at every poll; its channel changes rarely and means something.
    def ap(clients: tuple[int, int], busy: float = 20.0, channel: int = 36) -> DeviceReading:
        radios = [
            WifiRadio(
                ap="", radio="0", band="2.4GHz", channel=6, clients=clients[0], utilization_percent=busy
            ),
            WifiRadio(ap="", radio="1", band="5GHz", channel=channel, clients=clients[1]),
        ]
        return DeviceReading(
            address="10.0.0.9", kind="access_point", wifi=WifiStatus(clients=sum(clients), radios=radios)
        )

    def ap_poll(at: float, value: DeviceReading) -> DevicePoll:
        return DevicePoll(device="ap1", address="10.0.0.9", status="ok", polled_at=at, reading=value)

    _, busier = fold(None, (1, ap_poll(10.0, ap((3, 9)))), (2, ap_poll(70.0, ap((5, 14), busy=35.0))))
    assert (busier.logged, busier.news) == (False, False)
    assert busier.moved == {
        ("wifi", "clients"),
        ("wifi.radios", "clients"),
        ("wifi.radios", "utilization_percent"),
    }
    assert busier.device is not None and busier.device.reading() == ap((5, 14), busy=35.0)
    compact = UnchangedEvent(
        seq=3, at=130.0, device="ap1", since=2, polled_at=130.0, measured=measurements(ap((1, 2), busy=5.0))
    )
    quiet = fold_unchanged(busier.device, compact, AGENT)
    assert quiet.device is not None and quiet.device.reading() == ap((1, 2), busy=5.0)
    [moved_channel] = fold(busier.device, (4, ap_poll(190.0, ap((1, 2), channel=40))))
    assert moved_channel.news

"""The outbox keeps every event on disk, numbered, until the collector acknowledges it.

Run as a script, this file is a poller that adds events to an outbox until it is killed.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Literal

import msgspec
import pytest

from campuswatch.agent.uplink.outbox import Outbox
from campuswatch.report import (
    AnyEvent,
    DevicePoll,
    DeviceReading,
    DiscoveredDevice,
    Heartbeat,
    PollEvent,
    PollStatus,
    Problem,
    Supply,
    SystemInfo,
    UnchangedEvent,
    UpsStatus,
    measurements,
)
from tests.support.paths import REPO

_decode = msgspec.json.Decoder(AnyEvent).decode


def make_poll(
    device: str, *, status: PollStatus = "ok", problems: tuple[str, ...] = (), n: int = 0
) -> DevicePoll:
    """A poll of ``device``; ``n`` varies a measurement (its uptime), not the device's state."""
    reading = DeviceReading(
        address=f"10.0.0.{hash(device) % 250}",
        kind="printer",
        system=SystemInfo(uptime_s=float(n)),
        problems=[Problem(code=code, severity="warning", summary=code) for code in problems],
    )
    return DevicePoll(
        device=device, address=reading.address, status=status, polled_at=float(n), reading=reading
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.sqlite3"


def test_what_a_device_says_beyond_the_reports_bounds_is_cut_so_the_collector_reads_its_poll(
    path: Path,
) -> None:
    """A device whose answer does not fit the report (a 60 KB sysDescr, a charge of 255 %, a raw value
    past 2^63, a NaN runtime) is queued cut to fit: the collector would refuse the event whole and
    the device would vanish from view."""
    reading = DeviceReading(
        address="10.0.0.7",
        kind="ups",
        system=SystemInfo(descr="x" * 60_000, name="ups-1"),
        ups=UpsStatus(charge_percent=255.0, runtime_s=float("nan"), battery_status="normal"),
        supplies=[
            Supply(index=i, description="d" * 300, type="toner", state="ok", level_raw=2**64)
            for i in range(20_000)
        ],
    )
    poll = DevicePoll(device="ups-1", address="10.0.0.7", status="ok", polled_at=1.7e9, reading=reading)
    box = Outbox(path)
    box.add_poll(poll, at=1.7e9)
    [stored] = box.next_batch(1, 1 << 30)
    box.close()
    event = msgspec.json.decode(
        stored.body, type=PollEvent
    )  # the schema, bounds and all, as the collector reads
    assert event.poll.reading is not None
    fitted = event.poll.reading
    assert fitted.system.descr == "x" * 4096 and fitted.system.name == "ups-1"
    assert fitted.ups is not None
    assert (fitted.ups.charge_percent, fitted.ups.runtime_s, fitted.ups.battery_status) == (
        None,
        None,
        "normal",
    )
    assert len(fitted.supplies) == 10_000
    assert (fitted.supplies[0].description, fitted.supplies[0].level_raw) == ("d" * 256, None)


def test_an_event_within_the_bounds_is_queued_as_it_is(path: Path) -> None:
    poll = make_poll("p1", n=3)
    box = Outbox(path)
    box.add_poll(poll, at=5.0)
    [stored] = box.next_batch(1, 1 << 20)
    box.close()
    assert msgspec.json.decode(stored.body, type=PollEvent) == PollEvent(seq=1, at=5.0, poll=poll)


def test_seq_is_monotonic_across_restarts_even_when_everything_was_acked(path: Path) -> None:
    box = Outbox(path)
    assert [box.add_poll(make_poll("p1", n=i)) for i in range(3)] == [1, 2, 3]
    assert box.ack(3) == 3
    box.close()

    box = Outbox(path)
    assert box.stats().depth == 0
    assert box.add_heartbeat(Heartbeat(agent_version="t", uptime_s=1.0)) == 4
    assert box.add_discovery([DiscoveredDevice(address="10.0.0.9")]) == 5


def test_batches_are_oldest_first_and_carry_their_seq(path: Path) -> None:
    box = Outbox(path)
    for i in range(10):
        box.add_poll(make_poll(f"d{i % 3}", n=i), at=1000.0 + i)
    batch = box.next_batch(max_events=4, max_bytes=1 << 20)
    assert [e.seq for e in batch] == [1, 2, 3, 4]
    decoded = [_decode(e.body) for e in batch]
    assert [d.seq for d in decoded] == [1, 2, 3, 4]
    assert isinstance(decoded[0], PollEvent)
    assert decoded[0].poll.device == "d0"
    assert decoded[0].at == 1000.0


def test_batch_byte_limit_still_returns_one_event(path: Path) -> None:
    box = Outbox(path)
    for i in range(5):
        box.add_poll(make_poll("p", n=i), at=1000.0)  # equal times: equal sizes
    sizes = [len(e.body) for e in box.next_batch(10, 1 << 20)]
    assert [e.seq for e in box.next_batch(10, 1)] == [1]
    assert [e.seq for e in box.next_batch(10, sizes[0] + sizes[1])] == [1, 2]
    assert [e.seq for e in box.next_batch(10, sizes[0] + sizes[1] - 1)] == [1]


def test_ack_deletes_only_what_was_acknowledged(path: Path) -> None:
    box = Outbox(path)
    for i in range(6):
        box.add_poll(make_poll("p", n=i))
    assert box.ack(4) == 4
    assert [e.seq for e in box.next_batch(10, 1 << 20)] == [5, 6]
    assert box.ack(4) == 0
    assert box.stats().depth == 2


def test_stats_track_depth_bytes_and_oldest(path: Path) -> None:
    box = Outbox(path)
    box.add_poll(make_poll("a"), at=50.0)
    box.add_poll(make_poll("b"), at=70.0)
    stats = box.stats()
    assert stats.depth == 2
    assert stats.oldest_at == 50.0
    first, second = box.next_batch(10, 1 << 20)
    assert stats.bytes == len(first.body) + len(second.body)
    box.ack(1)
    assert box.stats().oldest_at == 70.0
    assert box.stats().depth == 1
    reopened = Outbox(path).stats()
    assert (reopened.depth, reopened.bytes, reopened.oldest_at, reopened.last_seq) == (
        1,
        stats.bytes - len(first.body),
        70.0,
        2,
    )


def test_listeners_hear_every_add(path: Path) -> None:
    box = Outbox(path)
    heard: list[int] = []

    def listen() -> None:
        heard.append(box.stats().last_seq)

    box.add_listener(listen)
    box.add_poll(make_poll("a"))
    box.add_heartbeat(Heartbeat(agent_version="t", uptime_s=1.0))
    assert heard == [1, 2]
    box.remove_listener(listen)
    box.add_heartbeat(Heartbeat(agent_version="t", uptime_s=2.0))
    assert heard == [1, 2]


def test_parked_event_leaves_the_queue_but_not_the_disk(path: Path) -> None:
    box = Outbox(path)
    for i in range(3):
        box.add_poll(make_poll("p", n=i))
    box.park(2, "400: bad field")
    assert [e.seq for e in box.next_batch(10, 1 << 20)] == [1, 3]
    assert box.stats().parked == 1
    assert Outbox(path).stats().parked == 1


def test_renumber_moves_queued_events_above_the_collectors_seq(path: Path) -> None:
    box = Outbox(path)
    for i in range(3):
        box.add_poll(make_poll("p", n=i))
    box.ack(1)
    assert box.renumber_after(1000) == 2
    batch = box.next_batch(10, 1 << 20)
    assert [e.seq for e in batch] == [1001, 1002]
    assert [_decode(e.body).seq for e in batch] == [1001, 1002]
    assert box.add_poll(make_poll("p", n=9)) == 1003


def test_running_counters_match_a_fresh_count_after_every_kind_of_change(path: Path) -> None:
    box = Outbox(path, max_bytes=20_000)
    for i in range(120):
        box.add_poll(make_poll(f"d{i % 4}", problems=("jam",) if i % 30 == 0 else (), n=i), at=float(i))
    box.add_heartbeat(Heartbeat(agent_version="t", uptime_s=1.0))
    first = box.next_batch(3, 1 << 20)
    box.ack(first[0].seq)
    box.park(first[1].seq, "400: test")
    box.renumber_after(10_000)
    box.add_discovery([DiscoveredDevice(address="10.0.0.9")])
    box.close()

    def counters(s: object) -> tuple[object, ...]:
        return tuple(
            getattr(s, f) for f in ("depth", "bytes", "oldest_at", "last_seq", "parked", "over_bound")
        )

    assert box.stats().coalesced > 0
    assert counters(box.stats()) == counters(Outbox(path, max_bytes=20_000).stats())


def test_state_changes_survive_the_bound_and_samples_coalesce(path: Path) -> None:
    """Fill past max_bytes with unchanged samples and state changes: bounded file, no alarm lost."""
    max_bytes = 256 * 1024
    box = Outbox(path, max_bytes=max_bytes)
    changes: set[int] = set()
    latest_sample: dict[str, int] = {}
    problems: dict[str, tuple[str, ...]] = {}
    for i in range(6000):
        device = f"dev{i % 20}"
        if i % 97 == 0 or device not in problems:
            # Flip a problem on or off (or a device's first poll): a state change.
            problems[device] = () if problems.get(device) else ("toner_low",)
            changes.add(box.add_poll(make_poll(device, problems=problems[device], n=i)))
        else:
            latest_sample[device] = box.add_poll(make_poll(device, problems=problems[device], n=i))
    stats = box.stats()
    queued = box.next_batch(100_000, 1 << 40)
    kept = {e.seq for e in queued}
    assert stats.bytes == sum(len(e.body) for e in queued), "the running byte count matches the disk"
    assert stats.bytes <= max_bytes
    assert not stats.over_bound
    assert stats.coalesced > 0
    assert changes <= kept, "a state change was dropped"
    assert stats.depth == len(kept) < 6000
    # The newest sample of every device survives: superseded samples go first.
    assert set(latest_sample.values()) <= kept
    # The file stays within the budget plus SQLite page overhead (measured ~1.3x), the 1 MiB WAL and -shm.
    assert stats.file_bytes <= 1.5 * max_bytes + 1024 * 1024 + 64 * 1024, stats
    print(
        f"bound: {max_bytes=} events_bytes={stats.bytes} file_bytes={stats.file_bytes} depth={stats.depth} coalesced={stats.coalesced} state_changes={len(changes)}"
    )


def test_state_changes_alone_go_over_the_bound_and_say_so(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox(path, max_bytes=4096)
    seqs = []
    with caplog.at_level(logging.WARNING, logger="campuswatch.agent.uplink.outbox"):
        for i in range(60):
            seqs.append(box.add_poll(make_poll("flappy", status="ok" if i % 2 else "unreachable", n=i)))
    assert [e.seq for e in box.next_batch(1000, 1 << 30)] == seqs
    assert box.stats().over_bound
    assert "over its bound" in caplog.text


def test_state_is_remembered_across_restarts(path: Path) -> None:
    """After a restart, an unchanged poll is still a sample, and a changed one still a state change."""
    box = Outbox(path, max_bytes=1)
    box.add_poll(make_poll("p", status="unreachable"))
    box.close()
    box = Outbox(path, max_bytes=1)
    # Unchanged polls are samples, which a 1-byte budget sheds at once; a state change would stay.
    box.add_poll(make_poll("p", status="unreachable", n=1))
    box.add_poll(make_poll("p", status="unreachable", n=2))
    assert [e.seq for e in box.next_batch(10, 1 << 20)] == [1]
    box.add_poll(make_poll("p", status="ok", n=3))
    assert [e.seq for e in box.next_batch(10, 1 << 20)] == [1, 4]


@pytest.mark.integration
def test_killed_while_adding_leaves_whole_events_and_a_monotonic_counter(path: Path) -> None:
    """SIGKILL a process in the middle of adding events: every committed event is whole, seqs have no
    hole, the database is intact, and numbering goes on after the last committed seq."""
    child = subprocess.Popen(
        [sys.executable, __file__, str(path)],
        stdout=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    for _ in range(300):  # the child prints each seq once committed
        child.stdout.readline()
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    box = Outbox(path)
    events = box.next_batch(1_000_000, 1 << 40)
    seqs = [e.seq for e in events]
    assert len(seqs) >= 300
    assert seqs == list(range(1, len(seqs) + 1)), "no hole, no half-written event"
    assert all(_decode(e.body).seq == e.seq for e in events)
    assert box.add_poll(make_poll("after-crash")) == len(seqs) + 1


if __name__ == "__main__":
    outbox = Outbox(sys.argv[1])
    for i in range(1_000_000):
        print(outbox.add_poll(make_poll(f"dev{i % 10}", n=i)), flush=True)


def test_discovery_results_are_never_shed(path: Path) -> None:
    """Each result names only what is new since the previous run: shedding one would lose those devices."""
    box = Outbox(path, max_bytes=4_000)
    found = [box.add_discovery([DiscoveredDevice(address=f"10.0.0.{i}")]) for i in range(3)]
    for i in range(200):
        box.add_poll(make_poll("printer", n=i))
    assert box.stats().coalesced > 0
    queued = {event.seq for event in box.next_batch(10_000, 1 << 30)}
    assert set(found) <= queued
    box.close()


def test_a_problem_changing_severity_is_a_state_change(path: Path) -> None:
    box = Outbox(path, max_bytes=1)
    warning = make_poll("p", problems=("toner_low",))
    critical = make_poll("p", problems=("toner_low",), n=1)
    assert critical.reading is not None
    critical.reading.problems[0].severity = "critical"
    box.add_poll(warning)
    box.add_poll(make_poll("p", problems=("toner_low",), n=2))  # a sample: shed at once
    box.add_poll(critical)
    assert [e.seq for e in box.next_batch(10, 1 << 20)] == [1, 3]


def test_a_supply_reaching_a_state_is_a_state_change_though_no_problem_changes(path: Path) -> None:
    """The agent judges no threshold: a toner at 0 % is a number and the state ``empty``, not a problem
    of its own, and a change the outbox must not shed (the collector's threshold makes it a problem)."""
    box = Outbox(path, max_bytes=1)

    def toner(level: float, n: int) -> DevicePoll:
        poll = make_poll("p", n=n)
        assert poll.reading is not None
        state: Literal["ok", "empty"] = "empty" if level == 0 else "ok"
        poll.reading.supplies = [
            Supply(index=1, description="Black", type="toner", state=state, level_percent=level)
        ]
        return poll

    for n, level in enumerate([30.0, 29.0, 0.0, 0.0, 80.0, 79.0]):
        box.add_poll(toner(level, n))
    # The first poll, the empty toner and the refill stay; samples of a state the budget sheds at once.
    assert [e.seq for e in box.next_batch(10, 1 << 20)] == [1, 3, 5]


def test_superseded_samples_go_before_an_older_latest_sample_of_another_device(path: Path) -> None:
    box = Outbox(path, max_bytes=4000)
    box.add_poll(make_poll("quiet"))
    box.add_poll(make_poll("busy"))
    quiet_latest = box.add_poll(make_poll("quiet", n=1))
    for n in range(1, 40):
        box.add_poll(make_poll("busy", n=n))
    assert box.stats().coalesced > 0
    assert quiet_latest in {e.seq for e in box.next_batch(1000, 1 << 30)}


def _queued(path: Path) -> set[int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {seq for (seq,) in conn.execute("SELECT seq FROM events")}
    finally:
        conn.close()


@pytest.mark.parametrize("delivered", [True, False])
def test_samples_shed_on_their_way_count_as_shed_only_if_their_batch_is_not_acknowledged(
    path: Path, delivered: bool
) -> None:
    box = Outbox(path, max_bytes=20_000)
    for i in range(40):  # the device's first state, then unchanged samples
        box.add_poll(make_poll("d", n=i), at=float(i))
    batch = [e.seq for e in box.next_batch(5, 1 << 20)]
    depth, counted = box.stats().depth, box.stats().coalesced
    # The outage goes on while the batch is on its way: the bound sheds the oldest samples, the batch's too.
    added = 0
    while set(batch) <= _queued(path):
        box.add_poll(make_poll("d", n=99))
        added += 1
    shed = depth + added - box.stats().depth
    shed_of_batch = len(set(batch) - _queued(path))
    assert box.stats().coalesced - counted == shed - shed_of_batch, "the batch's part waits for its answer"
    if delivered:
        box.ack(batch[-1])  # the collector stored the batch as it was sent, all of it
        box.next_batch(5, 1 << 20)
        assert box.stats().coalesced - counted == shed - shed_of_batch
    else:
        box.next_batch(5, 1 << 20)  # no answer: the batch goes anew, without what was shed of it
        assert box.stats().coalesced - counted == shed


def test_samples_go_compact_once_the_collector_reads_them_and_news_goes_in_full(path: Path) -> None:
    box = Outbox(path, full_every_s=3600)
    first = box.add_poll(make_poll("p1", n=1), at=1000.0)
    box.add_poll(make_poll("p1", n=2), at=1060.0)  # the collector has not said it reads compact events
    box.collector_reads(None)  # a collector of schema 1 says nothing: it does not
    box.add_poll(make_poll("p1", n=3), at=1120.0)
    box.collector_reads(2)
    box.add_poll(make_poll("p1", n=4), at=1180.0)  # the first compact one: seq 3 went in full
    compact = box.add_poll(make_poll("p1", n=5), at=1240.0)
    news = box.add_poll(make_poll("p1", problems=("printer_jammed",), n=6), at=1300.0)
    after_news = box.add_poll(make_poll("p1", problems=("printer_jammed",), n=7), at=1360.0)
    events = {e.seq: _decode(e.body) for e in box.next_batch(100, 1 << 20)}
    assert [type(events[s]).__name__ for s in sorted(events)] == [
        "PollEvent",
        "PollEvent",
        "PollEvent",
        "UnchangedEvent",
        "UnchangedEvent",
        "PollEvent",
        "UnchangedEvent",
    ]
    assert first == 1
    same = events[compact]
    assert isinstance(same, UnchangedEvent)
    # It refers to the last full poll of the device (seq 3) and brings this poll's measurements.
    reading = make_poll("p1", n=5).reading
    assert reading is not None
    expected = measurements(reading)
    assert 5.0 in expected, "the uptime is among them"
    assert (same.device, same.since, same.polled_at, same.measured) == (
        "p1",
        3,
        5.0,
        expected,
    )
    later = events[after_news]
    assert isinstance(later, UnchangedEvent) and later.since == news
    assert box.stats().news == 2, "the first poll and the jam are news; the rest are samples"


def test_a_full_poll_goes_every_full_every_s_and_when_the_collector_asks(path: Path) -> None:
    box = Outbox(path, full_every_s=600)
    box.collector_reads(2)
    kinds = []
    for n, at in enumerate([0.0, 60.0, 599.0, 601.0, 660.0]):
        seq = box.add_poll(make_poll("p1", n=n), at=1000.0 + at)
        kinds.append(type(_decode(box.next_batch(1, 1 << 20)[0].body)).__name__)
        box.ack(seq)
    assert kinds == ["PollEvent", "UnchangedEvent", "UnchangedEvent", "PollEvent", "UnchangedEvent"]
    box.want_full(["p1", "not-a-device"])
    seq = box.add_poll(make_poll("p1", n=9), at=1700.0)
    assert isinstance(_decode(box.next_batch(1, 1 << 20)[0].body), PollEvent)
    box.ack(seq)
    box.add_poll(make_poll("p1", n=10), at=1760.0)
    assert isinstance(_decode(box.next_batch(1, 1 << 20)[0].body), UnchangedEvent)


def test_renumbering_keeps_compact_events_pointing_at_their_full_poll(path: Path) -> None:
    box = Outbox(path)
    box.collector_reads(2)
    box.add_poll(make_poll("p1", n=1), at=1000.0)
    box.add_poll(make_poll("p1", n=2), at=1060.0)
    box.renumber_after(500)
    events = [_decode(e.body) for e in box.next_batch(10, 1 << 20)]
    assert [e.seq for e in events] == [501, 502]
    assert isinstance(events[1], UnchangedEvent) and events[1].since == 501
    # The device's last full poll is renumbered too: the next compact poll refers to it by its new seq.
    box.add_poll(make_poll("p1", n=3), at=1120.0)
    later = _decode(box.next_batch(10, 1 << 20)[-1].body)
    assert isinstance(later, UnchangedEvent) and later.since == 501

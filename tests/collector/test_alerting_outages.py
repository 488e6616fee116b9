"""Outages: when a device and each of a switch's ports were last down, folded from its polls."""

from __future__ import annotations

from campuswatch.collector.alerting.outages import outages_after
from campuswatch.collector.ingest.fold import fold_one
from campuswatch.collector.model import DeviceRecord, Outage
from campuswatch.report import DevicePoll, DeviceReading, Interface, PollStatus


def poll(at: float, status: PollStatus = "ok", *, ports: dict[int, str] | None = None) -> DevicePoll:
    reading = None
    if status == "ok":
        interfaces = [Interface(index=i, name=f"Gi0/{i}", oper_status=s) for i, s in (ports or {}).items()]
        reading = DeviceReading(address="10.0.0.2", kind="switch", interfaces=interfaces)
    return DevicePoll(device="sw", address="10.0.0.2", status=status, polled_at=at, reading=reading)


def replay(*polls: DevicePoll) -> DeviceRecord:
    """The device after these polls, folded as ingest folds them."""
    device: DeviceRecord | None = None
    for p in polls:
        device = fold_one(device, "s", p)
        assert device is not None, "in time order"
    assert device is not None
    return device


def test_an_outage_runs_from_the_last_answer_to_the_first_answer_after_it() -> None:
    down = replay(poll(100), poll(160, "unreachable"), poll(220, "unreachable"))
    assert down.outages == (Outage(after=100),)
    back = replay(poll(100), poll(160, "unreachable"), poll(220, "unreachable"), poll(280))
    assert back.outages == (Outage(after=100, until=280),)
    assert back.outages[0].covers(220) and back.outages[0].covers(101)
    assert not back.outages[0].covers(100) and not back.outages[0].covers(280)


def test_an_outage_ends_when_the_poll_that_saw_the_device_again_ended() -> None:
    """A retry after a lost request answered seconds into the poll: what failed until then is the outage's."""
    back = DevicePoll(device="sw", address="10.0.0.2", status="ok", polled_at=280, duration_s=2.5)
    assert replay(poll(100), poll(160, "unreachable"), back).outages == (Outage(after=100, until=282.5),)
    endless = DevicePoll(device="sw", address="10.0.0.2", status="ok", polled_at=280, duration_s=1e9)
    assert replay(poll(100), poll(160, "unreachable"), endless).outages == (Outage(after=100, until=400),)


def test_a_device_silent_from_its_first_poll_was_never_seen_up() -> None:
    assert replay(poll(100, "unreachable")).outages == (Outage(after=None),)


def test_refused_credentials_and_errors_are_answers_not_outages() -> None:
    assert replay(poll(100), poll(160, "auth_failed"), poll(220, "error")).outages == ()
    after = replay(poll(100, "unreachable"), poll(160, "auth_failed"))
    assert after.outages == (Outage(after=None, until=160),)


def test_only_the_latest_outage_is_kept() -> None:
    twice = replay(poll(100), poll(160, "unreachable"), poll(220), poll(280), poll(340, "unreachable"))
    assert twice.outages == (Outage(after=280),)


def test_a_port_is_down_from_the_last_reading_that_had_it_up_to_the_first_that_has_it_up_again() -> None:
    first = poll(100, ports={5: "up", 6: "up"})
    down = poll(160, ports={5: "down", 6: "up"})
    switch_silent = poll(220, "unreachable")
    still_down = poll(280, ports={5: "lowerLayerDown", 6: "up"})
    up = poll(340, ports={5: "up", 6: "up"})
    assert replay(first, down).outages == (Outage(after=100, port=5),)
    # The switch's own outage between does not end the port's.
    during = replay(first, down, switch_silent, still_down)
    assert during.outages == (Outage(after=160, until=280), Outage(after=100, port=5))
    assert replay(first, down, switch_silent, still_down, up).outages[1] == Outage(100, until=340, port=5)


def test_a_reading_without_interfaces_leaves_the_ports_as_they_were() -> None:
    no_table = DevicePoll(
        device="sw",
        address="10.0.0.2",
        status="ok",
        polled_at=220,
        reading=DeviceReading(address="10.0.0.2", kind="switch", partial={"interfaces": "timeout"}),
    )
    found = replay(poll(100, ports={5: "up"}), poll(160, ports={5: "down"}), no_table)
    assert found.outages == (Outage(after=100, port=5),)


def test_a_device_stored_before_outages_were_kept_that_comes_back_gets_its_outage() -> None:
    old = DeviceRecord("s", "sw", "switch", None, "10.0.0.2", "unreachable", 160.0, 100.0, 2)
    assert outages_after(old, poll(220)) == (Outage(after=100, until=220),)

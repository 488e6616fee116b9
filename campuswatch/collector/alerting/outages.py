"""When each device, and each port of a switch, was last down: folded from every poll by ingest, read by
root cause. Pure.

Root cause must know more than whether a parent is down *now*: a child's latest poll may have failed
while its switch was down although the switch answers again (the child's next poll has not come yet),
or it may arrive only after the switch's recovery. So each device keeps its latest outage, from the last
poll that saw it up to the first that saw it up again, and a switch keeps one per port that went down,
from its readings' ``oper_status``. A device is down when it does not answer at all (``unreachable``);
refused credentials and errors are answers.
"""

from __future__ import annotations

from campuswatch.collector.model import DeviceRecord, Outage
from campuswatch.report import DevicePoll, Interface

#: Interface states that cut a device off (``lowerLayerDown``: a port of a LAG or a dead transceiver).
DOWN_STATES = frozenset({"down", "lowerLayerDown", "notPresent"})
#: The longest a poll's answer is taken to have come after its start (the agent's timeouts times its
#: tries are seconds; a long walk of a slow switch, a minute): a longer ``duration_s`` in a report would
#: stretch an outage over failures that were not its own, and is not believed.
LONGEST_POLL_S = 120.0


def port_is_down(interface: Interface) -> bool:
    """Whether a switch port cuts off what hangs off it."""
    return interface.oper_status in DOWN_STATES


def outages_after(device: DeviceRecord | None, poll: DevicePoll) -> tuple[Outage, ...]:
    """The device's outages as ``poll`` leaves them; ``device`` is its state before (None: first seen).

    The outage of the device itself starts after its last answer and ends with its first answer after
    it; a port's starts after the last poll whose reading had it up and ends with the first reading that
    has it up again. A reading without interfaces (not a switch, or the table failed) leaves the ports'
    outages as they were.

    Polls are stamped when they start, and an answer comes some time within the poll (a retry after a
    lost request, seconds later): an outage ends when the poll that saw the device up again ended, so
    that what failed until that answer came counts as the outage's.
    """
    before = device.outages if device is not None else ()
    last_answer = device.last_seen if device is not None else None
    own = next((o for o in before if o.port is None), None)
    was_down = device is not None and device.status == "unreachable"
    answered = poll.polled_at + min(max(poll.duration_s, 0.0), LONGEST_POLL_S)
    if poll.status == "unreachable" and not was_down:
        own = Outage(after=last_answer)
    elif poll.status != "unreachable" and was_down:
        # A row from before outages were kept has none: its outage began after its last answer.
        own = Outage(own.after if own is not None else last_answer, until=answered)
    ports = {o.port: o for o in before if o.port is not None}
    interfaces = poll.reading.interfaces if poll.reading is not None else []
    for interface in interfaces:
        known = ports.get(interface.index)
        if port_is_down(interface):
            if known is None or not known.ongoing:
                ports[interface.index] = Outage(after=last_answer, port=interface.index)
        elif known is not None and known.ongoing:
            ports[interface.index] = Outage(known.after, until=answered, port=interface.index)
    return (*(() if own is None else (own,)), *(ports[index] for index in sorted(ports)))

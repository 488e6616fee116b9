"""A switch port someone described that is enabled but down: the collector's policy, judged from the
interfaces the agent reports (the switch asserts no fault)."""

from __future__ import annotations

from campuswatch.report import DeviceReading, Interface, Problem
from tests.support.judge import judged

PORTS = [
    Interface(index=2, name="2", alias="AP Foyer", admin_status="up", oper_status="down"),
    Interface(index=3, name="3", alias="Drucker", admin_status="up", oper_status="lowerLayerDown"),
    Interface(index=4, name="4", alias="", admin_status="up", oper_status="down"),  # unused, enabled
    Interface(index=5, name="5", alias="Raum 101", admin_status="down", oper_status="down"),  # disabled
    Interface(index=6, name="Gi6", alias="Gi6", admin_status="up", oper_status="down"),  # alias = name
    Interface(index=7, name="7", alias="Server", admin_status="up", oper_status="up"),
]


def test_a_described_enabled_port_that_is_down_is_a_problem_undescribed_or_disabled_ones_are_not() -> None:
    switch = DeviceReading(address="192.0.2.4", kind="switch", interfaces=PORTS)
    assert judged(switch) == [
        ("port_down", "warning", "port 2 (AP Foyer) down", "2"),
        ("port_down", "warning", "port 3 (Drucker) down", "3"),
    ]
    # A printer's own network port is the printer's business (it is unreachable then), not a port problem.
    assert judged(DeviceReading(address="192.0.2.5", kind="printer", interfaces=PORTS)) == []


def test_an_older_agents_own_port_verdicts_give_way_to_the_collectors() -> None:
    """Agents before the collector owned this judged ports themselves; the collector's rule decides."""
    up = [Interface(index=2, name="2", alias="AP Foyer", admin_status="up", oper_status="up")]
    stale = Problem(code="port_down", severity="warning", summary="port 2 (AP Foyer) down", subject="2")
    switch = DeviceReading(address="192.0.2.4", kind="switch", interfaces=up, problems=[stale])
    assert judged(switch) == []

"""Root cause: parents from config, LLDP and forwarding tables; the root explains its children, judged
by the time of each poll."""

from __future__ import annotations

from campuswatch.collector.alerting.topology import (
    PORT_DOWN,
    Cause,
    Node,
    learned_uplinks,
    root_causes,
    uplinks,
)
from campuswatch.collector.model import Outage
from campuswatch.report import Interface, Neighbor


def lldp(
    port: str, *, if_index: int, address: str | None = None, name: str | None = None, mac: str | None = None
) -> Neighbor:
    return Neighbor(
        local_port=port, source="lldp", if_index=if_index, mgmt_address=address, sys_name=name, chassis_id=mac
    )


def fdb(port: str, mac: str, *, if_index: int) -> Neighbor:
    return Neighbor(local_port=port, source="fdb", if_index=if_index, mac=mac)


def test_configured_parent_makes_children_of_a_down_switch_its_affected_devices() -> None:
    nodes = [
        Node("sw-1", "unreachable"),
        *(Node(f"display-{i}", "unreachable", parent="sw-1") for i in range(3)),
        Node("printer-1", "unreachable"),  # no parent: its own root
    ]
    found = root_causes(nodes)
    root = Cause("sw-1", "unreachable")
    assert found.affected == {root: ("display-0", "display-1", "display-2")}
    assert "printer-1" not in found.cause and "sw-1" not in found.cause


def test_a_child_down_while_its_parent_is_fine_is_its_own_root() -> None:
    found = root_causes([Node("sw-1", "ok"), Node("display-1", "unreachable", parent="sw-1")])
    assert found.cause == {}


def test_the_chain_ends_at_the_topmost_down_device() -> None:
    nodes = [
        Node("core", "unreachable"),
        Node("sw-2", "unreachable", parent="core"),
        Node("ap-1", "unreachable", parent="sw-2"),
    ]
    found = root_causes(nodes)
    assert found.cause == {"sw-2": Cause("core", "unreachable"), "ap-1": Cause("core", "unreachable")}


def test_a_down_port_of_a_live_switch_is_the_root() -> None:
    switch = Node(
        "sw-1",
        "ok",
        neighbors=(lldp("Gi0/5", if_index=5, address="10.0.0.50"),),
        interfaces=(Interface(index=5, name="Gi0/5", oper_status="down"),),
    )
    found = root_causes([switch, Node("proj-1", "unreachable", address="10.0.0.50")])
    assert found.cause == {"proj-1": Cause("sw-1", PORT_DOWN, "Gi0/5")}


def test_a_port_of_a_lag_or_without_its_transceiver_is_down_too() -> None:
    for oper_status in ("lowerLayerDown", "notPresent"):
        switch = Node(
            "sw-1",
            "ok",
            neighbors=(lldp("Gi0/5", if_index=5, address="10.0.0.50"),),
            interfaces=(Interface(index=5, name="Gi0/5", oper_status=oper_status),),
        )
        found = root_causes([switch, Node("proj-1", "unreachable", address="10.0.0.50")])
        assert found.cause == {"proj-1": Cause("sw-1", PORT_DOWN, "Gi0/5")}, oper_status


def test_lldp_by_name_and_fdb_by_a_mac_lldp_tied_to_the_device() -> None:
    core = Node(
        "core",
        "ok",
        # The AP's MAC shows on the core's uplink port to sw-1 too, among other MACs: not its edge port.
        neighbors=(
            lldp("Te1/1", if_index=1, name="sw-1"),
            fdb("Te1/1", "aa:bb:cc:00:00:01", if_index=1),
            fdb("Te1/1", "aa:bb:cc:00:00:09", if_index=1),
        ),
    )
    sw1 = Node(
        "sw-1",
        "ok",
        neighbors=(lldp("Gi0/7", if_index=7, address="10.0.0.7", mac="AA:BB:CC:00:00:01"),),
    )
    ap = Node("ap-1", "ok", address="10.0.0.7:161")
    links = learned_uplinks([core, sw1, ap])
    assert links["sw-1"].parent == "core"
    assert (links["ap-1"].parent, links["ap-1"].port) == ("sw-1", "Gi0/7")


def test_configured_parent_wins_over_a_learned_one() -> None:
    sw1 = Node("sw-1", "ok", neighbors=(lldp("Gi0/7", if_index=7, address="10.0.0.7"),))
    ap = Node("ap-1", "ok", address="10.0.0.7", parent="sw-2")
    assert uplinks([sw1, ap, Node("sw-2", "ok")])["ap-1"].parent == "sw-2"


def test_a_parent_loop_does_not_hang() -> None:
    nodes = [Node("a", "unreachable", parent="b"), Node("b", "unreachable", parent="a")]
    found = root_causes(nodes)
    # A misconfigured loop must still leave one root with a ticket, not silence both.
    assert len(found.cause) == 1
    assert all(cause.device != device for device, cause in found.cause.items())


# -- in time: each poll judged by when it was made, whatever order polls arrive in


def test_a_child_failed_while_its_switch_was_down_stays_explained_after_the_switch_is_back() -> None:
    """The switch answers again (its outage ended at 300) before the child's next poll: the child's
    latest failure, at 250, was the switch's, and stays so until the child says otherwise."""
    switch = Node("sw-1", "ok", polled_at=300, outages=(Outage(after=100, until=300),))
    found = root_causes([switch, Node("d1", "unreachable", parent="sw-1", polled_at=250)], now=300)
    assert found.cause == {"d1": Cause("sw-1", "unreachable")}
    assert found.affected == {}, "an outage that is over has no problem to list the child on"
    polled_again = root_causes([switch, Node("d1", "unreachable", parent="sw-1", polled_at=310)], now=310)
    assert polled_again.cause == {}, "silent after the switch is back: its own failure"


def test_a_child_that_failed_before_its_switch_went_down_is_its_own_root() -> None:
    """The switch answered at 200, after the child's failed poll at 150: the child failed on its own."""
    switch = Node("sw-1", "unreachable", polled_at=260, outages=(Outage(after=200),))
    assert root_causes([switch, Node("d1", "unreachable", parent="sw-1", polled_at=150)]).cause == {}
    during = root_causes([switch, Node("d1", "unreachable", parent="sw-1", polled_at=230)])
    assert during.affected == {Cause("sw-1", "unreachable"): ("d1",)}


def test_a_child_whose_switch_was_not_polled_since_its_failure_waits_for_it_bounded() -> None:
    switch = Node("sw-1", "ok", polled_at=100)
    child = Node("d1", "unreachable", parent="sw-1", polled_at=160)
    assert root_causes([switch, child], now=160, wait_s=120).waiting == {"d1"}
    assert root_causes([switch, child], now=279, wait_s=120).waiting == {"d1"}
    assert root_causes([switch, child], now=280, wait_s=120).waiting == frozenset(), "waited long enough"
    answered = Node("sw-1", "ok", polled_at=165)
    assert root_causes([answered, child], now=165, wait_s=120).waiting == frozenset(), "the verdict is in"
    assert root_causes([Node("d2", "unreachable", polled_at=160)], now=160, wait_s=120).waiting == frozenset()


def test_a_port_that_came_back_explains_the_failure_made_while_it_was_down() -> None:
    port_up = Interface(index=5, name="Gi0/5", oper_status="up")
    switch = Node(
        "sw-1",
        "ok",
        neighbors=(lldp("Gi0/5", if_index=5, address="10.0.0.50"),),
        interfaces=(port_up,),
        polled_at=300,
        outages=(Outage(after=100, until=300, port=5),),
    )
    found = root_causes([switch, Node("proj-1", "unreachable", address="10.0.0.50", polled_at=280)])
    assert found.cause == {"proj-1": Cause("sw-1", PORT_DOWN, "Gi0/5")} and found.affected == {}


def test_a_chain_whose_top_is_back_still_names_it_for_a_failure_made_during_its_outage() -> None:
    nodes = [
        Node("core", "ok", polled_at=300, outages=(Outage(after=100, until=300),)),
        Node("sw-2", "ok", parent="core", polled_at=305, outages=(Outage(after=101, until=305),)),
        Node("ap-1", "unreachable", parent="sw-2", polled_at=250),
    ]
    assert root_causes(nodes).cause == {"ap-1": Cause("core", "unreachable")}


def test_the_schools_link_explains_what_failed_while_it_was_offline() -> None:
    """Polls made while the school was offline (its backlog) wait for a poll after it is back."""
    device = Node("printer-1", "unreachable", polled_at=250)
    offline = Outage(after=100)
    found = root_causes([device], school=offline)
    assert found.cause == {"printer-1": Cause("", "school_offline")}
    assert found.affected == {Cause("", "school_offline"): ("printer-1",)}
    back = Outage(after=100, until=300)
    assert root_causes([device], school=back).affected == {}
    assert root_causes([Node("printer-1", "unreachable", polled_at=320)], school=back).cause == {}

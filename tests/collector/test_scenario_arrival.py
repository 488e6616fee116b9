"""Root cause in time: a switch with six devices behind it goes down and comes back, its polls delivered
in every order a network produces (tests/support/scenario.py, "arrival orders"): every permutation of
the seven polls of the round that matters, one poll a batch, and the whole round as one batch.

Whatever the order, exactly one problem opens, the switch's, with a ticket at once (switches are urgent
and have no ``for``); it lists the six devices behind it and is resolved with the switch's recovery; no
device behind it ever opens a problem. ``-s`` prints the number of orders tried and the time taken.

The quick test shares the judgement of orders that reach the same state (``every_order``); the
integration one replays each of the 45,369 orders on its own, from its first poll to its last, as the
cross-check of that sharing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from itertools import permutations

import pytest

from campuswatch.collector.alerting.device import UNREACHABLE
from campuswatch.collector.alerting.lamps import load_lamp_table
from campuswatch.collector.alerting.rules import SHIPPED_RULES, Calendars, load_rules
from campuswatch.collector.model import ProblemKey
from campuswatch.collector.tickets.decision import ticket_timing
from tests.support.scenario import (
    SCHOOL,
    STAR_CHILDREN,
    STAR_SWITCH,
    ArrivalOrder,
    JudgedSchool,
    arrival_orders,
    every_order,
)

RULES = load_rules(SHIPPED_RULES)
LIMITS = RULES.limits(load_lamp_table())
CALENDAR = Calendars(RULES.calendars).get(None)
SWITCH_DOWN = ProblemKey(SCHOOL, STAR_SWITCH, UNREACHABLE)
#: Nine arrival orders, each with its seven polls in every order and once all in one batch.
ORDERS = 9 * (5040 + 1)


def one_switch_ticket(what: str) -> Callable[[JudgedSchool], None]:
    """What every order must end in: one problem, the switch's, with a ticket at once, listing the six,
    resolved with the switch's recovery."""

    def check(run: JudgedSchool) -> None:
        assert [record.key for record in run.opened] == [SWITCH_DOWN], what
        assert not run.open, f"{what}: every problem resolved"
        assert STAR_SWITCH in run.resolved_with[SWITCH_DOWN], f"{what}: resolved with the switch's recovery"
        assert run.listed[SWITCH_DOWN] == set(STAR_CHILDREN), what
        [problem] = run.opened
        rule = RULES.rule_for(UNREACHABLE, "switch")
        assert ticket_timing(rule, problem.opened_at, CALENDAR).due == problem.opened_at, what

    return check


def judged_before(order: ArrivalOrder) -> JudgedSchool:
    """The school after the batches that come before the shuffled polls (the same for every order)."""
    run = JudgedSchool(RULES, LIMITS)
    for batch in order.before:
        run.deliver(batch)
    return run


def replayed(start: JudgedSchool, order: ArrivalOrder, permutation: tuple[int, ...] | None) -> JudgedSchool:
    """``start`` after the shuffled polls in ``permutation`` (None: one batch) and the batches after."""
    run = start.copy()
    for batch in order.batches(permutation)[len(order.before) :]:
        run.deliver(batch)
    return run


def test_a_switch_down_and_back_in_every_arrival_order_is_one_ticket_and_no_child_problem() -> None:
    started = time.perf_counter()
    tried = judged = 0
    for order in arrival_orders():
        check = one_switch_ticket(order.name)
        before = judged_before(order)
        check(replayed(before, order, None))
        orders, batches = every_order(before, order.shuffled, order.after, check)
        assert orders == 5040, order.name
        tried += orders + 1
        judged += batches
    took = time.perf_counter() - started
    assert tried == ORDERS
    print(
        f"arrival orders tried: {tried} ({judged} batches judged, shared where orders meet) in {took:.1f} s"
    )


def test_sharing_the_judgement_where_orders_meet_ends_where_each_order_alone_ends() -> None:
    """``every_order`` against replaying each order on its own, over four polls of each arrival order
    (24 orders each): the same end states, every order counted."""
    for order in arrival_orders():
        shuffled = (*order.shuffled[:2], *order.shuffled[-2:])
        short = ArrivalOrder(order.name, order.before, shuffled, order.after)
        before = judged_before(short)
        alone = {replayed(before, short, p).snapshot() for p in permutations(range(4))}
        shared: set[Hashable] = set()

        def ended(run: JudgedSchool, into: set[Hashable] = shared) -> None:
            into.add(run.snapshot())

        orders, _ = every_order(before, shuffled, short.after, ended)
        assert orders == 24 and shared == alone, order.name


@pytest.mark.integration
def test_every_arrival_order_replayed_on_its_own_is_one_ticket_and_no_child_problem() -> None:
    """The exhaustive run without sharing: each order from its first poll to its last (about a minute)."""
    started = time.perf_counter()
    tried = 0
    for order in arrival_orders():
        check = one_switch_ticket(order.name)
        before = judged_before(order)
        for permutation in [None, *permutations(range(len(order.shuffled)))]:
            check(replayed(before, order, permutation))
            tried += 1
    took = time.perf_counter() - started
    assert tried == ORDERS
    print(f"arrival orders replayed on their own: {tried} in {took:.1f} s")

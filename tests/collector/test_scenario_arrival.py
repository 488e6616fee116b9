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
from pathlib import Path

import pytest

from campuswatch.collector.alerting.device import UNREACHABLE
from campuswatch.collector.alerting.lamps import load_lamp_table
from campuswatch.collector.alerting.rules import SHIPPED_RULES, Calendars, load_rules
from campuswatch.collector.model import ProblemKey
from campuswatch.collector.tickets.decision import ticket_timing
from sim.collector import FakeClock, running_collector
from tests.support.scenario import (
    SCHOOL,
    STAR_CHILDREN,
    STAR_START,
    STAR_SWITCH,
    ArrivalOrder,
    JudgedSchool,
    Replay,
    SimulatedSchool,
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


async def test_arrival_orders_through_the_real_collector_give_the_switchs_ticket_alone(
    tmp_path: Path,
) -> None:
    """Each arrival order with its seven polls as they come and reversed, posted as an agent posts them
    to a real collector (HTTP, SQLite, the ticket lifecycle, the built-in ticket store): one ticket, the
    switch's, naming the six in its body or its notes, opened and resolved; no problem for any child."""
    runs = [
        (i, p) for i in range(len(arrival_orders())) for p in ((0, 1, 2, 3, 4, 5, 6), (6, 5, 4, 3, 2, 1, 0))
    ]
    schools = {f"arrival-{n}": f"Schule {n}" for n in range(len(runs))}
    clock = FakeClock(STAR_START)
    async with running_collector(tmp_path, schools, clock=clock, rules_file=SHIPPED_RULES) as collector:
        for n, (index, permutation) in enumerate(runs):
            school = f"arrival-{n}"
            # Each run an hour after the last, so that the collector's clock never goes back.
            order = arrival_orders(STAR_START + n * 3600)[index]
            run = Replay(collector, clock, SimulatedSchool([], school=school), agent_id=f"gw-{school}")
            await run.deliver(order.batches(permutation))
            what = f"{order.name}, order {permutation}"
            [ticket] = [t for t in await run.tickets() if t.dedup_key != f"{school}//school_offline/"]
            assert ticket.dedup_key == f"{school}/{STAR_SWITCH}/unreachable/", what
            assert ticket.kinds()[0] == "opened" and ticket.kinds()[-1] == "resolved", what
            assert ticket.state == "resolved", what
            told = ticket.body + "".join(h["text"] for h in ticket.history)
            assert all(child in told for child in STAR_CHILDREN), what
            for child in STAR_CHILDREN:
                key = ProblemKey(school, child, UNREACHABLE)
                assert await collector.store.problems.last_resolved(key) is None, f"{what}: {child}"
            assert await collector.store.problems.open_now(school=school) == [], what


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

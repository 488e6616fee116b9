"""Which tables a poll walks: tables that rarely change are walked less often (mibs/plans.yaml cadence).

Pure: the reader hands in what it remembers of each table's last walk and the poll's counters; these
functions say whether to walk. The reader keeps the rows of a table it did not walk and decodes them
with the rest, so a reading is always whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.transport.types import PollPlan, TableSpec, Varbinds, oid


@dataclass(frozen=True)
class Walked:
    """A table's last walk: the poll it happened at, its rows, and its guard counters at that time."""

    poll: int
    varbinds: Varbinds
    guard: Varbinds = field(default_factory=dict)


def rules() -> dict[str, _knowledge.Cadence]:
    """Table name -> its cadence (mibs/plans.yaml); tables not named are walked at every poll."""
    return _knowledge.plans().cadence


def rows_of(varbinds: Varbinds, table: TableSpec) -> Varbinds:
    """The varbinds of ``varbinds`` that belong to ``table`` (its columns, or its whole subtree)."""
    if not table.columns:
        n = len(table.root)
        return {k: v for k, v in varbinds.items() if k[:n] == table.root and len(k) > n}
    n = len(table.root) + 1
    columns = {(*table.root, col) for col in table.columns}
    return {k: v for k, v in varbinds.items() if k[:n] in columns and len(k) > n}


def guard_spec(rule: _knowledge.Cadence) -> TableSpec | None:
    """The table columns whose values tell that the guarded table may have changed."""
    if rule.changes is None:
        return None
    table = _knowledge.plans().tables[rule.changes.table]
    return TableSpec(rule.changes.table, oid(table.root), tuple(rule.changes.columns))


def walk_with_plan(rule: _knowledge.Cadence | None, poll: int, last: Walked | None) -> bool:
    """Whether to walk the table in the poll's main fetch, before its guard is read: when it has no
    cadence, was never walked (or forgotten), is due by ``every``, or has rows to watch (``while_rows``)."""
    if rule is None or last is None or poll - last.poll >= rule.every:
        return True
    return rule.while_rows and bool(last.varbinds)


def guard_moved(last: Walked, guard_now: Varbinds) -> bool:
    """Whether the guard counters say the table may have changed since its last walk. A device that
    does not answer them gives no such assurance: absent counters count as moved."""
    return not guard_now or guard_now != last.guard


def split(
    plan: PollPlan, poll: int, memory: dict[str, Walked], cadence: dict[str, _knowledge.Cadence]
) -> tuple[PollPlan, list[TableSpec], list[TableSpec]]:
    """The plan to fetch now; the guarded tables left out (walk them if their guard moved); and the
    tables left out by ``every`` alone (their kept rows stand)."""
    now: list[TableSpec] = []
    guarded: list[TableSpec] = []
    kept: list[TableSpec] = []
    for table in plan.tables:
        rule = cadence.get(table.name)
        if walk_with_plan(rule, poll, memory.get(table.name)):
            now.append(table)
        elif rule is not None and rule.changes is not None:
            guarded.append(table)
        else:
            kept.append(table)
    return PollPlan(plan.scalars, tuple(now)), guarded, kept

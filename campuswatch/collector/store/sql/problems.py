"""Problems: at most one open per identity (a partial unique index), resolved ones as history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from campuswatch.collector.model import (
    EVERYTHING,
    DevicePosition,
    ProblemKey,
    ProblemPosition,
    ProblemRecord,
    ProblemReport,
    Window,
    readable,
)
from campuswatch.collector.store.protocols import StoreError
from campuswatch.collector.store.sql.txn import (
    BRIEF_ROWS,
    Database,
    Listing,
    Query,
    Txn,
    execute,
    filters,
    listed,
    prune,
    rows,
)
from campuswatch.report import Severity

_PROBLEM_COLUMNS = (
    "id, school, device, code, subject, state, severity, summary, opened_at, resolved_at, ticket_ref, "
    "affected, seen_at"
)


class SqlProblems:
    """:class:`~campuswatch.collector.store.protocols.ProblemStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_now(
        self,
        *,
        school: str | None = None,
        device: str | None = None,
        devices: tuple[DevicePosition, DevicePosition] | None = None,
        window: Window[ProblemPosition] = EVERYTHING,
    ) -> list[ProblemRecord]:
        """Open problems by school, device, code, subject and id: of the devices from ``devices[0]`` to
        ``devices[1]`` (by school and id, both included) only, in the ``window``. A school's are a
        brief read (ingest reads them at each judgement)."""
        conditions, params = filters(("school", school), ("device", device))
        conditions.append("state = 'open'")
        if devices is not None:
            conditions.append("(school, device) >= (?, ?) AND (school, device) <= (?, ?)")
            params.extend((*devices[0], *devices[1]))
        return await listed(self._db, _OPEN_PROBLEMS, conditions, params, window, brief=school is not None)

    async def open(self, key: ProblemKey, severity: Severity, summary: str, at: float) -> ProblemRecord:
        """Insert an open problem unless one with this identity is open already."""
        return await self._db.write(_open(key, severity, summary, at))

    async def prune_resolved(self, resolved_before: float) -> int:
        """Delete problems resolved before the given time, in chunks, and the people's reports kept with
        them (a problem resolved before its ticket opened keeps its reports until then)."""
        deleted = await prune(
            self._db, "problems", "id", "state = 'resolved' AND resolved_at < ?", (resolved_before,)
        )
        await prune(self._db, "problem_reports", "id", "problem_id NOT IN (SELECT id FROM problems)", ())
        return deleted

    async def last_resolved(self, key: ProblemKey) -> ProblemRecord | None:
        """The newest resolved problem of an identity."""
        found = await self._db.read(
            rows(
                f"SELECT {_PROBLEM_COLUMNS} FROM problems WHERE school = ? AND device = ? AND code = ? "
                "AND subject = ? AND state = 'resolved' ORDER BY resolved_at DESC LIMIT 1",
                (key.school, key.device, key.code, key.subject),
            ),
            brief=True,
        )
        return _problem(found[0]) if found else None

    async def get(self, problem_id: int) -> ProblemRecord | None:
        """One problem by id, open or resolved."""
        found = await self._db.read(
            rows(f"SELECT {_PROBLEM_COLUMNS} FROM problems WHERE id = ?", (problem_id,))
        )
        return _problem(found[0]) if found else None

    async def resolve(self, problem_id: int, at: float) -> ProblemRecord:
        """Resolve a problem by id (a resolved one stays as it was)."""
        row = await self._db.write(_resolve(problem_id, at))
        if row is None:
            raise StoreError(f"no problem with id {problem_id}")
        return _problem(row)

    async def set_ticket(self, problem_id: int, ticket_ref: str) -> None:
        """Remember a problem's ticket."""
        await self._db.write(
            execute("UPDATE problems SET ticket_ref = ? WHERE id = ?", (ticket_ref, problem_id))
        )

    async def set_affected(self, problem_id: int, affected: tuple[str, ...]) -> None:
        """Replace the devices a root problem explains."""
        await self._db.write(
            execute("UPDATE problems SET affected = ? WHERE id = ?", (json.dumps(list(affected)), problem_id))
        )

    async def add_report(self, report: ProblemReport) -> None:
        """Keep a person's report with its problem."""
        await self._db.write(
            execute(
                "INSERT INTO problem_reports (problem_id, at, room, complaint, note) VALUES (?, ?, ?, ?, ?)",
                (report.problem_id, report.at, report.room, report.complaint, report.note),
            )
        )

    async def reports(self, problem_ids: Sequence[int]) -> list[ProblemReport]:
        """The reports kept with these problems, oldest first."""
        if not problem_ids:
            return []
        marks = ", ".join("?" for _ in problem_ids)
        found = await self._db.read(
            rows(
                "SELECT problem_id, at, room, complaint, note FROM problem_reports"
                f" WHERE problem_id IN ({marks}) ORDER BY at, id",
                tuple(problem_ids),
            )
        )
        return readable(found, lambda r: ProblemReport(*r), "problem report")

    async def mark_seen(self, problem_ids: list[int], at: float) -> None:
        """Set ``seen_at`` of open problems (a school's, at each judgement), in one transaction."""
        if not problem_ids:
            return
        await self._db.write(
            execute(
                "UPDATE problems SET seen_at = ? WHERE id = ? AND state = 'open'",
                [(at, problem_id) for problem_id in problem_ids],
                many=True,
            ),
            brief=len(problem_ids) <= BRIEF_ROWS,
        )


def _open(key: ProblemKey, severity: Severity, summary: str, at: float) -> Txn[ProblemRecord]:
    identity = (key.school, key.device, key.code, key.subject)
    # Another writer (a second replica) may open the same identity at the same moment: the partial
    # unique index lets one insert win, and both then read that one.
    yield Query(
        "INSERT INTO problems (school, device, code, subject, state, severity, summary, "
        "opened_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?) "
        "ON CONFLICT (school, device, code, subject) WHERE state = 'open' DO NOTHING",
        (*identity, severity, summary, at),
    )
    row = (
        yield Query(
            f"SELECT {_PROBLEM_COLUMNS} FROM problems WHERE school = ? AND device = ? "
            "AND code = ? AND subject = ? AND state = 'open'",
            identity,
        )
    ).one()
    assert row is not None  # inserted or found in this very transaction
    return _problem(row)


def _resolve(problem_id: int, at: float) -> Txn[tuple[Any, ...] | None]:
    yield Query(
        "UPDATE problems SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'open'",
        (at, problem_id),
    )
    return (yield Query(f"SELECT {_PROBLEM_COLUMNS} FROM problems WHERE id = ?", (problem_id,))).one()


def _problem(row: tuple[Any, ...]) -> ProblemRecord:
    return ProblemRecord(
        id=row[0],
        key=ProblemKey(school=row[1], device=row[2], code=row[3], subject=row[4]),
        state=row[5],
        severity=row[6],
        summary=row[7],
        opened_at=row[8],
        resolved_at=row[9],
        ticket_ref=row[10],
        affected=tuple(json.loads(row[11])),
        seen_at=row[12],
    )


#: Open problems by identity (index ``problems_open_order``), the id last: a resolved problem may share
#: an open one's identity, and the cursors handed out name it.
_OPEN_PROBLEMS = Listing(
    select=f"SELECT {_PROBLEM_COLUMNS} FROM problems",
    key=("school", "device", "code", "subject", "id"),
    key_at=(1, 2, 3, 4, 0),
    school="school",
    school_at=1,
    build=_problem,
    what="problem",
)

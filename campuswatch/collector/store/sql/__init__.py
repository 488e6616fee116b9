"""The collector's store in portable SQL: one class per aggregate, written once, over any
:class:`~.txn.Database` (SQLite's or PostgreSQL's)."""

from __future__ import annotations

from campuswatch.collector.store.coordination import LocalCoordination, NoFeed
from campuswatch.collector.store.protocols import ChangeFeed, Coordination
from campuswatch.collector.store.sql.agents import SqlAgents
from campuswatch.collector.store.sql.audit import SqlAudit
from campuswatch.collector.store.sql.devices import SqlDevices
from campuswatch.collector.store.sql.problems import SqlProblems
from campuswatch.collector.store.sql.schools import SqlSchools
from campuswatch.collector.store.sql.silences import SqlSilences
from campuswatch.collector.store.sql.tickets import SqlTickets
from campuswatch.collector.store.sql.tokens import SqlTokens
from campuswatch.collector.store.sql.txn import Database
from campuswatch.collector.store.sql.users import SqlUsers


class SqlStore:
    """The :class:`~campuswatch.collector.store.protocols.Store`'s aggregates on one database, how the
    collectors on it take turns and hear of each other's changes (by default: as the only one)."""

    def __init__(
        self, db: Database, coordination: Coordination | None = None, feed: ChangeFeed | None = None
    ) -> None:
        self.db = db
        self.coordination = coordination or LocalCoordination()
        self.feed = feed or NoFeed()
        self.schools = SqlSchools(db)
        self.agents = SqlAgents(db)
        self.devices = SqlDevices(db)
        self.problems = SqlProblems(db)
        self.silences = SqlSilences(db)
        self.tickets = SqlTickets(db)
        self.tokens = SqlTokens(db)
        self.users = SqlUsers(db)
        self.audit = SqlAudit(db)

    async def close(self) -> None:
        """Give up the turns and release the database."""
        await self.coordination.close()
        await self.db.close()

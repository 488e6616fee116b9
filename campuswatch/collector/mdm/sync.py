"""Reading the city's MDM on a schedule: each school's iPads, published for the metrics and judged by the
rules as problems of the school (never one per iPad), opened and resolved through the ticket lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from campuswatch.collector.alerting.ipads import IPADS_PREFIX, school_ipad_problems
from campuswatch.collector.alerting.liveness import SCHOOL_LEVEL
from campuswatch.collector.alerting.reconcile import reconcile
from campuswatch.collector.alerting.thresholds import Limits
from campuswatch.collector.config import MdmSection
from campuswatch.collector.events import IpadsSynced, Publish
from campuswatch.collector.mdm.fleet import IpadPolicy, fleets
from campuswatch.collector.mdm.jamf import JamfPro
from campuswatch.collector.store.protocols import ProblemStore
from campuswatch.collector.tickets.lifecycle import TicketLifecycle
from campuswatch.report import IpadFleet

log = logging.getLogger(__name__)


class IpadSync:
    """One read of the MDM, turned into per-school aggregates, published and judged."""

    def __init__(
        self,
        section: MdmSection,
        policy: IpadPolicy,
        *,
        limits: Limits,
        problems: ProblemStore,
        lifecycle: TicketLifecycle,
        publish: Publish,
        clock: Callable[[], float],
    ) -> None:
        jamf = section.jamf_pro
        self._client = JamfPro(
            jamf.url, jamf.client_id, jamf.client_secret, ca_file=str(jamf.ca_file) if jamf.ca_file else None
        )
        self._schools = dict(section.schools)
        self._policy = policy
        self._limits = limits
        self._problems = problems
        self._lifecycle = lifecycle
        self._publish = publish
        self._clock = clock
        # One read at a time: the scheduled one and one asked for must not both open the same problem.
        self._lock = asyncio.Lock()

    async def sync(self) -> dict[str, IpadFleet]:
        """Read the MDM once and bring the schools' iPad problems in line; raises
        :class:`~campuswatch.collector.mdm.jamf.MdmError` when it cannot be read (nothing changes then:
        the last numbers and problems stand until the next good read)."""
        async with self._lock:
            return await self._sync()

    async def _sync(self) -> dict[str, IpadFleet]:
        ipads = await self._client.ipads()
        now = self._clock()
        found, unmapped = fleets(ipads, self._schools, self._policy, now)
        await self._publish(IpadsSynced(tuple(sorted(found.items())), unmapped, now))
        open_now = [
            p
            for p in await self._problems.open_now(device=SCHOOL_LEVEL)
            if p.key.code.startswith(IPADS_PREFIX)
        ]
        wanted = school_ipad_problems(found, self._limits, now, {p.key for p in open_now})
        for school, problems in wanted.items():
            changes = reconcile(problems, [p for p in open_now if p.key.school == school])
            await self._lifecycle.apply(changes, {}, now)
        log.info("mdm read", extra={"ipads": len(ipads), "schools": len(found), "unmapped": unmapped})
        return found

"""Reading the city's MDM on a schedule: each school's iPads, published for the metrics and judged by the
rules as problems of the school (never one per iPad), opened and resolved through the ticket lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from campuswatch.collector.alerting.ipads import IPADS_PREFIX, ipad_problems
from campuswatch.collector.alerting.liveness import SCHOOL_LEVEL
from campuswatch.collector.alerting.reconcile import reconcile
from campuswatch.collector.alerting.thresholds import Limits
from campuswatch.collector.config import MdmSection
from campuswatch.collector.events import IpadsSynced, Publish
from campuswatch.collector.mdm.fleet import IpadPolicy, fleets
from campuswatch.collector.mdm.jamf import JamfPro
from campuswatch.collector.model import ProblemRecord
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
        school_turn: Callable[[str], AbstractAsyncContextManager[None]],
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
        # A school's problems change in its turn only (of every collector on the database), as ingest's.
        self._school_turn = school_turn
        self._lifecycle = lifecycle
        self._publish = publish
        self._clock = clock
        # One read at a time: the MDM is a shared service; one asked for while the scheduled one runs waits.
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
        judged = {p.key.school for p in await self._open_ipad_problems()}
        for school in sorted(judged | set(found)):
            async with self._school_turn(school):
                open_now = await self._open_ipad_problems(school)
                fleet = found.get(school)
                # A school the MDM no longer lists has no iPad problems.
                wanted = (
                    ipad_problems(school, fleet, self._limits, now, {p.key for p in open_now})
                    if fleet is not None
                    else []
                )
                await self._lifecycle.apply(reconcile(wanted, open_now), {}, now)
        log.info("mdm read", extra={"ipads": len(ipads), "schools": len(found), "unmapped": unmapped})
        return found

    async def _open_ipad_problems(self, school: str | None = None) -> list[ProblemRecord]:
        found = await self._problems.open_now(school=school, device=SCHOOL_LEVEL)
        return [p for p in found if p.key.code.startswith(IPADS_PREFIX)]

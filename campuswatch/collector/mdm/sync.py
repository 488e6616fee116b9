"""Reading the city's MDM on a schedule: each school's iPads, published for the metrics and judged by the
rules as problems of the school (never one per iPad)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from campuswatch.collector.config import MdmSection
from campuswatch.collector.events import IpadsSynced, Publish
from campuswatch.collector.mdm.fleet import IpadPolicy, fleets
from campuswatch.collector.mdm.jamf import JamfPro
from campuswatch.collector.model import IpadFleet

log = logging.getLogger(__name__)


class IpadSync:
    """One read of the MDM, turned into per-school aggregates and published."""

    def __init__(
        self, section: MdmSection, policy: IpadPolicy, publish: Publish, clock: Callable[[], float]
    ) -> None:
        jamf = section.jamf_pro
        self._client = JamfPro(
            jamf.url, jamf.client_id, jamf.client_secret, ca_file=str(jamf.ca_file) if jamf.ca_file else None
        )
        self._schools = dict(section.schools)
        self._policy = policy
        self._publish = publish
        self._clock = clock

    async def sync(self) -> dict[str, IpadFleet]:
        """Read the MDM once; raises :class:`~campuswatch.collector.mdm.jamf.MdmError` when it cannot be read
        (nothing is published then: the last numbers stand until the next good read)."""
        ipads = await self._client.ipads()
        now = self._clock()
        found, unmapped = fleets(ipads, self._schools, self._policy, now)
        await self._publish(IpadsSynced(tuple(sorted(found.items())), unmapped, now))
        log.info("mdm read", extra={"ipads": len(ipads), "schools": len(found), "unmapped": unmapped})
        return found

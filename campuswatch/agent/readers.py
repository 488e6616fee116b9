"""The agent's one device pipeline: which reader reads which protocol, and a read turned into a poll.

A device to read is a :class:`~campuswatch.agent.protocols.reader.ReadTarget`, whether it comes from a
config entry (``protocol:`` plus ``address``, :func:`campuswatch.agent.config.read_target`) or from
``campuswatch-agent probe`` (``pjlink://HOST[:PORT]``, ``ipp://HOST:PORT/PATH``, a bare HOST[:PORT] for
SNMP). Its URL scheme picks the reader here, the one place that maps protocol names and schemes to
readers; every reader satisfies :class:`~campuswatch.agent.protocols.reader.DeviceReader`.
"""

from __future__ import annotations

import time
from typing import get_args

from campuswatch.agent.errors import DeviceError, DeviceReplyError
from campuswatch.agent.protocols.display import DisplayReader
from campuswatch.agent.protocols.ipp import IppReader
from campuswatch.agent.protocols.pjlink import PjlinkReader
from campuswatch.agent.protocols.presence import PresenceReader
from campuswatch.agent.protocols.reader import DeviceReader, ProtocolName, ReadTarget
from campuswatch.agent.protocols.snmp.reader import SnmpDeviceReader
from campuswatch.agent.protocols.snmp.transport.client import SnmpTransport
from campuswatch.report import DevicePoll, DeviceReading

#: URL schemes and the protocol each names: every protocol by its own name, and IPP over TLS.
SCHEMES: dict[str, ProtocolName] = {name: name for name in get_args(ProtocolName)} | {"ipps": "ipp"}


class Readers:
    """One reader per protocol for as long as the agent (or a probe) runs, so that stateful readers keep
    what they learn between reads. SNMP goes through ``snmp``, whose lifetime the caller owns."""

    def __init__(self, snmp: SnmpTransport) -> None:
        display = DisplayReader()
        self._readers: dict[ProtocolName, DeviceReader] = {
            "snmp": SnmpDeviceReader(snmp),
            "pjlink": PjlinkReader(),
            "ipp": IppReader(),
            "benq": display,
            "viewsonic": display,
            "samsung": display,
            "ping": PresenceReader(),
        }

    def reader(self, protocol: ProtocolName) -> DeviceReader:
        """The reader of ``protocol``."""
        return self._readers[protocol]

    async def read(self, target: ReadTarget) -> DeviceReading:
        """Read the target with the reader its URL scheme names; raises ``DeviceError`` subclasses."""
        scheme = target.url.partition("://")[0]
        protocol = SCHEMES.get(scheme)
        if protocol is None:
            raise DeviceReplyError(f"unknown scheme {scheme!r}; known: {', '.join(sorted(SCHEMES))}")
        return await self._readers[protocol].read(target)

    async def poll(
        self, target: ReadTarget, *, address: str, label: str | None, parent: str | None
    ) -> DevicePoll:
        """Read the target and turn the outcome, a reading or any device error, into a :class:`DevicePoll`
        of the device ``target.key`` at ``address`` (as configured)."""
        started = time.time()
        t0 = time.monotonic()
        reading: DeviceReading | None = None
        error: DeviceError | None = None
        try:
            reading = await self.read(target)
        except DeviceError as err:
            error = err
        return DevicePoll(
            device=target.key,
            address=address,
            status=error.status if error else "ok",
            polled_at=started,
            duration_s=time.monotonic() - t0,
            error=(str(error) or type(error).__name__) if error else None,
            reading=reading,
            label=label,
            parent=parent,
        )

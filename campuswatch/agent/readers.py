"""The agent's one device pipeline: which reader reads which protocol, and a read turned into a poll.

A device to read is a :class:`~campuswatch.agent.protocols.reader.ReadTarget`, whether it comes from a
config entry (``protocol:`` plus ``address``, :func:`campuswatch.agent.config.read_target`) or from
``campuswatch-agent probe`` (``pjlink://HOST[:PORT]``, ``ipp://HOST:PORT/PATH``, a bare HOST[:PORT] for
SNMP). Its URL scheme picks the reader here, the one place that maps protocol names and schemes to
readers; every reader satisfies :class:`~campuswatch.agent.protocols.reader.DeviceReader`.

Whatever a device does, a read ends within the target's ``max_poll_s`` and with a reading or a
``DeviceError``: an exception a reader did not expect (a device answering what no parser foresaw) becomes
a :class:`~campuswatch.agent.errors.DeviceReplyError`, so the device shows as "answers garbage" instead of
vanishing from its school while its last state stays shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from typing import get_args

from campuswatch.agent.errors import DeviceError, DeviceOverBudget, DeviceReplyError
from campuswatch.agent.protocols.display import DisplayReader
from campuswatch.agent.protocols.ipp import IppReader
from campuswatch.agent.protocols.pjlink import PjlinkReader
from campuswatch.agent.protocols.presence import PresenceReader
from campuswatch.agent.protocols.reader import BadUrl, DeviceReader, ProtocolName, ReadTarget
from campuswatch.agent.protocols.snmp.reader import SnmpDeviceReader
from campuswatch.agent.protocols.snmp.transport.client import SnmpTransport
from campuswatch.report import DevicePoll, DeviceReading

log = logging.getLogger(__name__)

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
        """Read the target with the reader its URL scheme names, within ``target.max_poll_s``.

        Raises ``DeviceError`` subclasses and nothing else: :class:`DeviceOverBudget` when the read takes
        longer than its budget, :class:`DeviceReplyError` for any exception a reader let through.
        :class:`~campuswatch.agent.protocols.reader.BadUrl` (a target no reader can ask) still raises.
        """
        scheme = target.url.partition("://")[0]
        protocol = SCHEMES.get(scheme)
        if protocol is None:
            raise DeviceReplyError(f"unknown scheme {scheme!r}; known: {', '.join(sorted(SCHEMES))}")
        deadline = asyncio.timeout(target.max_poll_s)
        try:
            async with deadline:
                return await self._readers[protocol].read(target)
        except (DeviceError, BadUrl):
            raise
        except TimeoutError as err:
            if not deadline.expired():  # a reader's own timeout it forgot to translate
                raise _unexpected(err, target, protocol) from None
            raise DeviceOverBudget(
                f"no complete reading within {target.max_poll_s:g} s (max_poll_s): the device answers "
                "too slowly or without end"
            ) from None
        except Exception as err:
            raise _unexpected(err, target, protocol) from None

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
        except BadUrl as err:  # the config's checks rule this out; shown on the device, not lost
            error = DeviceReplyError(str(err))
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


def _unexpected(err: BaseException, target: ReadTarget, protocol: ProtocolName) -> DeviceReplyError:
    """The device error for an exception the reader did not turn into one, logged for whoever fixes the
    reader. Only the exception's type and where it was raised are told: its message may quote what the
    device sent or, from a library, a credential."""
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{frames[-1].filename.rpartition('/site-packages/')[2]}:{frames[-1].lineno}" if frames else "?"
    kind = type(err).__name__
    log.error(
        "reader failed on an answer it did not foresee",
        extra={"device": target.key, "protocol": protocol, "error_type": kind, "raised_at": where},
    )
    return DeviceReplyError(f"{protocol} answer not understood ({kind})")

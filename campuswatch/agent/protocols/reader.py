"""What every protocol's reader is: one call from a :class:`ReadTarget` to a reading.

Each protocol package exposes one class that satisfies :class:`DeviceReader` (``SnmpDeviceReader``,
``PjlinkReader``, ``DisplayReader``, ``IppReader``, ``PresenceReader``); the registry in
:mod:`campuswatch.agent.readers` maps protocol names and URL schemes to them, and is the one path both the
agent's polls and ``campuswatch-agent probe`` take. A reader may keep state between reads (SNMP keeps each
device's classification and previous reading, keyed by :attr:`ReadTarget.key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar, cast

from campuswatch.agent.protocols.snmp.transport.types import V3User
from campuswatch.config import Secret
from campuswatch.devices import split_host_port
from campuswatch.report import DeviceReading

#: What one poll of a device may take at most unless its config says otherwise: a minute, and 8 MiB of
#: values and bodies (the biggest legitimate reading, a switch's forwarding table of thousands of MACs,
#: is a few hundred KB). Past either, the read stops with a :class:`~campuswatch.agent.errors.DeviceOverBudget`.
DEFAULT_MAX_POLL_S = 60.0
DEFAULT_MAX_POLL_BYTES = 8 * 1024 * 1024

#: The protocols a device may speak (``protocol:`` in agent.yaml); each is also its URL scheme.
ProtocolName = Literal["snmp", "pjlink", "ipp", "benq", "viewsonic", "samsung", "ping"]

Scheme = TypeVar("Scheme", bound=str)


@dataclass(frozen=True)
class ReadTarget:
    """One device to read, settled: where it is, how long to wait, and what its protocol needs to get in.

    Built from a config entry (:func:`campuswatch.agent.config.read_target`) or from ``probe``'s command
    line. Each reader takes the fields its protocol uses and ignores the rest.
    """

    #: What the device is known by between reads (the config's device id; probe: what was typed).
    key: str
    #: ``scheme://HOST[:PORT][/PATH]``; the scheme names the protocol (``ipps`` is IPP over TLS).
    url: str
    timeout_s: float = 2.0
    #: SNMP: requests sent again after a timeout.
    retries: int = 1
    #: PJLink: the projector's password.
    password: Secret | None = None
    #: SNMP: the version and its credentials (a community for v1/v2c, a user for v3).
    snmp_version: Literal["1", "2c", "3"] = "2c"
    community: Secret | None = None
    v3: V3User | None = None
    #: The whole read, every request and answer of it, ends within this many seconds
    #: (:meth:`campuswatch.agent.readers.Readers.poll` enforces it for every protocol).
    max_poll_s: float = DEFAULT_MAX_POLL_S
    #: The most a device may send in one read: SNMP values and names, an IPP body, LAN control replies.
    max_poll_bytes: int = DEFAULT_MAX_POLL_BYTES


class DeviceReader(Protocol):
    """Reads one device once. Raises :class:`~campuswatch.agent.errors.DeviceError` subclasses when the
    device is unreachable, refuses us or answers garbage, and :class:`BadUrl` when the target's URL names
    no device this reader can ask."""

    async def read(self, target: ReadTarget) -> DeviceReading:
        """The device's reading, with the problems it shows."""
        ...


class BadUrl(ValueError):
    """A target URL that names no device: another scheme, no host, or a port that is no number."""


def split_url(url: str, default_ports: Mapping[Scheme, int]) -> tuple[Scheme, str, int]:
    """``scheme://HOST[:PORT]`` -> (scheme, host, port) for the schemes in ``default_ports``.

    Raises :class:`BadUrl` naming the URL when the scheme is not one of them or the port is not a number.
    """
    text, sep, rest = url.partition("://")
    scheme = cast(Scheme, text)
    if not sep or scheme not in default_ports:
        raise BadUrl(f"{url!r}: expected {' or '.join(f'{s}://HOST[:PORT]' for s in default_ports)}")
    try:
        host, port = split_host_port(rest.rstrip("/"), default_ports[scheme])
    except ValueError:
        raise BadUrl(f"{url!r}: the port is not a number") from None
    if not host:
        raise BadUrl(f"{url!r}: no host")
    return scheme, host, port

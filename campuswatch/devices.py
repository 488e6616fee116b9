"""What the agent and the collector both know about devices, beyond the wire format: pure functions.

The agent decides what to read; the collector decides what is a fault. Where both need the same piece of
device knowledge (when a projector's silence is a fault, where a device address's host is), it lives here
so that neither side imports the other.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: Power states after which a projector may switch its network off (eco standby, or cooling down to it).
PROJECTOR_ASLEEP_POWER = frozenset({"standby", "cooling"})


def projector_unreachable_is_fault(last_known_power: str | None) -> bool:
    """Whether a projector that does not answer at all should count as a fault.

    Many projectors switch their network off in (eco) standby, so silence after we last saw it in
    ``standby``, or ``cooling`` down towards standby, is the normal night-time state, not a fault. Silence
    after it was ``on`` or ``warm-up``, or from one we never reached (``None``), is a fault: someone
    unplugged it, or it failed.
    """
    return last_known_power not in PROJECTOR_ASLEEP_POWER


def _host_and_port(address: str) -> tuple[str, str | None]:
    """``host``, ``host:port``, ``[v6]:port`` -> (host, port text or None); a bare IPv6 address has no port."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        return host, port
    return address, None


def split_host_port(address: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` -> (host, port); ValueError when the port is not a number."""
    host, port = _host_and_port(address)
    return host, int(port) if port is not None else default_port


def address_host(address: str) -> str:
    """The host of a device address as the agent config writes it: ``10.0.0.5``, ``10.0.0.5:1161``,
    ``[fe80::1]:161``, ``pjlink://10.0.0.41:4352``, ``ipp://10.0.0.3:631/ipp/print`` -> the host alone.

    Discovery reports bare hosts while polled devices carry ports and URLs; this is what matches them.
    """
    if "://" in address:
        return urlsplit(address).hostname or address
    return _host_and_port(address)[0]

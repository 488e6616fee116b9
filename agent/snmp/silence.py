"""After an SNMP timeout: was the device unreachable, or did it ignore our credentials?

v1/v2c agents answer a wrong community with silence, exactly like a dead host. What can be told apart:

* **ICMP port unreachable** for the SNMP port (a connected UDP socket sees ``ConnectionRefusedError``):
  the host is up but no agent listens -> unreachable ("SNMP agent not running").
* **Silence, but the host is alive**: it answered SNMP with these same credentials before, or a quick
  TCP connect to a common port was accepted or refused (a refusal is an answer too) -> for v1/v2c,
  auth_failed "no SNMP answer with these credentials (wrong community?)"; for v3 (whose agents answer
  even unknown users with a report) unreachable "host is up but its SNMP agent is silent".
* **Silence and no sign of life** -> unreachable.

What cannot be told apart: a wrong community from an agent that is hung, overloaded or configured to
ignore our address (all silent while the host is up); a dead host from one that drops every probe at
a firewall. The message says which evidence decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket

from agent.snmp import ber
from agent.snmp.types import SnmpAuthError, SnmpTarget, SnmpTimeout

#: TCP ports a school device usually has open (ssh, http, https, telnet, IPP, JetDirect).
LIVENESS_PORTS = (22, 80, 443, 23, 631, 9100)
WRONG_COMMUNITY = "no SNMP answer with these credentials (wrong community?)"


async def _udp_refused(target: SnmpTarget, wait_s: float) -> bool:
    """Send one SNMP GET on a connected socket: True if the kernel reports port unreachable."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
    community = target.community.reveal().encode() if target.version != "3" else b""
    packet = ber.encode_request(
        ber.VERSION_2C,
        community,
        ber.GET,
        random.randrange(1, 1 << 30),
        [((1, 3, 6, 1, 2, 1, 1, 3, 0), None)],
    )
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (target.host, target.port))
            await loop.sock_sendall(sock, packet)
            await asyncio.wait_for(loop.sock_recv(sock, 65535), wait_s)
        except ConnectionRefusedError:
            return True
        except (TimeoutError, OSError):
            return False
    return False


async def _tcp_answers(host: str, port: int, wait_s: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), wait_s)
    except ConnectionRefusedError:
        return True  # a RST comes from a live host
    except (TimeoutError, OSError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def host_alive(host: str, wait_s: float) -> bool:
    """True if any of :data:`LIVENESS_PORTS` accepts or refuses a TCP connection within ``wait_s``."""
    checks = [asyncio.create_task(_tcp_answers(host, port, wait_s)) for port in LIVENESS_PORTS]
    try:
        for done in asyncio.as_completed(checks):
            if await done:
                return True
        return False
    finally:
        for task in checks:
            task.cancel()


async def explain_silence(target: SnmpTarget, *, answered_before: bool) -> SnmpTimeout | SnmpAuthError:
    """The error to report for a target that did not answer within timeout and retries."""
    wait_s = min(1.0, target.timeout_s)
    if await _udp_refused(target, wait_s):
        return SnmpTimeout("SNMP port unreachable (ICMP port unreachable): no SNMP agent running")
    if answered_before or await host_alive(target.host, wait_s):
        evidence = "answered before" if answered_before else "host answers TCP"
        if target.version == "3":
            return SnmpTimeout(f"host is up ({evidence}) but its SNMP agent is silent")
        return SnmpAuthError(f"{WRONG_COMMUNITY}; {evidence}")
    return SnmpTimeout("no answer from the host: unreachable")

"""After an SNMP timeout: was the device unreachable, or did it ignore our credentials?

v1/v2c agents answer a wrong community with silence, exactly like a dead host. What can be told apart:

* **ICMP port unreachable** for the SNMP port (a connected UDP socket sees ``ConnectionRefusedError``):
  the host is up but no agent listens -> unreachable ("SNMP agent not running").
* **Silence from an agent that answered these same credentials before** -> unreachable: credentials
  do not change by themselves, while agents hang, reboot and start up all the time (a device coming
  back from a power cut is silent for a while with its port already open).
* **Silence from a device never reached, while the host is alive** (a quick TCP connect to a common port
  was accepted or refused; a refusal is an answer too) -> for v1/v2c, auth_failed "no SNMP answer with
  these credentials (wrong community?)"; for v3 (whose agents answer even unknown users with a report)
  unreachable "host is up but its SNMP agent is silent".
* **Silence and no sign of life** -> unreachable.
* v3 only: the agent answers an engine-discovery probe but not our request -> auth_failed (net-snmp
  drops requests it cannot decrypt, a wrong privacy password, without a usmStatsDecryptionErrors report).
* v1/v2c only: the probe itself is answered -> the silence was transient (loss, overload): unreachable.

What cannot be told apart: a wrong community from an agent that is hung, overloaded or configured to
ignore our address (all silent while the host is up); a dead host from one that drops every probe at
a firewall. The message says which evidence decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from typing import Literal

from campuswatch.agent.protocols.snmp.transport import ber
from campuswatch.agent.protocols.snmp.transport.types import SnmpAuthError, SnmpTarget, SnmpTimeout

#: TCP ports a school device usually has open (ssh, http, https, telnet, IPP, JetDirect).
LIVENESS_PORTS = (22, 80, 443, 23, 631, 9100)
WRONG_COMMUNITY = "no SNMP answer with these credentials (wrong community?)"
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


ProbeOutcome = Literal["refused", "answered", "silent"]


def _probe_packet(target: SnmpTarget) -> bytes:
    """For v3 an engine discovery (every live v3 agent answers it); for v1/v2c a GET of sysUpTime with
    the target's own community (an answer now means the earlier silence was transient)."""
    request_id = random.randrange(1, 1 << 30)
    if target.version == "3":
        return ber.encode_v3_discovery(request_id)
    version = ber.VERSION_1 if target.version == "1" else ber.VERSION_2C
    community = target.community.reveal().encode()
    return ber.encode_request(version, community, ber.GET, request_id, [(SYS_UPTIME, None)])


async def probe_udp(target: SnmpTarget, wait_s: float) -> ProbeOutcome:
    """Send one probe on a connected socket: did the kernel report port unreachable, did the agent
    answer, or nothing at all?"""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (target.host, target.port))
            await loop.sock_sendall(sock, _probe_packet(target))
            await asyncio.wait_for(loop.sock_recv(sock, 65535), wait_s)
        except ConnectionRefusedError:
            return "refused"
        except (TimeoutError, OSError):
            return "silent"
    return "answered"


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
    probe = await probe_udp(target, wait_s)
    if probe == "refused":
        return SnmpTimeout("SNMP port unreachable (ICMP port unreachable): no SNMP agent running")
    if probe == "answered":
        if target.version == "3":
            # Wrong privacy keys make net-snmp drop the request as unparseable, without a report.
            return SnmpAuthError(
                "agent answers SNMPv3 discovery but not our requests (wrong privacy password?)"
            )
        return SnmpTimeout("agent answered only intermittently")
    if answered_before:
        return SnmpTimeout(
            "answered these credentials before, silent now: agent hung, restarting or host down"
        )
    if await host_alive(target.host, wait_s):
        if target.version == "3":
            return SnmpTimeout("host is up (answers TCP) but its SNMP agent is silent")
        return SnmpAuthError(f"{WRONG_COMMUNITY}; host answers TCP")
    return SnmpTimeout("no answer from the host: unreachable")

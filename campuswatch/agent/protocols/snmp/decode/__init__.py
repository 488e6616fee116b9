"""Pure SNMP decoders: varbinds in, report models out; no I/O.

The device knowledge they apply (enterprise numbers, enumerations, vendor quirks, what to fetch) is data
in ``mibs/``. Typical use by a poller (``client`` a
:class:`~campuswatch.agent.protocols.snmp.transport.SnmpTransport`; ``snmp/reader.py`` adds cadence and
reboot detection)::

    system = (await client.fetch(target, SYSTEM_PLAN)).varbinds
    kind = classify(system)
    varbinds = system | (await client.fetch(target, plan_for(kind))).varbinds
    reading = decode_device(address, varbinds, kind)
"""

from campuswatch.agent.protocols.snmp.decode.classification import SYSTEM_PLAN, Classification, classify
from campuswatch.agent.protocols.snmp.decode.device import decode_device
from campuswatch.agent.protocols.snmp.decode.plan import plan_for

__all__ = ["SYSTEM_PLAN", "Classification", "classify", "decode_device", "plan_for"]

"""Pure SNMP decoders: varbinds in, report models out; no I/O.

The device knowledge they apply (enterprise numbers, enumerations, vendor quirks, what to fetch) is data
in ``mibs/``. Typical use by a poller (``client`` an :class:`agent.snmp.SnmpClient`; agent/reader.py adds
cadence and reboot detection)::

    system = (await client.fetch(target, SYSTEM_PLAN)).varbinds
    kind = classify(system)
    varbinds = system | (await client.fetch(target, plan_for(kind))).varbinds
    reading = decode_device(address, varbinds, kind)
"""

from agent.decode.classification import SYSTEM_PLAN, Classification, classify
from agent.decode.device import decode_device
from agent.decode.plan import plan_for

__all__ = ["SYSTEM_PLAN", "Classification", "classify", "decode_device", "plan_for"]

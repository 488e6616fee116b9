"""Pure SNMP decoders: varbinds in, report models out; no I/O.

The device knowledge they apply (enterprise numbers, enumerations, vendor quirks, what to fetch) is data
in ``mibs/``. Typical use by a poller::

    system = await transport.fetch(target, SYSTEM_PLAN)
    kind = classify(system)
    varbinds = system | await transport.fetch(target, plan_for(kind))
    reading = decode_device(address, varbinds, kind)
"""

from agent.decode.classification import SYSTEM_PLAN, Classification, classify
from agent.decode.device import decode_device
from agent.decode.plan import plan_for

__all__ = ["SYSTEM_PLAN", "Classification", "classify", "decode_device", "plan_for"]

"""Interactive displays over their LAN control protocols: BenQ "RS232 over LAN", ViewSonic, Samsung MDC.

The frames live in ``_frame`` (BenQ, ViewSonic) and ``_mdc`` (Samsung), the meaning in ``_reading``, the
network in ``_client``.
"""

from campuswatch.agent.protocols.display._client import DisplayReader, read_display
from campuswatch.agent.protocols.display._frame import Frame, decode, encode, encode_get
from campuswatch.agent.protocols.display._reading import display_problems, display_reading, hardware_problems
from campuswatch.agent.protocols.display._types import DEFAULT_PORTS, Protocol, Signal

__all__ = [
    "DEFAULT_PORTS",
    "DisplayReader",
    "Frame",
    "Protocol",
    "Signal",
    "decode",
    "display_problems",
    "display_reading",
    "encode",
    "encode_get",
    "hardware_problems",
    "read_display",
]

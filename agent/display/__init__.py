"""Interactive displays over their LAN control protocols (BenQ "RS232 over LAN", ViewSonic).

The frame lives in ``_frame``, the meaning in ``_reading``, the network in ``_client``.
"""

from agent.display._client import read_display, read_url
from agent.display._frame import DEFAULT_PORTS, Frame, Protocol, decode, encode, encode_get
from agent.display._reading import display_problems, display_reading

__all__ = [
    "DEFAULT_PORTS",
    "Frame",
    "Protocol",
    "decode",
    "display_problems",
    "display_reading",
    "encode",
    "encode_get",
    "read_display",
    "read_url",
]

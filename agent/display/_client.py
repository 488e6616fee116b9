"""The display LAN control client (BenQ port 4660, ViewSonic port 5000): one connection, a few Get frames.

Only this module touches the network for displays; frames are built and read by ``_frame``.
"""

from __future__ import annotations

import logging

from agent._tcp import device_connection, read_until, split_url
from agent.display._frame import (
    BENQ_SIGNAL,
    DEFAULT_PORTS,
    MAX_FRAME,
    POWER,
    VIEWSONIC_INPUT,
    Protocol,
    Signal,
    decode,
    decode_benq_signal,
    decode_power,
    decode_viewsonic_input,
    encode_get,
)
from agent.display._reading import display_reading
from agent.errors import DeviceReplyError
from campuswatch.config import Secret
from campuswatch.report import DeviceReading

log = logging.getLogger(__name__)


async def read_display(
    host: str,
    port: int | None = None,
    protocol: Protocol = "benq",
    timeout_s: float = 5.0,
    *,
    set_id: str = "01",
) -> DeviceReading:
    """Read an interactive display's power and signal; ``port`` defaults to the protocol's.

    A display that refuses a query (``-``) has that field noted in ``partial``. Raises
    :class:`~agent.errors.DeviceUnreachable` (refused, silent) or :class:`~agent.errors.DeviceReplyError`.
    """
    port = port or DEFAULT_PORTS[protocol]
    where = f"{host}:{port}"
    partial: dict[str, str] = {}
    signal: Signal | None = None
    input_name: str | None = None
    async with device_connection(host, port, timeout_s) as (reader, writer):

        async def get(command: int, field: str) -> bytes | None:
            writer.write(encode_get(command, set_id))
            await writer.drain()
            frame = decode(
                await read_until(
                    reader,
                    b"\r",
                    max_bytes=MAX_FRAME,
                    timeout_s=timeout_s,
                    what=f"{where} reply to {command:#04x}",
                )
            )
            if frame.type == "-":
                partial[field] = f"display refused the query {command:#04x}"
                return None
            if frame.type != "r" or frame.command != command or frame.set_id != set_id:
                raise DeviceReplyError(f"{where}: asked {command:#04x} of set {set_id}, got {frame}")
            return frame.value

        power_value = await get(POWER, "display.power")
        power = decode_power(power_value) if power_value is not None else None
        # Off, the panel shows nothing by design: its signal is not worth asking (and many do not answer).
        if power == "on":
            if protocol == "benq":
                value = await get(BENQ_SIGNAL, "display.signal")
                signal = decode_benq_signal(value) if value is not None else None
            else:
                value = await get(VIEWSONIC_INPUT, "display.signal")
                if value is not None:
                    signal, input_name = decode_viewsonic_input(value)
    log.debug("display read", extra={"device": where, "power": power, "signal": signal})
    address = host if port == DEFAULT_PORTS[protocol] else where
    return display_reading(address, power=power, signal=signal, input_name=input_name, partial=partial)


async def read_url(url: str, password: Secret | None = None, timeout_s: float = 5.0) -> DeviceReading:
    """:func:`read_display` for ``benq://HOST[:PORT]`` or ``viewsonic://HOST[:PORT]``.

    ``password`` is accepted for a uniform probe signature and unused: these protocols have none.
    """
    protocol, host, port = split_url(url, DEFAULT_PORTS)
    return await read_display(host, port, protocol, timeout_s)

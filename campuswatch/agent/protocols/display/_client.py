"""The display LAN control client: one connection, a few queries, for BenQ, ViewSonic and Samsung MDC.

Only this module touches the network for displays; frames are built and read by ``_frame`` (BenQ and
ViewSonic) and ``_mdc`` (Samsung), their meaning by ``_reading``.
"""

from __future__ import annotations

import asyncio
import logging

from campuswatch.agent.errors import DeviceReplyError
from campuswatch.agent.protocols._tcp import device_connection, read_message, read_until
from campuswatch.agent.protocols.display import _frame, _mdc
from campuswatch.agent.protocols.display._reading import display_reading
from campuswatch.agent.protocols.display._types import DEFAULT_IDS, DEFAULT_PORTS, Protocol, Signal
from campuswatch.agent.protocols.reader import ReadTarget, split_url
from campuswatch.report import DeviceReading, SystemInfo

log = logging.getLogger(__name__)


class _Link:
    """One open control connection to a display, asking one thing at a time."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        where: str,
        display_id: int,
        timeout_s: float,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.where, self.display_id, self.timeout_s = where, display_id, timeout_s
        #: Fields the display refused to tell, with why (the reading's ``partial``).
        self.refused: dict[str, str] = {}

    async def ask_frame(self, command: int, field: str) -> bytes | None:
        """BenQ/ViewSonic Get: the value, or None (noted) if the display answers '-'."""
        set_id = f"{self.display_id:02d}"
        self.writer.write(_frame.encode_get(command, set_id))
        await self.writer.drain()
        what = f"{self.where} reply to {command:#04x}"
        raw = await read_until(
            self.reader, b"\r", max_bytes=_frame.MAX_FRAME, timeout_s=self.timeout_s, what=what
        )
        frame = _frame.decode(raw)
        if frame.type == "-":
            self.refused[field] = f"display refused the query {command:#04x}"
            return None
        if frame.type != "r" or frame.command != command or frame.set_id != set_id:
            raise DeviceReplyError(f"{self.where}: asked {command:#04x} of set {set_id}, got {frame}")
        return frame.value

    async def ask_mdc(self, command: int, field: str) -> bytes | None:
        """Samsung MDC Get: the values, or None (noted) if the display answers NAK."""
        self.writer.write(_mdc.encode_request(command, self.display_id))
        await self.writer.drain()
        what = f"{self.where} reply to MDC {command:#04x}"
        raw = await read_message(
            self.reader, _mdc.frame_complete, max_bytes=_mdc.MAX_FRAME, timeout_s=self.timeout_s, what=what
        )
        reply = _mdc.decode_response(raw)
        if reply.command != command or reply.display_id != self.display_id:
            raise DeviceReplyError(
                f"{self.where}: asked MDC {command:#04x} of display {self.display_id}, got {reply}"
            )
        if not reply.ack:
            self.refused[field] = f"display refused MDC {command:#04x} (error {reply.values.hex() or '?'})"
            return None
        return reply.values


async def _read_benq_viewsonic(link: _Link, protocol: Protocol, address: str) -> DeviceReading:
    value = await link.ask_frame(_frame.POWER, "display.power")
    power = _frame.decode_power(value) if value is not None else None
    signal: Signal | None = None
    input_name: str | None = None
    # Off, the panel shows nothing by design: its signal is not worth asking (and many do not answer).
    if power == "on":
        if protocol == "benq":
            value = await link.ask_frame(_frame.BENQ_SIGNAL, "display.signal")
            signal = _frame.decode_benq_signal(value) if value is not None else None
        else:
            value = await link.ask_frame(_frame.VIEWSONIC_INPUT, "display.signal")
            if value is not None:
                signal, input_name = _frame.decode_viewsonic_input(value)
    return display_reading(address, power=power, signal=signal, input_name=input_name, partial=link.refused)


async def _read_samsung(link: _Link, address: str) -> DeviceReading:
    value = await link.ask_mdc(_mdc.POWER, "display.power")
    power = _mdc.decode_power(value) if value is not None else None
    texts: list[str | None] = []
    for command, field in (
        (_mdc.MODEL_NAME, "system.model"),
        (_mdc.SERIAL_NUMBER, "system.serial"),
        (_mdc.SOFTWARE_VERSION, "system.firmware"),
    ):
        value = await link.ask_mdc(command, field)
        texts.append(_mdc.decode_text(value) if value is not None else None)
    model, serial, firmware = texts
    errors = None
    if power == "on":
        value = await link.ask_mdc(_mdc.ERROR_STATUS, "display.signal")
        errors = _mdc.decode_error_status(value) if value is not None else None
    return display_reading(
        address,
        power=power,
        signal=errors.signal if errors else None,
        system=SystemInfo(vendor="Samsung", model=model, serial=serial, firmware=firmware),
        errors=errors,
        partial=link.refused,
    )


async def read_display(
    host: str,
    port: int | None = None,
    protocol: Protocol = "benq",
    timeout_s: float = 5.0,
    *,
    display_id: int | None = None,
) -> DeviceReading:
    """Read an interactive display's power and signal (Samsung: also identity and hardware errors).

    ``port`` and ``display_id`` default to the protocol's. A display that refuses a query has that field
    noted in ``partial``. Raises :class:`~campuswatch.agent.errors.DeviceUnreachable` (refused, silent) or
    :class:`~campuswatch.agent.errors.DeviceReplyError` (garbage, or Samsung's TLS-only MDC).
    """
    port = port or DEFAULT_PORTS[protocol]
    where = f"{host}:{port}"
    address = host if port == DEFAULT_PORTS[protocol] else where
    ident = DEFAULT_IDS[protocol] if display_id is None else display_id
    async with device_connection(host, port, timeout_s) as (reader, writer):
        link = _Link(reader, writer, where, ident, timeout_s)
        if protocol == "samsung":
            reading = await _read_samsung(link, address)
        else:
            reading = await _read_benq_viewsonic(link, protocol, address)
    log.debug(
        "display read", extra={"device": where, "protocol": protocol, "problems": len(reading.problems)}
    )
    return reading


class DisplayReader:
    """Displays at ``benq://``, ``viewsonic://`` or ``samsung://HOST[:PORT]``, the scheme naming the
    protocol: the display reader of :mod:`campuswatch.agent.readers` (MDC's TLS PIN is not supported,
    so a target's password goes unused)."""

    async def read(self, target: ReadTarget) -> DeviceReading:
        """:func:`read_display` for the target's URL and timeout."""
        protocol, host, port = split_url(target.url, DEFAULT_PORTS)
        return await read_display(host, port, protocol, target.timeout_s)

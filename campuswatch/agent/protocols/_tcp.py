"""TCP plumbing shared by the line-oriented LAN control clients (PJLink, display protocols).

It only moves bytes and turns socket failures into the agent's device errors: silence and refusal become
:class:`DeviceUnreachable`, a partial or overlong message becomes :class:`DeviceReplyError`. Parsing
what arrives is the protocols' own business.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable

from campuswatch.agent.errors import DeviceReplyError, DeviceUnreachable

#: Per event loop, one lock per (host, port): many projectors and displays serve one control connection at
#: a time and drop or ignore a second one, so the agent never opens two to the same device.
_device_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def device_connection(
    host: str, port: int, timeout_s: float
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """Connect to host:port (waiting for our own earlier connection to it to end first) and close after use."""
    locks = _device_locks.setdefault(asyncio.get_running_loop(), {})
    async with locks.setdefault((host, port), asyncio.Lock()):
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            raise DeviceUnreachable(f"{host}:{port}: no connection within {timeout_s:g} s") from None
        except OSError as err:
            raise DeviceUnreachable(f"{host}:{port}: {err.strerror or err}") from err
        try:
            yield reader, writer
        except OSError as err:  # reset while we were writing: the device hung up on us
            raise DeviceUnreachable(f"{host}:{port}: {err.strerror or err}") from err
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def read_message(
    reader: asyncio.StreamReader,
    complete: Callable[[bytes], bool],
    *,
    max_bytes: int,
    timeout_s: float,
    what: str,
) -> bytes:
    """Read one message, byte by byte until ``complete(received)`` holds, within ``timeout_s``.

    Byte by byte, so that on a timeout we know whether the device said nothing (unreachable: it is off,
    busy or not listening) or sent something that never ended (a reply error: it is not speaking our
    protocol). ``what`` names the awaited message in errors ("greeting", "reply to POWR").
    """
    buf = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            while not buf or not complete(bytes(buf)):
                if len(buf) >= max_bytes:
                    raise DeviceReplyError(
                        f"{what}: no end of message within {max_bytes} bytes: {bytes(buf[:40])!r}"
                    )
                byte = await reader.read(1)
                if not byte:
                    if buf:
                        raise DeviceReplyError(f"{what}: connection closed mid-message: {bytes(buf[:40])!r}")
                    raise DeviceUnreachable(f"{what}: connection closed without a word")
                buf += byte
    except TimeoutError:
        if buf:
            raise DeviceReplyError(
                f"{what}: incomplete message after {timeout_s:g} s: {bytes(buf[:40])!r}"
            ) from None
        raise DeviceUnreachable(f"{what}: no answer within {timeout_s:g} s") from None
    except OSError as err:
        raise DeviceUnreachable(f"{what}: {err.strerror or err}") from err
    return bytes(buf)


async def read_until(
    reader: asyncio.StreamReader, terminator: bytes, *, max_bytes: int, timeout_s: float, what: str
) -> bytes:
    """:func:`read_message` for messages that end in ``terminator`` (returned with it)."""
    return await read_message(
        reader, lambda buf: buf.endswith(terminator), max_bytes=max_bytes, timeout_s=timeout_s, what=what
    )

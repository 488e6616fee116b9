"""A raw DHCP client for the tests: leases addresses from a real DHCP server for made-up clients, one per
MAC, so that a test fills a server's pool without an interface per client.

Run inside the clients' network namespace (it binds UDP port 68 on one interface; root):

    ip netns exec NS python -m tests.support.dhcp_client IFACE COUNT [--first-mac 02:00:00:00:01:00]

It prints one JSON line per client: ``{"mac": ..., "address": ...}`` (address null: no offer came, the
pool is full). DISCOVER and REQUEST are broadcast with the broadcast flag set, so the server's answers
come back broadcast to a client that has no address yet (RFC 2131 4.1).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import struct
import time

_MAGIC = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK = 1, 2, 3, 4, 5, 6


def _options(data: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        code = data[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        size = data[i + 1]
        found[code] = data[i + 2 : i + 2 + size]
        i += 2 + size
    return found


def packet(kind: int, xid: int, mac: bytes, extra: dict[int, bytes]) -> bytes:
    """A BOOTREQUEST of DHCP message type ``kind`` for the client ``mac``."""
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4, b"\0" * 4,
                         b"\0" * 4, b"\0" * 4, mac + b"\0" * 10, b"", b"")  # fmt: skip
    options = {53: bytes([kind]), 61: b"\x01" + mac, **extra}
    body = b"".join(bytes([code, len(value)]) + value for code, value in options.items())
    return header + _MAGIC + body + b"\xff"


def answer(data: bytes, xid: int) -> tuple[int, str, dict[int, bytes]] | None:
    """(message type, your address, options) of a BOOTREPLY to ``xid``; None for anything else."""
    if len(data) < 240 or data[0] != 2 or data[236:240] != _MAGIC:
        return None
    (reply_xid,) = struct.unpack_from("!I", data, 4)
    if reply_xid != xid:
        return None
    options = _options(data[240:])
    kind = options.get(53, b"\0")[0]
    return kind, socket.inet_ntoa(data[16:20]), options


def _await(
    sock: socket.socket, xid: int, wanted: set[int], timeout_s: float
) -> tuple[int, str, dict[int, bytes]] | None:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(4096)
        except TimeoutError:
            return None
        found = answer(data, xid)
        if found is not None and found[0] in wanted:
            return found
    return None


def lease(sock: socket.socket, mac: bytes, timeout_s: float = 3.0) -> str | None:
    """DISCOVER, OFFER, REQUEST, ACK for ``mac``: the address leased, or None (no offer: pool full)."""
    xid = random.getrandbits(32)
    sock.sendto(packet(DISCOVER, xid, mac, {55: bytes([1, 3, 6])}), ("255.255.255.255", 67))
    offer = _await(sock, xid, {OFFER}, timeout_s)
    if offer is None:
        return None
    _, address, options = offer
    extra = {50: socket.inet_aton(address), **({54: options[54]} if 54 in options else {})}
    sock.sendto(packet(REQUEST, xid, mac, extra), ("255.255.255.255", 67))
    ack = _await(sock, xid, {ACK, NAK}, timeout_s)
    return address if ack is not None and ack[0] == ACK else None


def release(sock: socket.socket, mac: bytes, address: str, server: str) -> None:
    """DHCPRELEASE of ``address`` leased to ``mac`` (RFC 2131 4.4.6: unicast to the server, no answer)."""
    extra = {54: socket.inet_aton(server)}
    data = bytearray(packet(7, random.getrandbits(32), mac, extra))
    data[12:16] = socket.inet_aton(address)  # ciaddr: the address given back
    sock.sendto(bytes(data), (server, 67))


def main() -> None:
    """Lease COUNT addresses on IFACE, one per made-up MAC, and print each outcome as a JSON line (or,
    with --release SERVER, give the addresses of those MACs back)."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.dhcp_client", description=__doc__)
    parser.add_argument("interface")
    parser.add_argument("count", type=int)
    parser.add_argument("--first-mac", default="02:00:00:00:01:00")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--release", metavar="SERVER", help="release ADDRESS,... of the MACs instead")
    parser.add_argument("--addresses", default="", help="with --release: the addresses, in MAC order")
    args = parser.parse_args()
    first = int(args.first_mac.replace(":", ""), 16)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.interface.encode())
    sock.bind(("0.0.0.0", 68))
    if args.release:
        for n, address in enumerate(args.addresses.split(",")[: args.count]):
            release(sock, (first + n).to_bytes(6, "big"), address, args.release)
        return
    for n in range(args.count):
        mac = (first + n).to_bytes(6, "big")
        address = lease(sock, mac, args.timeout)
        print(json.dumps({"mac": mac.hex(":"), "address": address}), flush=True)


if __name__ == "__main__":
    main()

"""What the gateway's checks of the school's network cost the agent (it runs beside the pupils' traffic
on a small gateway), at a school's scale and beyond.

    .venv/bin/python -m bench.network_checks            # as root (ICMP echo needs a raw socket, or
                                                        # net.ipv4.ping_group_range admitting the user)

Three parts, each in this process, CPU counted with ``time.process_time()``:

* **DHCP lease files**: Kea's memfile CSV and dnsmasq's lease file with N leases, parsed as each
  ``dhcp`` round does (Kea appends a row per renewal until its LFC compacts the file, every hour by
  default: 1,000 iPads renewing every half hour leave about 3,000 rows; 100,000 is a file that was
  never compacted);
* **a path round** on loopback: the upstream gateway and two targets (10 echoes each, 0.2 s apart),
  5 names through a resolver (an in-process responder), 3 HTTPS services (an in-process TLS server with
  a throw-away certificate), all at once as ``checks/path.py`` runs them;
* **mDNS answers**: the answers of N AirPlay receivers decoded and matched to the configured ones.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import ipaddress
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from campuswatch.agent.checks import airplay, dns, https, icmp
from campuswatch.agent.checks.dhcp import dnsmasq, kea
from campuswatch.agent.checks.dnswire import TYPE_A, TYPE_PTR, TYPE_SRV, decode, encode_query

T = TypeVar("T")
NOW = 1_780_000_000.0


def kea_csv(rows: int) -> str:
    lines = [
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context"
    ]
    for n in range(rows):
        ip = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.20.0.10")) + n % 4000)
        lines.append(
            f"{ip},02:00:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x},,3600,{NOW + 1800:.0f},1,0,0,ipad-{n},0,"
        )
    return "\n".join(lines) + "\n"


def dnsmasq_leases(rows: int) -> str:
    return "".join(
        f"{NOW + 1800:.0f} 02:00:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x} "
        f"{ipaddress.IPv4Address(int(ipaddress.IPv4Address('10.20.0.10')) + n)} ipad-{n} *\n"
        for n in range(rows)
    )


def timed(fn: Callable[[], T], repeat: int = 5) -> tuple[T, float, float]:
    """(result, median wall s, median CPU s) of ``fn`` over ``repeat`` runs."""
    walls, cpus = [], []
    result = fn()
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return result, statistics.median(walls), statistics.median(cpus)


def bench_leases(sizes: list[int]) -> None:
    print("DHCP lease files (a dhcp round parses the whole file)")
    print(f"{'rows':>8} {'server':>8} {'size kB':>8} {'CPU ms':>8} {'of a 60 s round':>16}")
    parsers: tuple[tuple[str, Callable[[int], str], Callable[[str, float], object]], ...] = (
        ("kea", kea_csv, kea.parse_leases),
        ("dnsmasq", dnsmasq_leases, dnsmasq.parse_leases),
    )
    for rows in sizes:
        for server, make, parse in parsers:
            text = make(rows)
            _, _, cpu = timed(functools.partial(parse, text, NOW))
            print(
                f"{rows:>8} {server:>8} {len(text) / 1024:>8.0f} {cpu * 1000:>8.1f} {cpu / 60 * 100:>15.3f}%"
            )


class _Resolver(asyncio.DatagramProtocol):
    """Answers every A query with one address, as a resolver would."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query_id, _flags = struct.unpack_from("!HH", data)
        question = data[12:]
        answer = struct.pack("!HHHHHH", query_id, 0x8180, 1, 1, 0, 0) + question
        answer += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 20, 9, 9])
        self.transport.sendto(answer, addr)


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (folder / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder / "c.pem", folder / "k.pem"


async def bench_path(rounds: int) -> None:
    import ssl

    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Resolver, local_addr=("127.0.0.1", 0))
    dns_port = transport.get_extra_info("sockname")[1]
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = _certificate(Path(tmp))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        app = web.Application()

        async def ok(_request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app.router.add_get("/", ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        port = runner.addresses[0][1]

        async def one_round() -> None:
            probes = [
                icmp.probe(t, "127.0.0.1", "target", count=10, interval_s=0.2, timeout_s=1) for t in "abc"
            ]
            names = [dns.lookup("127.0.0.1", f"n{i}.schule.de", timeout_s=1, port=dns_port) for i in range(5)]
            services = [
                https.check(f"s{i}", f"https://127.0.0.1:{port}/", timeout_s=2, ca_file=cert)
                for i in range(3)
            ]
            done = await asyncio.gather(*probes, *names, *services)
            assert all(getattr(d, "error", None) is None for d in done), done

        walls, cpus = [], []
        await one_round()
        for _ in range(rounds):
            w, c = time.perf_counter(), time.process_time()
            await one_round()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        await runner.cleanup()
    transport.close()
    print("\nA path round on loopback (3 x 10 echoes, 5 names, 3 HTTPS services, all at once)")
    print(f"  wall {statistics.median(walls):.2f} s (the echoes' 0.2 s spacing), CPU {statistics.median(cpus) * 1000:.1f} ms "
          f"= {statistics.median(cpus) / 60 * 100:.3f} % of a 60 s interval")  # fmt: skip


def _mdns_answer(index: int) -> bytes:
    name = f"Apple TV Raum {100 + index}._airplay._tcp.local"
    host = f"appletv-{index}.local"

    def label(text: str) -> bytes:
        return b"".join(bytes([len(p)]) + p.encode() for p in text.split(".")) + b"\0"

    records = [
        (label("_airplay._tcp.local"), TYPE_PTR, label(name)),
        (label(name), TYPE_SRV, struct.pack("!HHH", 0, 0, 7000) + label(host)),
        (label(host), TYPE_A, bytes([10, 20, 1, index % 250])),
    ]
    body = b"".join(
        owner + struct.pack("!HHIH", rtype, 1, 120, len(data)) + data for owner, rtype, data in records
    )
    return struct.pack("!HHHHHH", 7, 0x8400, 0, len(records), 0, 0) + body


def _match(answers: list[bytes]) -> int:
    found = airplay.announced(a for a in (dns.parse_answer(x, 7) for x in answers) if a is not None)
    return len(found)


def bench_mdns(counts: list[int]) -> None:
    print("\nmDNS answers of N receivers, decoded and matched")
    for count in counts:
        answers = [_mdns_answer(i) for i in range(count)]
        assert decode(answers[0]).records

        matched, _, cpu = timed(functools.partial(_match, answers))
        assert matched == count
        print(f"  {count:>5} receivers: {cpu * 1000:.2f} ms CPU")
    assert encode_query("x.local", TYPE_A, 1)


def main() -> None:
    """Run the three parts."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.network_checks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_leases([1_000, 3_000, 10_000, 100_000])
    asyncio.run(bench_path(args.rounds))
    bench_mdns([10, 100, 1000])


if __name__ == "__main__":
    main()

"""The real servers of the test school (:mod:`tests.support.netns`): a resolver (dnsmasq), a DHCP server
(dnsmasq or ISC Kea) on the gateway, AirPlay receivers (avahi-daemon and a listener on the AirPlay port)
on the LAN, an HTTPS service beyond the router; and clients that fill the DHCP pool (a raw DHCP client,
:mod:`tests.support.dhcp_client`). Each waits until its server answers before it returns."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sim.process import wait_for
from tests.support.host import require_tools
from tests.support.netns import GW_LAN, LAN_HOST, ROUTER, SchoolNet, joined
from tests.support.paths import REPO

#: The names the resolver knows, and where they point (the router's "internet" address).
SCHOOL_NAMES = {"mdm.schule.test": "10.20.9.9", "lernen.schule.test": "10.20.9.9"}


def _log_says(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


def resolver(net: SchoolNet, workdir: Path) -> subprocess.Popen[bytes]:
    """dnsmasq as the school's resolver on the router (10.20.1.1:53), knowing :data:`SCHOOL_NAMES` and
    nothing else (no upstream: other names are not found)."""
    require_tools("dnsmasq")
    log = workdir / "resolver.log"
    records = [f"--address=/{name}/{address}" for name, address in SCHOOL_NAMES.items()]
    proc = net.start(
        net.up,
        ["dnsmasq", "--keep-in-foreground", "--log-facility=-", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
         f"--listen-address={ROUTER}", "--bind-interfaces", "--port=53", "--pid-file=", *records],
        log,
    )  # fmt: skip
    wait_for(lambda: _log_says(log, "started, version"), 20, "the resolver (dnsmasq) to start")
    return proc


@contextmanager
def resolv_conf(net: SchoolNet) -> Iterator[None]:
    """The gateway's /etc/resolv.conf names the school's resolver (``ip netns exec`` mounts
    /etc/netns/<ns>/resolv.conf over it), as a school's gateway would have it."""
    folder = Path("/etc/netns") / net.gw
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resolv.conf").write_text(f"nameserver {ROUTER}\n")
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class DhcpServer:
    """A DHCP server of the gateway and the files the agent reads it by."""

    proc: subprocess.Popen[bytes]
    config: Path
    leases: Path
    socket: Path | None = None


def dnsmasq_dhcp(net: SchoolNet, workdir: Path, first: str, last: str) -> DhcpServer:
    """dnsmasq handing out ``first``-``last`` on the gateway's LAN side (no DNS: port 0)."""
    require_tools("dnsmasq")
    config = workdir / "dnsmasq.conf"
    leases = workdir / "dnsmasq.leases"
    # no-ping: dnsmasq would ping each address for up to 3 s before offering it; the test's clients
    # are made up and answer no ping anyway, so that wait proves nothing here.
    config.write_text(
        f"port=0\ninterface=lan0\nbind-interfaces\ndhcp-range={first},{last},255.255.255.0,1h\n"
        f"dhcp-leasefile={leases}\nno-ping\n"
    )
    leases.touch()
    log = workdir / "dhcp.log"
    proc = net.start(
        net.gw,
        ["dnsmasq", "--keep-in-foreground", "--log-facility=-", "--log-dhcp", f"--conf-file={config}", "--pid-file="],
        log,
    )  # fmt: skip
    wait_for(lambda: _log_says(log, "DHCP, IP range"), 20, "the DHCP server (dnsmasq) to start")
    return DhcpServer(proc, config, leases)


def kea_dhcp(net: SchoolNet, workdir: Path, first: str, last: str) -> DhcpServer:
    """ISC Kea's DHCPv4 server handing out ``first``-``last`` on the gateway's LAN side, with its control
    socket and a memfile lease file."""
    require_tools("kea-dhcp4")
    config = workdir / "kea-dhcp4.conf"
    control = workdir / "kea4.sock"
    leases = workdir / "kea-leases4.csv"
    config.write_text(
        "// a school's DHCP server, as the agent finds it\n"
        + json.dumps(
            {
                "Dhcp4": {
                    "interfaces-config": {"interfaces": ["lan0"], "dhcp-socket-type": "raw"},
                    "control-socket": {"socket-type": "unix", "socket-name": str(control)},
                    "lease-database": {"type": "memfile", "name": str(leases), "lfc-interval": 0},
                    "valid-lifetime": 3600,
                    "subnet4": [
                        {"id": 1, "subnet": "10.20.2.0/24", "pools": [{"pool": f"{first} - {last}"}]}
                    ],
                    "loggers": [
                        {"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "INFO"}
                    ],
                }
            },
            indent=2,
        )
    )
    log = workdir / "dhcp.log"
    run = workdir / "kea-run"
    run.mkdir(exist_ok=True)
    env = {"KEA_PIDFILE_DIR": str(run), "KEA_LOCKFILE_DIR": str(run), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    proc = net.start(net.gw, ["kea-dhcp4", "-c", str(config)], log, env=env)
    wait_for(
        lambda: _log_says(log, "DHCP4_STARTED") and control.exists(), 20, "the DHCP server (Kea) to start"
    )
    return DhcpServer(proc, config, leases, control)


def fill_pool(net: SchoolNet, count: int, first_mac: str) -> list[str | None]:
    """Lease ``count`` addresses from the gateway's DHCP server for made-up iPads on the LAN: each one's
    address, None where no offer came (the pool is full)."""
    done = net.run(
        net.lan, sys.executable, "-m", "tests.support.dhcp_client", "lan1", str(count), "--first-mac", first_mac,
        timeout_s=30 + 10 * count,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["address"] for line in done.stdout.splitlines()]


def release_pool(net: SchoolNet, first_mac: str, addresses: list[str]) -> None:
    """Give the addresses leased to the made-up iPads from ``first_mac`` on back to the gateway's server."""
    done = net.run(
        net.lan, sys.executable, "-m", "tests.support.dhcp_client", "lan1", str(len(addresses)),
        "--first-mac", first_mac, "--release", GW_LAN, "--addresses", ",".join(addresses),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


AVAHI_CONF = """\
[server]
host-name={host}
use-ipv4=yes
use-ipv6=no
enable-dbus=no
[publish]
publish-hinfo=no
publish-workstation=no
"""

AIRPLAY_SERVICE = """\
<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>{name}</name>
  <service><type>_airplay._tcp</type><port>7000</port><txt-record>model=AppleTV11,1</txt-record></service>
  <service><type>_raop._tcp</type><port>7000</port></service>
</service-group>
"""


@dataclass
class Receiver:
    """An AirPlay receiver on the LAN: its announcer (avahi) and its AirPlay port (a listener)."""

    announcer: subprocess.Popen[bytes]
    port: subprocess.Popen[bytes]


def accepts(ns: str, host: str, port: int) -> bool:
    """Whether ``host:port`` takes a TCP connection, asked from inside the namespace ``ns``."""

    def connect() -> bool:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return False
        return True

    with joined(ns) as executor:
        return executor.submit(connect).result()


def airplay_port(net: SchoolNet, workdir: Path) -> subprocess.Popen[bytes]:
    """A listener on the LAN host's AirPlay port (7000) that accepts and closes each connection."""
    script = "\n".join(
        [
            "import socket",
            f"s = socket.create_server(({LAN_HOST!r}, 7000))",
            "while True:",
            "    s.accept()[0].close()",
        ]
    )
    proc = net.start(net.lan, [sys.executable, "-c", script], workdir / "airplay-port.log")
    wait_for(lambda: accepts(net.gw, LAN_HOST, 7000), 20, "the receiver's AirPlay port")
    return proc


def announcer(net: SchoolNet, workdir: Path, name: str) -> subprocess.Popen[bytes]:
    """avahi-daemon on the LAN host announcing the AirPlay receiver ``name`` (with a private /run and
    services folder, so the host's own avahi stays untouched)."""
    require_tools("avahi-daemon", "unshare")
    services = workdir / "avahi-services"
    services.mkdir(exist_ok=True)
    (services / "airplay.service").write_text(AIRPLAY_SERVICE.format(name=name))
    conf = workdir / "avahi.conf"
    conf.write_text(AVAHI_CONF.format(host="appletv-" + "-".join(name.lower().split())))
    workdir.chmod(0o755)
    log = workdir / "avahi.log"
    log.write_text("")
    inner = (
        "mount -t tmpfs tmpfs /run && mkdir -p /run/avahi-daemon && "
        f"mount --bind {services} /etc/avahi/services && "
        f"exec avahi-daemon -f {conf} --no-drop-root --no-chroot --no-rlimits --no-proc-title"
    )
    proc = net.start(net.lan, ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner], log)
    wait_for(lambda: _log_says(log, "successfully established"), 30, f"avahi to announce {name!r}")
    return proc


def https_service(
    net: SchoolNet, workdir: Path, cert: Path, key: Path, address: str = "10.20.9.9"
) -> subprocess.Popen[bytes]:
    """An HTTPS service on the router's side at ``address``:443 with ``cert``."""
    proc = net.start(
        net.up, [sys.executable, "-m", "tests.support.tls_server", address, "443", str(cert), str(key)],
        workdir / f"https-{cert.stem}.log", cwd=REPO,
    )  # fmt: skip
    wait_for(lambda: accepts(net.up, address, 443), 20, "the HTTPS service")
    return proc

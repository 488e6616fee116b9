"""A test school in network namespaces: the city's upstream router, the school's gateway, the pupils' LAN.

::

    up (router, "internet")  <- uplink 10.20.1.0/24 ->  gw (gateway: agent, DHCP)  <- LAN 10.20.2.0/24 ->  lan
       10.20.1.1, 10.20.9.9                              10.20.1.2 / 10.20.2.1                            10.20.2.2

The gateway's default route points at the router, which also owns 10.20.9.9 (a target "on the internet")
and routes back to the LAN. Processes are started inside a namespace with :meth:`SchoolNet.start` and
ended with it; :meth:`SchoolNet.loss` puts ``tc netem`` loss on the gateway's uplink; :func:`joined`
gives an executor whose thread lives in a namespace (a socket made there stays there), so the test
process can serve or ask inside without starting a process. Everything is removed afterwards.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.host import require_root, require_tools

CLONE_NEWNET = 0x40000000
ROUTER, GW_UPLINK, GW_LAN, LAN_HOST, INTERNET = (
    "10.20.1.1",
    "10.20.1.2",
    "10.20.2.1",
    "10.20.2.2",
    "10.20.9.9",
)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _join(ns: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


@contextmanager
def joined(ns: str) -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    """An executor of one thread that has joined the network namespace ``ns``."""
    executor = concurrent.futures.ThreadPoolExecutor(1, initializer=_join, initargs=(ns,))
    try:
        yield executor
    finally:
        executor.shutdown(wait=True)


@contextmanager
def relay(ns: str, address: str, port: int, target: tuple[str, int]) -> Iterator[None]:
    """Forward TCP connections to ``address:port`` inside ``ns`` to ``target`` outside it (the city's
    collector, beyond the router, for an agent on the school's gateway), a thread per direction."""
    with joined(ns) as executor:
        listener = executor.submit(socket.create_server, (address, port)).result()
    listener.settimeout(0.5)
    stopped = threading.Event()

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while not stopped.is_set():
            try:
                inbound, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                outbound = socket.create_connection(target, timeout=10)
            except OSError:
                inbound.close()
                continue
            for a, b in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopped.set()
        thread.join(timeout=5)
        listener.close()


@dataclass
class SchoolNet:
    """The three namespaces of a test school and the processes started in them."""

    up: str
    gw: str
    lan: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self,
        ns: str,
        command: Sequence[str],
        log: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` inside ``ns``, its output to ``log``; it is ended with the school."""
        with log.open("ab") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, *command], stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env
            )
        self.procs.append(proc)
        return proc

    def run(self, ns: str, *command: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``command`` inside ``ns`` to its end."""
        return subprocess.run(
            ["ip", "netns", "exec", ns, *command],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def loss(self, percent: int | None) -> str:
        """``percent`` packet loss on the school's uplink (what the school sends up it), or none again;
        says how: ``tc netem`` on the gateway's end of the veth, or, on a kernel built without netem
        (sch_netem), an nftables rule on the router's end that drops that share of what arrives from the
        school (numgen random), which the gateway sees as the same loss on the link."""
        tc = ["ip", "netns", "exec", self.gw, "tc", "qdisc"]
        nft = ["ip", "netns", "exec", self.up, "nft"]
        subprocess.run([*tc, "del", "dev", "up0", "root"], capture_output=True, check=False)
        subprocess.run([*nft, "delete", "table", "inet", "cwloss"], capture_output=True, check=False)
        if not percent:
            return "none"
        netem = subprocess.run(
            [*tc, "add", "dev", "up0", "root", "netem", "loss", f"{percent}%"], capture_output=True
        )
        if netem.returncode == 0:
            return "tc netem"
        require_tools("nft")
        # nft refuses a comparison always true (numgen random mod 100 < 100): all of it is a plain drop.
        share = "" if percent >= 100 else f"numgen random mod 100 < {percent} "
        rule = (
            "table inet cwloss {\n  chain link {\n    type filter hook prerouting priority 0; policy accept;\n"
            f'    iifname "up1" {share}drop\n  }}\n}}\n'
        )
        subprocess.run([*nft, "-f", "-"], input=rule.encode(), check=True, capture_output=True, timeout=30)
        return "nftables numgen"

    @staticmethod
    def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        """Signal ``proc`` (and wait for it)."""
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def school_net(tag: str) -> Iterator[SchoolNet]:
    """Build the test school (``tag`` and the pid keep its namespaces apart from other runs)."""
    require_root("a network namespace")
    require_tools("ip", "tc")
    pid = os.getpid()
    net = SchoolNet(f"{tag}up{pid}", f"{tag}gw{pid}", f"{tag}lan{pid}")
    try:
        for ns in (net.up, net.gw, net.lan):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", net.gw, "link", "add", "up0", "type", "veth", "peer", "name", "up1", "netns", net.up)
        _ip("-n", net.gw, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1", "netns", net.lan)
        for ns, dev, address in (
            (net.gw, "up0", f"{GW_UPLINK}/24"),
            (net.up, "up1", f"{ROUTER}/24"),
            (net.gw, "lan0", f"{GW_LAN}/24"),
            (net.lan, "lan1", f"{LAN_HOST}/24"),
            (net.up, "lo", f"{INTERNET}/32"),
        ):
            _ip("-n", ns, "addr", "add", address, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        _ip("-n", net.gw, "route", "add", "default", "via", ROUTER)
        _ip("-n", net.up, "route", "add", "10.20.2.0/24", "via", GW_UPLINK)
        _ip("-n", net.lan, "route", "add", "default", "via", GW_LAN)
        subprocess.run(
            ["ip", "netns", "exec", net.gw, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            check=True,
            capture_output=True,
        )
        time.sleep(0.5)  # let the links settle before the first packet
        yield net
    finally:
        for proc in reversed(net.procs):
            SchoolNet.kill(proc)
        for ns in (net.up, net.gw, net.lan):
            listed = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid_text in listed.stdout.split():  # only what the test started inside its own namespaces
                with suppress(ProcessLookupError):
                    os.kill(int(pid_text), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

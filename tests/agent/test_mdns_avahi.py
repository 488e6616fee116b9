"""Browsing a real avahi-daemon: it publishes in one network namespace, campuswatch.agent.discovery.mdns browses from another.

The namespaces and the veth pair between them are made here (names unique to this run) and removed
afterwards; avahi runs with a private /run and /etc/avahi/services, so the host's daemon is untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.host import require_tools, veth_pair
from tests.support.paths import REPO

pytestmark = pytest.mark.integration

SERVICE = """<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>Raum 101 Drucker</name>
  <service>
    <type>_ipp._tcp</type>
    <port>631</port>
    <txt-record>txtvers=1</txt-record>
    <txt-record>rp=ipp/print</txt-record>
    <txt-record>ty=Kyocera ECOSYS P6235cdn</txt-record>
    <txt-record>note=Haus A, Raum 101</txt-record>
    <txt-record>UUID=4509a320-00a0-008f-00b6-002507510eca</txt-record>
  </service>
  <service>
    <type>_pjlink._tcp</type>
    <port>4352</port>
  </service>
</service-group>
"""


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    """Two namespaces joined by a veth pair: (publisher ns, browser ns); 10.231.0.1 and .2."""
    require_tools("ip", "unshare", "avahi-daemon")
    with veth_pair("cwmdns", "10.231.0") as pair:
        yield pair


def test_browse_from_another_namespace_finds_avahi_published_printer_and_projector(
    namespaces: tuple[str, str],
) -> None:
    ns_a, ns_b = namespaces
    with tempfile.TemporaryDirectory(prefix="avahi-test-") as tmp:
        services = Path(tmp) / "services"
        services.mkdir()
        (services / "printer.service").write_text(SERVICE)
        conf = Path(tmp) / "avahi.conf"
        conf.write_text(
            "[server]\nhost-name=km-raum101\nuse-ipv4=yes\nuse-ipv6=no\nenable-dbus=no\n"
            "[publish]\npublish-hinfo=no\npublish-workstation=no\n"
        )
        os.chmod(tmp, 0o755)
        inner = (
            "mount -t tmpfs tmpfs /run && mkdir -p /run/avahi-daemon && "
            f"mount --bind {services} /etc/avahi/services && "
            f"exec avahi-daemon -f {conf} --no-drop-root --no-chroot --no-rlimits --no-proc-title"
        )
        avahi = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns_a,
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                inner,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            # avahi announces once it has probed its names; browsing also queries, so no exact wait needed.
            time.sleep(1)
            assert avahi.poll() is None, avahi.stdout.read() if avahi.stdout else ""
            browse = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns_b,
                    sys.executable,
                    "-m",
                    "campuswatch.agent.discovery.mdns",
                    "6",
                    "--interface",
                    "10.231.0.2",
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        finally:
            avahi.terminate()
            avahi.wait(timeout=10)
    devices = [json.loads(line) for line in browse.stdout.splitlines()]
    by_kind = {d["kind"]: d for d in devices}
    assert set(by_kind) == {"printer", "projector"}, browse.stdout + browse.stderr
    printer = by_kind["printer"]
    assert (printer["address"], printer["name"], printer["model"]) == (
        "10.231.0.1",
        "Raum 101 Drucker",
        "Kyocera ECOSYS P6235cdn",
    )
    assert (printer["location"], printer["uuid"]) == (
        "Haus A, Raum 101",
        "4509a320-00a0-008f-00b6-002507510eca",
    )
    assert printer["urls"] == ["ipp://10.231.0.1:631/ipp/print"]
    assert by_kind["projector"]["urls"] == ["pjlink://10.231.0.1:4352"]

"""``python -m sim.demo`` end to end: the real collector and agent against the simulated school.

Faults from the timetable must become tickets that open and resolve, a teacher's report on the room
page must join the projector's ticket, and however the demo ends
(its duration, SIGINT, SIGTERM) it exits 0 and leaves no part of itself running.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from sim.process import free_tcp_port
from sim.snmpsim import answers

pytestmark = pytest.mark.integration


def _demo(state_dir: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_tcp_port()
    argv = [sys.executable, "-m", "sim.demo", "--listen", f"127.0.0.1:{port}", "--state-dir", str(state_dir)]
    process = subprocess.Popen([*argv, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, port


def _assert_all_gone(output: str, state_dir: Path, collector_port: int) -> None:
    """Devices, collector and agent no longer run once the demo has exited."""
    devices = re.findall(r"device\s+(\S+)\s+127\.0\.0\.1:(\d+)", output)
    assert devices, output
    for name, port in devices:
        if not name.startswith("beamer"):
            assert not answers("127.0.0.1", int(port), name), name
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", collector_port), timeout=1):
        pass
    started = [
        json.loads(line)
        for line in (state_dir / "logs" / "demo.log").read_text().splitlines()
        if '"child started"' in line
    ]
    assert {c["child"] for c in started} == {"collector", "agent"}
    for child in started:
        with pytest.raises(ProcessLookupError):
            os.kill(child["pid"], 0)


def assert_the_printed_login_works(output: str, port: int) -> None:
    """The login the demo printed opens its pages; nothing else does."""
    found = re.search(r"log in at (http://\S+)/login as '(\w+)' with the password '([^']+)'", output)
    assert found, output
    url, login, password = found.groups()
    assert url == f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{url}/login") as page:
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.read().decode())
    assert csrf, "the login form carries its CSRF token"
    form = urllib.parse.urlencode({"login": login, "password": password, "csrf": csrf.group(1), "next": "/"})
    with opener.open(f"{url}/login", data=form.encode()) as page:
        assert page.url == f"{url}/" and "Bert-Brecht-Gymnasium" in page.read().decode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{url}/api/v1/tickets")
    assert refused.value.code == 401


def test_demo_opens_and_resolves_tickets_and_stops_by_itself(tmp_path: Path) -> None:
    process, port = _demo(tmp_path, "--duration", "40", "--interval", "1", "--speed", "8")
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 0, output
    # The collector writes its tickets in German, as the city's do.
    assert re.search(r"ticket #\d+ opened\s+printer-raum-101: .* leer", output), output
    assert re.search(r"ticket #\d+ opened\s+printer-lehrerzimmer: .*Papierstau", output), output
    assert re.search(r"ticket #\d+ resolved printer-lehrerzimmer: .*Papierstau", output), output
    # A teacher's "No picture" in room 101, through the room page as a phone would post it, adds to the
    # projector's ticket: the page says it is known, the ticket has the note, no ticket was opened for it.
    projector = re.search(r"ticket #(\d+) opened\s+beamer-raum-101: .*Lampenfehler", output)
    assert projector, output
    assert re.search(r'teacher  room 101: "No picture" \(.*\) -> the room page says: known', output), output
    noted = re.search(r"ticket #(\d+) noted    beamer-raum-101: (.*) \((\d+) new tickets\)", output)
    assert noted, output
    assert noted.group(1) == projector.group(1)
    assert "Eine Lehrkraft meldet in Raum 101: Kein Bild" in noted.group(2), noted.group(2)
    assert "Beamer zeigt kein Bild" in noted.group(2)
    assert noted.group(3) == "0"
    assert "stopped" in output.splitlines()[-1]
    _assert_all_gone(output, tmp_path, port)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_stops_cleanly_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    process, port = _demo(tmp_path, "--interval", "1")
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "device   beamer" in line:  # the last device line: everything is up
            break
    assert any("collector: http://" in line for line in lines), "".join(lines)
    assert_the_printed_login_works("".join(lines), port)
    process.send_signal(sig)
    rest, _ = process.communicate(timeout=60)
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert output.rstrip().endswith("stopped"), output
    _assert_all_gone(output, tmp_path, port)

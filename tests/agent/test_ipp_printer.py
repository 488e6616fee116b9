"""read_ipp_printer against a real CUPS ippeveprinter (private namespace) and against broken servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web

from campuswatch.agent.errors import DeviceReplyError, DeviceUnreachable
from campuswatch.agent.protocols.ipp import IppReader, read_ipp_printer
from campuswatch.agent.protocols.reader import ReadTarget
from campuswatch.report import DeviceReading
from tests.support.host import require_root, require_tools
from tests.support.judge import judged
from tests.support.paths import REPO

SCRIPT = REPO / "scripts" / "ippeveprinter-ns.sh"
MARKER_CONF = REPO / "tests" / "fixtures" / "ipp" / "marker-printer.conf"
PORT = 18631
URL = f"ipp://localhost:{PORT}/ipp/print"


def in_printer_namespace(shell: str, attrs: Path | None = None) -> dict[str, Any]:
    """Run ``shell`` inside a private net+mount namespace with ippeveprinter up; its stdout is a reading."""
    require_tools("unshare", "ippeveprinter", "ipptool", "avahi-daemon", "dbus-daemon")
    require_root("the ippeveprinter test's network and mount namespace")
    env = dict(os.environ, IPP_PORT=str(PORT))
    if attrs:
        env["IPP_ATTRS"] = str(attrs)
    proc = subprocess.run(
        ["unshare", "--net", "--mount", str(SCRIPT), "sh", "-c", shell],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    reading: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return reading


PROBE = f"{sys.executable} -m campuswatch.agent.protocols.ipp {URL}"


@pytest.mark.integration
def test_real_ippeveprinter_reports_state_and_two_supplies() -> None:
    reading = in_printer_namespace(PROBE)
    assert reading["kind"] == "printer"
    assert reading["address"] == f"localhost:{PORT}"
    assert reading["system"]["name"] == "Test Printer"
    assert reading["system"]["uuid"]
    assert reading["printer"]["printer_status"] == "idle"
    assert reading["printer"]["device_status"] == "running"
    supplies = {s["description"]: (s["level_percent"], s["state"]) for s in reading["supplies"]}
    assert supplies == {"Toner Waste Tank": (25.0, "ok"), "Black Toner": (75.0, "ok")}
    assert reading["problems"] == []


@pytest.mark.integration
def test_real_ippeveprinter_fault_empty_toner_full_waste_tank() -> None:
    # ippeveprinter's web forms change supplies and trays while it runs; it then sets state reasons.
    set_faults = (
        f'{sys.executable} -c "import urllib.request as u; '
        f"u.urlopen('http://localhost:{PORT}/supplies?supply0=100&supply1=0').read(); "
        f"u.urlopen('http://localhost:{PORT}/media?size1=iso_a4_210x297mm&type1=stationery&level1=0').read()\""
    )
    reading = in_printer_namespace(f"{set_faults} && {PROBE}")
    reasons = set(reading["printer"]["state_reasons"])
    assert reasons >= {"toner-empty-report", "media-empty-report", "marker-waste-full-report"}
    # ippeveprinter reports these as -report reasons: information, not detected errors (RFC 8011).
    assert reading["printer"]["detected_errors"] == []
    toner = next(s for s in reading["supplies"] if s["description"] == "Black Toner")
    waste = next(s for s in reading["supplies"] if s["description"] == "Toner Waste Tank")
    assert (toner["state"], toner["level_percent"], waste["state"]) == ("empty", 0.0, "full")
    assert {t["name"]: t["state"] for t in reading["trays"]}["main"] == "empty"
    # The levels are numbers the collector's thresholds judge, under the codes SNMP printers get.
    assert reading["problems"] == []
    codes = {(code, subject) for code, _, _, subject in judged(msgspec.convert(reading, DeviceReading))}
    assert codes == {("supply_empty", str(toner["index"])), ("waste_full", str(waste["index"]))}


@pytest.mark.integration
def test_real_ippeveprinter_with_marker_arrays_and_special_levels() -> None:
    reading = in_printer_namespace(PROBE, attrs=MARKER_CONF)
    assert reading["system"]["model"] == "Kyocera ECOSYS M5526cdw"
    assert reading["system"]["serial"] == "VCF9Z01234"
    states = [(s["description"], s["state"], s["level_percent"]) for s in reading["supplies"]]
    assert states == [
        ("Black Toner", "ok", 80.0),
        ("Cyan Toner", "empty", 0.0),
        ("Waste Toner", "some_remaining", None),
        ("Drum", "unknown", None),
    ]
    assert reading["problems"] == []
    found = judged(msgspec.convert(reading, DeviceReading))
    assert [(code, subject) for code, _, _, subject in found] == [("supply_empty", "2")]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def http_server() -> AsyncIterator[tuple[int, dict[str, web.Response]]]:
    """An HTTP server on loopback whose answer to POST /ipp/print the test chooses."""
    answer: dict[str, web.Response] = {}

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return answer["response"]

    app = web.Application()
    app.router.add_post("/ipp/print", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_tcp_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield port, answer
    await runner.cleanup()


async def test_garbage_body_is_a_reply_error(http_server: tuple[int, dict[str, web.Response]]) -> None:
    port, answer = http_server
    answer["response"] = web.Response(
        body=b"<html>this is a router login page</html>", content_type="text/html"
    )
    with pytest.raises(DeviceReplyError):
        await read_ipp_printer(f"ipp://127.0.0.1:{port}/ipp/print", timeout_s=3)


async def test_http_error_is_a_reply_error(http_server: tuple[int, dict[str, web.Response]]) -> None:
    port, answer = http_server
    answer["response"] = web.Response(status=404, text="not found")
    with pytest.raises(DeviceReplyError):
        await read_ipp_printer(f"ipp://127.0.0.1:{port}/ipp/print", timeout_s=3)


async def test_the_reader_asks_the_default_queue_when_the_url_has_no_path(
    http_server: tuple[int, dict[str, web.Response]],
) -> None:
    port, answer = http_server
    answer["response"] = web.Response(body=b"<html>login</html>", content_type="text/html")
    with pytest.raises(DeviceReplyError, match=rf"^ipp://127\.0\.0\.1:{port}/ipp/print: "):
        await IppReader().read(ReadTarget("printer", f"ipp://127.0.0.1:{port}", 3.0))


async def test_closed_port_is_unreachable() -> None:
    with pytest.raises(DeviceUnreachable):
        await read_ipp_printer(f"ipp://127.0.0.1:{free_tcp_port()}/ipp/print", timeout_s=3)


async def test_not_an_ipp_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not an ipp"):
        await read_ipp_printer("http://127.0.0.1/ipp/print")

"""A password does not cross the network in the clear: a collector served over plain HTTP takes a
login from its own host (the demo, an SSH tunnel) but refuses one from another host, here a second
network namespace joined by a veth pair; that host still reads the login page, which says why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim.process import stop_process, wait_for
from tests.support.host import veth_pair

pytestmark = pytest.mark.integration

SUBNET = "10.203.8"
PASSWORD = "correct horse battery"
#: What the other host runs: fetch the login page (its nonce cookie and CSRF token), post the login.
CLIENT = """
import http.cookiejar, json, re, sys, urllib.error, urllib.parse, urllib.request
url = sys.argv[1]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
page = opener.open(url + "/login").read().decode()
csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
form = urllib.parse.urlencode({"login": "desk", "password": sys.argv[2], "csrf": csrf, "next": "/"})
try:
    answer = opener.open(url + "/login", data=form.encode())
    status, body = answer.status, answer.read().decode()
except urllib.error.HTTPError as err:
    status, body = err.code, err.read().decode()
print(json.dumps({"page": "plain_http" in page, "status": status, "problem": 'data-problem="plain_http"' in body}))
"""


def cli(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campuswatch.collector.cli", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


def test_a_login_over_plain_http_from_another_host_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "collector.yaml"
    config.write_text(yaml.safe_dump({"listen": "0.0.0.0:8750", "db": str(tmp_path / "c.sqlite3")}))
    added = cli(
        config, "user", "add", "desk", "--role", "helpdesk", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    with veth_pair("cwlogin", SUBNET) as (server_ns, client_ns):
        log = (tmp_path / "collector.log").open("wb")
        collector = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                server_ns,
                sys.executable,
                "-m",
                "campuswatch.collector.cli",
                "serve",
                "--config",
                str(config),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def attempt(netns: str, url: str) -> dict[str, object] | None:
                done = subprocess.run(
                    ["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT, url, PASSWORD],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                return json.loads(done.stdout) if done.returncode == 0 else None

            elsewhere = wait_for(lambda: attempt(client_ns, f"http://{SUBNET}.1:8750"), 60, "the login page")
            assert elsewhere == {"page": True, "status": 403, "problem": True}
            # The same collector, asked on its own host (in its namespace, over loopback): it goes through.
            assert attempt(server_ns, "http://127.0.0.1:8750") == {
                "page": False,
                "status": 200,
                "problem": False,
            }
        finally:
            stop_process(collector, timeout_s=20)
            log.close()

"""A real HTTP load balancer in front of several collectors: Debian's nginx, round robin per request.

What a city puts in front of its replicas: each request goes to the next collector; one that does not
answer is skipped (``proxy_next_upstream``). Its access log names the collector that answered each
request, so a test can show that both replicas did the work.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from campuswatch.collector.store.location import PostgresLocation
from sim.process import free_tcp_port, serving, stop_process, wait_for
from tests.support.e2e import Collector, all_items, get_json


class Nginx:
    """nginx balancing ``upstreams`` (``host:port``) on a free loopback port; :meth:`start`, :meth:`stop`."""

    def __init__(self, workdir: Path, upstreams: list[str]) -> None:
        self.workdir = workdir / "nginx"
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstreams = upstreams
        self.access_log = self.workdir / "access.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=2s;" for u in self.upstreams)
        temp = " ".join(
            f"{kind}_temp_path {self.workdir / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root root;" if os.geteuid() == 0 else ""
        return f"""
{user}
worker_processes 1;
daemon off;
pid {self.workdir / "nginx.pid"};
error_log {self.workdir / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
  log_format upstream '$request_method $uri $status $upstream_addr';
  access_log {self.access_log} upstream;
  {temp}
  client_max_body_size 32m;
  upstream collectors {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{self.port};
    location / {{
      proxy_pass http://collectors;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502;
      proxy_read_timeout 120s;
    }}
  }}
}}
"""

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            pytest.fail("nginx is not installed: apt-get install nginx-light (scripts/apt-test-packages.txt)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "nginx.conf"
        config.write_text(self._config())
        log = (self.workdir / "stdout.log").open("ab")
        self._proc = subprocess.Popen(
            [binary, "-c", str(config), "-p", str(self.workdir)], stdout=log, stderr=log
        )
        wait_for(lambda: serving(f"{self.url}/healthz"), 30, "nginx in front of the collectors")

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, timeout_s=10)

    def answered(self, method: str, path: str) -> Counter[str]:
        """How many ``method path`` requests each upstream answered (from the access log)."""
        counts: Counter[str] = Counter()
        if not self.access_log.exists():
            return counts
        for line in self.access_log.read_text().splitlines():
            parts = line.split(" ", 3)
            if len(parts) == 4 and parts[0] == method and parts[1] == path:
                # A retried request lists every upstream tried; the last one answered.
                counts[parts[3].split(", ")[-1]] += 1
        return counts


class ReplicatedCollector:
    """Collectors on one database behind nginx: what an agent, a helpdesk or a test sees is the
    balancer's URL, and every request may land on any of them."""

    def __init__(self, replicas: list[Collector], balancer: Nginx) -> None:
        self.replicas = replicas
        self.balancer = balancer
        self.url = balancer.url

    def token(self, school: str) -> str:
        """A new token (the tokens are in the shared database: one replica's CLI makes it)."""
        return self.replicas[0].token(school)

    def get(self, path: str) -> Any:
        """``GET path`` of the JSON API through the balancer, with the ``api`` token (the tokens are in
        the shared database)."""
        return get_json(f"{self.url}{path}", self.replicas[0].machine_token("api"))

    def items(self, path: str) -> list[Any]:
        """Every item of a paged list through the balancer."""
        return all_items(self.get, path)

    def tickets(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /api/v1/tickets`` through the balancer: every page."""
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.items(f"/api/v1/tickets?{query}")

    def reports_answered(self) -> Counter[str]:
        """How many reports each replica answered."""
        return self.balancer.answered("POST", "/api/v1/reports")


@contextmanager
def replicated_collector(
    workdir: Path, schools: dict[str, str], *, rules_file: Path, database: PostgresLocation, count: int = 2
) -> Iterator[ReplicatedCollector]:
    """``count`` collector processes on ``database`` behind nginx, started and (afterwards) stopped."""
    replicas = [
        Collector(workdir, schools, rules_file=rules_file, db=database.url.reveal(), name=f"replica-{i}")
        for i in range(count)
    ]
    balancer = Nginx(workdir, [r.url.removeprefix("http://") for r in replicas])
    try:
        for replica in replicas:
            replica.start()
        balancer.start()
        yield ReplicatedCollector(replicas, balancer)
    finally:
        balancer.stop()
        for replica in replicas:
            replica.stop()

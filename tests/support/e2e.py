"""Helpers for end-to-end tests: the real collector and agent as subprocesses, talking HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml
from prometheus_client.parser import text_string_to_metric_families

from sim.process import free_tcp_port, serving, stop_process, wait_for

T = TypeVar("T")


def write_token_file(path: Path, token: str) -> Path:
    """Write a school's token where an agent.yaml's ``token_file`` names it, readable by its owner only
    (the agent refuses a token file every user of the gateway can read)."""
    path.write_text(token)
    path.chmod(0o600)
    return path


def get_json(url: str, token: str | None = None) -> Any:
    """GET a JSON document (with ``token`` as the bearer, if given)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return json.loads(response.read())


def post_report(
    url: str, body: bytes, *, token: str | None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """POST ``body`` to the collector's ``/api/v1/reports``: the HTTP status and the JSON answer."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/api/v1/reports", data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def scrape(url: str, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A Prometheus ``/metrics`` page read with prometheus_client's parser: value by (name, labels)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def all_items(get: Callable[[str], Any], path: str) -> list[Any]:
    """Every item of a paged list of the API (``get``: a path's JSON), following ``next`` to the end."""
    page = get(path)
    items = list(page["items"])
    while page["next"] is not None:
        page = get(page["next"])
        items.extend(page["items"])
    return items


class Collector:
    """A ``campuswatch-collector serve`` subprocess on a temporary SQLite file."""

    def __init__(
        self,
        workdir: Path,
        schools: dict[str, str],
        *,
        rules_file: Path,
        build: str = "",
        db: str | None = None,
        name: str = "collector",
        log_level: str = "info",
        **config: Any,
    ) -> None:
        """``rules_file``: the rules it runs (``sim.collector.IMMEDIATE_RULES`` for tickets at once).
        ``build``: Python statements run in the collector process before its CLI, to stand in for
        another build of it (e.g. one that reads other schema versions). ``db``: a SQLite file in
        ``workdir`` unless given (a ``postgresql://`` URL: several collectors, each its own ``name``,
        share it). ``log_level``: ``debug`` logs every report stored. ``config``: more keys of its
        collector.yaml."""
        self.workdir = workdir
        self.build = build
        self.log_level = log_level
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = workdir / "collector.sqlite3"
        schools_file = workdir / "schools.yaml"
        schools_file.write_text(yaml.safe_dump({"schools": {k: {"name": v} for k, v in schools.items()}}))
        self.config = workdir / f"{name}.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "listen": f"127.0.0.1:{self.port}",
                    "db": db or str(self.db),
                    "schools_file": str(schools_file),
                    "rules_file": str(rules_file),
                    **config,
                }
            )
        )
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._tokens: dict[str, str] = {}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a collector subcommand against this collector's config."""
        return subprocess.run(
            [*self._command(), "--log-format", "json", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def _command(self) -> list[str]:
        if not self.build:
            return [sys.executable, "-m", "campuswatch.collector.cli"]
        run_cli = (
            "import runpy; runpy.run_module('campuswatch.collector.cli', run_name='__main__', alter_sys=True)"
        )
        return [sys.executable, "-c", f"{self.build}\n{run_cli}"]

    def token(self, school: str) -> str:
        """A new agent token for ``school``."""
        result = self.cli("token", "create", school)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def machine_token(self, scope: str) -> str:
        """This collector's token of ``scope`` (``api``, ``metrics``), made at first use."""
        if scope not in self._tokens:
            result = self.cli("token", "create", "--scope", scope)
            assert result.returncode == 0, result.stderr
            self._tokens[scope] = result.stdout.strip()
        return self._tokens[scope]

    def get(self, path: str) -> Any:
        """``GET path`` of the JSON API with this collector's ``api`` token."""
        return get_json(f"{self.url}{path}", self.machine_token("api"))

    def items(self, path: str) -> list[Any]:
        """Every item of a paged list of the API, following ``next`` to the last page."""
        return all_items(self.get, path)

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """This collector's ``/metrics`` with its ``metrics`` token."""
        return scrape(f"{self.url}/metrics", self.machine_token("metrics"))

    def start(self) -> None:
        """Start serving and wait for /healthz."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *self._command(),
                    *("--log-format", "json", "--log-level", self.log_level),
                    *("serve", "--config", str(self.config)),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def healthy() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            return serving(f"{self.url}/healthz")

        wait_for(healthy, 30, "collector /healthz")

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc:
            stop_process(self.proc, timeout_s=20)

    def kill(self) -> None:
        """SIGKILL and wait: no shutdown code runs, as when the machine loses power."""
        assert self.proc is not None and self.proc.poll() is None, "the collector is not running"
        self.proc.kill()
        self.proc.wait()

    def logged(self, agent_id: str) -> list[int]:
        """The seqs of ``agent_id`` in the event log (the events that changed something), in the order
        they were stored, read from the SQLite file."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT seq FROM events WHERE agent_id = ? ORDER BY id", (agent_id,))
            return [seq for (seq,) in rows]
        finally:
            conn.close()

    def problems(self) -> list[tuple[str, str, str]]:
        """Every problem ever opened, resolved ones too, as (device, code, state), read from the SQLite
        file."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return list(conn.execute("SELECT device, code, state FROM problems ORDER BY id"))
        finally:
            conn.close()

    def received(self, agent_id: str) -> tuple[int, int]:
        """(acked seq, events received) of ``agent_id``, (0, 0) for one never heard of: every event the
        collector took in, logged or folded into its device, counts once."""
        return self.agents().get(agent_id, (0, 0))

    def agents(self) -> dict[str, tuple[int, int]]:
        """Every agent's (acked seq, events received), read from the SQLite file."""
        return {
            agent: (acked, got)
            for agent, acked, got in self._rows("SELECT agent_id, acked_seq, events_received FROM agents")
        }

    def failures(self, school: str, device: str) -> int:
        """The device's count of its latest polls with the same non-ok status (0: never polled)."""
        found = self._rows(
            "SELECT consecutive_failures FROM devices WHERE school = ? AND device = ?", (school, device)
        )
        return int(found[0][0]) if found else 0

    def _rows(self, sql: str, params: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return []  # no database yet: the collector never started
        finally:
            conn.close()

    def tickets(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /api/v1/tickets`` with filters: every page."""
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.items(f"/api/v1/tickets?{query}")


@asynccontextmanager
async def collector_for_bbg(workdir: Path, *, rules_file: Path) -> AsyncIterator[tuple[Collector, Path]]:
    """A started :class:`Collector` of school ``bbg`` and a file holding a token for it (what
    :func:`agent_config` takes); stopped afterwards. Start, token and stop run off the event loop."""
    collector = Collector(workdir, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=rules_file)
    await asyncio.to_thread(collector.start)
    try:
        token = workdir / "token"
        await asyncio.to_thread(write_token_file, token, await asyncio.to_thread(collector.token, "bbg"))
        yield collector, token
    finally:
        await asyncio.to_thread(collector.stop)


def agent_config(collector: Collector, token_file: Path, data_dir: Path, **more: Any) -> dict[str, Any]:
    """An agent.yaml for end-to-end tests: school ``bbg`` of ``collector``, no metrics port, every device
    polled each second; ``more`` adds or replaces top-level keys (devices, credentials, discovery)."""
    return {
        "school": "bbg",
        "collector": {"url": collector.url, "token_file": str(token_file)},
        "data_dir": str(data_dir),
        "metrics_listen": None,
        "defaults": {"interval_s": 1, "timeout_s": 1, "jitter_s": 0.1},
        **more,
    }


@asynccontextmanager
async def agent_running(workdir: Path, config: dict[str, Any]) -> AsyncIterator[subprocess.Popen[bytes]]:
    """:func:`running_agent` in a coroutine: its start and its stop (a wait of up to 20 s) in a thread,
    so that what the test serves in its event loop keeps answering while the agent drains."""
    manager = running_agent(workdir, config)
    proc = await asyncio.to_thread(manager.__enter__)
    try:
        yield proc
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


@contextmanager
def running_agent(workdir: Path, config: dict[str, Any]) -> Iterator[subprocess.Popen[bytes]]:
    """A ``campuswatch-agent run`` subprocess with this config; stopped with SIGTERM afterwards."""
    path = workdir / "agent.yaml"
    path.write_text(yaml.safe_dump(config))
    log = workdir / "agent.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "campuswatch.agent", "--log-format", "json", "run", "--config", str(path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        yield proc
    finally:
        stop_process(proc, timeout_s=20)

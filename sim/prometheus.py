"""Private Prometheus and Alertmanager servers for tests (Debian's packages, never the system services).

Each starts on a free loopback port with its own config and data in a temporary folder; Prometheus is
queried through its HTTP API as Grafana does::

    with PrometheusServer(config, tmp_dir) as prom:
        prom.query("sum(campuswatch_device_up)")  # -> the result list of /api/v1/query
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Self

import yaml

from sim.process import free_tcp_port, serving, stop_process, wait_for

REPO = Path(__file__).resolve().parents[1]


class PrometheusError(Exception):
    """A server did not start, or answered a query with an error."""


class Daemon:
    """One Prometheus-family server on a free loopback port, with its config and data in ``workdir``;
    use as a context manager (``async with`` in a coroutine: starting and stopping wait for the server,
    which must not block the event loop)."""

    #: The program, and the name its config file gets.
    program = ""

    def __init__(self, config: dict[str, Any], workdir: Path, *, start_timeout_s: float = 30.0) -> None:
        self.config = config
        self.workdir = workdir
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    def arguments(self, config_file: Path) -> list[str]:
        """The command line after the program's name."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_file = self.workdir / f"{self.program}.yml"
        config_file.write_text(yaml.safe_dump(self.config), encoding="utf-8")
        self._log = (self.workdir / f"{self.program}.log").open("wb")
        self._proc = subprocess.Popen(
            [self.program, *self.arguments(config_file)], stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            wait_for(self._ready, self.start_timeout_s, f"{self.program} to be ready")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        self._log.close()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.__enter__)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.__exit__, *exc)

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            log = (self.workdir / f"{self.program}.log").read_text(errors="replace")
            raise PrometheusError(f"{self.program} exited with {self._proc.returncode}:\n{log}")
        return serving(f"{self.url}/-/ready")


class AlertmanagerServer(Daemon):
    """Debian's ``prometheus-alertmanager``, alone (no cluster)."""

    program = "prometheus-alertmanager"

    def arguments(self, config_file: Path) -> list[str]:
        return [
            f"--config.file={config_file}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]


class PrometheusServer(Daemon):
    """Debian's ``prometheus``, queried through its HTTP API as Grafana does."""

    program = "prometheus"

    def arguments(self, config_file: Path) -> list[str]:
        return [
            f"--config.file={config_file}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    def api(self, path: str, **params: str | float) -> Any:
        """GET ``/api/v1/<path>`` and return its ``data``; raises :class:`PrometheusError` on an error."""
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=30) as r:
                body = json.load(r)
        except urllib.error.HTTPError as err:
            body = json.load(err)
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result (a vector's samples; a scalar comes back as one sample)."""
        data = self.api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def query_range(self, expr: str, *, seconds: float, step_s: float) -> list[dict[str, Any]]:
        """A range query over the last ``seconds``, as a time-series panel asks."""
        end = time.time()
        data = self.api("query_range", query=expr, start=end - seconds, end=end, step=step_s)
        return list(data["result"])


def repo_prometheus_config(
    collector_url: str,
    token: str,
    *,
    rule_files: list[Path] | None = None,
    alertmanager_url: str | None = None,
) -> dict[str, Any]:
    """configs/prometheus.yml as shipped, pointed at a test's collector (plus a closed port that stands
    for a collector that is down) with the collector's ``token`` of scope metrics, scraping every 2 s
    (time for a loaded test machine to answer) and evaluating every second; with the repository's rule
    files unless others are given, and without Alertmanager unless one is given."""
    configs = REPO / "configs"
    config: dict[str, Any] = yaml.safe_load((configs / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="2s", evaluation_interval="1s")
    config["rule_files"] = [str(f) for f in rule_files or [configs / name for name in config["rule_files"]]]
    if alertmanager_url is None:
        config.pop("alerting")
    else:
        (target,) = config["alerting"]["alertmanagers"]
        target["static_configs"] = [{"targets": [alertmanager_url.removeprefix("http://")]}]
    (job,) = config["scrape_configs"]
    job["scrape_timeout"] = "2s"
    job["authorization"] = {"credentials": token}
    down = f"127.0.0.1:{free_tcp_port()}"  # nothing listens there
    job["static_configs"] = [{"targets": [collector_url.removeprefix("http://"), down]}]
    return config

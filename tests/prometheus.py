"""A private Prometheus server for tests (Debian's ``prometheus``, never the system service).

Started on a free loopback port with its own config and TSDB in a temporary folder; queried through
its HTTP API as Grafana does::

    with PrometheusServer(config, tmp_dir) as prom:
        prom.query("sum(campuswatch_device_up)")  # -> the result list of /api/v1/query
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.e2e import free_tcp_port, serving, wait_for

REPO = Path(__file__).resolve().parents[1]


class PrometheusError(Exception):
    """Prometheus did not start, or answered a query with an error."""


class PrometheusServer:
    """One prometheus process on loopback; use as a context manager."""

    def __init__(self, config: dict[str, Any], workdir: Path, *, start_timeout_s: float = 30.0) -> None:
        self.config = config
        self.workdir = workdir
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrometheusServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_file = self.workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(self.config), encoding="utf-8")
        self._log = (self.workdir / "prometheus.log").open("wb")
        self._proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(self._ready, self.start_timeout_s, "prometheus to be ready")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        self._log.close()

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            log = (self.workdir / "prometheus.log").read_text(errors="replace")
            raise PrometheusError(f"prometheus exited with {self._proc.returncode}:\n{log}")
        return serving(f"{self.url}/-/ready")

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

"""The command line as a user runs it: token create, serve (stops cleanly on SIGTERM), bad configs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from campuswatch.report import encode
from sim.collector import poll_event, report
from tests.support.paths import CONFIGS

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "campuswatch.collector.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=env, check=False)


def token_create(school: str, db: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("token", "create", school, "--config", str(CONFIGS / "collector.yaml"), "--db", str(db))


def test_token_create_prints_a_token_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    done = token_create("bert-brecht-gymnasium", db)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert len(token) >= 40 and "\n" not in token
    assert token not in done.stderr
    assert token.encode() not in db.read_bytes()
    again = token_create("bert-brecht-gymnasium", db)
    assert again.stdout.strip() != token


def test_token_for_unknown_school_is_refused_with_status_2(tmp_path: Path) -> None:
    done = token_create("atlantis", tmp_path / "c.db")
    assert done.returncode == 2
    assert "unknown school 'atlantis'" in done.stderr and "bert-brecht-gymnasium" in done.stderr


def test_bad_config_names_file_line_and_key_with_status_2(tmp_path: Path) -> None:
    config = tmp_path / "collector.yaml"
    config.write_text("listen: 127.0.0.1:8750\nheartbeat_s: often\n")
    done = run_cli("serve", "--config", str(config))
    assert done.returncode == 2
    assert f"{config}:2: heartbeat_s: Expected `float`" in done.stderr
    done = run_cli("serve", "--listen", "no-port-here", "--db", str(tmp_path / "c.db"))
    assert done.returncode == 2 and "HOST:PORT" in done.stderr


async def test_serve_accepts_a_report_with_a_created_token_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    config = ["--config", str(CONFIGS / "collector.yaml"), "--db", str(db)]
    token = token_create("bert-brecht-gymnasium", db).stdout.strip()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "--log-format",
        "json",
        "serve",
        *config,
        "--listen",
        "127.0.0.1:0",
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    try:
        url = None
        while url is None:
            line = await proc.stderr.readline()
            assert line, "collector exited before serving"
            url = json.loads(line).get("url")
        body = encode(report("bert-brecht-gymnasium", [poll_event(1, "pr1", at=1.0)]))
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {token}"}
            async with http.post(f"{url}/api/v1/reports", data=body, headers=headers) as resp:
                assert resp.status == 200
                assert (await resp.json())["acked_seq"] == 1
            async with http.get(f"{url}/api/v1/devices") as resp:
                assert [d["device"] for d in await resp.json()] == ["pr1"]
        proc.send_signal(signal.SIGTERM)
        rest = (await proc.stderr.read()).decode()
        assert await proc.wait() == 0
        assert '"msg": "stopped"' in rest
        assert token not in rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

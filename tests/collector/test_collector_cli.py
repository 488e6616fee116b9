"""The command line as a user runs it: tokens (create, list, revoke, rotated without a gap), users (add,
list, password, remove), serve (stops cleanly on SIGTERM), bad configs."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from campuswatch.report import encode
from sim.collector import agent_headers, bearer, poll_event, report
from tests.support.paths import CONFIGS

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "campuswatch.collector.cli"]


#: The example config, with a database of the test's own.
def example(db: Path) -> list[str]:
    return ["--config", str(CONFIGS / "collector.yaml"), "--db", str(db)]


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env=env, input=stdin, check=False
    )


def token_create(school: str, db: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return run_cli("token", "create", school, *more, *example(db))


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


def test_machine_tokens_have_a_scope_and_are_listed_and_revoked_without_their_secret(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    agent = token_create("bert-brecht-gymnasium", db).stdout.strip()
    made = run_cli("token", "create", "--scope", "metrics", "--name", "prometheus", *example(db))
    assert made.returncode == 0, made.stderr
    scraper = made.stdout.strip()
    assert "token 2 (metrics, prometheus) created" in made.stderr
    assert (
        run_cli("token", "create", "--scope", "read", "bert-brecht-gymnasium", *example(db)).returncode == 2
    )
    assert run_cli("token", "create", *example(db)).returncode == 2, "an agent token names its school"
    listed = run_cli("token", "list", *example(db))
    assert listed.returncode == 0
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows[0] == ["id", "scope", "school", "name", "created", "last used"]
    assert [r[:4] for r in rows[1:]] == [
        ["1", "agent", "bert-brecht-gymnasium", "bert-brecht-gymnasium"],
        ["2", "metrics", "-", "prometheus"],
    ]
    assert rows[1][4].endswith("UTC") and rows[1][5] == "never"
    assert agent not in listed.stdout and scraper not in listed.stdout
    assert run_cli("token", "revoke", "2", *example(db)).returncode == 0
    assert [line.split("\t")[0] for line in run_cli("token", "list", *example(db)).stdout.splitlines()] == [
        "id",
        "1",
    ]
    gone = run_cli("token", "revoke", "2", *example(db))
    assert gone.returncode == 2 and "there is no token 2" in gone.stderr


def test_users_are_added_listed_given_a_password_and_removed(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    added = run_cli(
        "user",
        "add",
        "aschmidt",
        "--role",
        "campus-manager",
        "--campus-manager",
        "cm-nord",
        "--password-stdin",
        *example(db),
        stdin="correct horse battery\n",
    )
    assert added.returncode == 0, added.stderr
    sso = run_cli(
        "user",
        "add",
        "kim",
        "--role",
        "school-contact",
        "--school",
        "grundschule-kley",
        "--no-password",
        *example(db),
    )
    assert sso.returncode == 0, sso.stderr
    refused = [
        (["user", "add", "x", "--role", "helpdesk", "--password-stdin"], "short\n", "at least 10 characters"),
        (["user", "add", "x", "--role", "helpdesk"], "", "no terminal to ask the password on"),
        (
            ["user", "add", "x", "--role", "campus-manager", "--no-password"],
            "",
            "names their entry in schools.yaml",
        ),
        (
            ["user", "add", "aschmidt", "--role", "admin", "--no-password"],
            "",
            "there is a user 'aschmidt' already",
        ),
        (["user", "remove", "nobody"], "", "there is no user 'nobody'"),
    ]
    for args, stdin, message in refused:
        done = run_cli(*args, *example(db), stdin=stdin)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    listed = run_cli("user", "list", *example(db)).stdout.splitlines()
    assert listed == [
        "login\trole\tof\tpassword",
        "aschmidt\tcampus-manager\tcm-nord\tyes",
        "kim\tschool-contact\tgrundschule-kley\tno (single sign-on)",
    ]
    changed = run_cli(
        "user", "password", "aschmidt", "--password-stdin", *example(db), stdin="another good one\n"
    )
    assert changed.returncode == 0 and "their sessions ended" in changed.stderr
    assert run_cli("user", "remove", "kim", *example(db)).returncode == 0
    assert "kim" not in run_cli("user", "list", *example(db)).stdout
    with sqlite3.connect(db) as conn:
        log = [row for row in conn.execute("SELECT action, actor, target FROM audit ORDER BY id")]
    actor = f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"
    assert log == [
        ("user_added", actor, "aschmidt"),
        ("user_added", actor, "kim"),
        ("user_changed", actor, "aschmidt"),
        ("user_removed", actor, "kim"),
    ]
    assert b"correct horse battery" not in db.read_bytes()


def test_without_config_the_default_config_is_read(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    config = tmp_path / "collector.yaml"
    config.write_text(f"db: {db}\nschools_file: {CONFIGS / 'schools.yaml'}\n")
    env = {**os.environ, "CAMPUSWATCH_COLLECTOR_CONFIG": str(config)}
    assert run_cli("token", "create", "helmholtz-gymnasium", env=env).returncode == 0
    assert "helmholtz-gymnasium" in run_cli("token", "list", "--db", str(db), "--config", str(config)).stdout


async def test_serve_accepts_a_report_with_a_created_token_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    config = example(db)
    token = token_create("bert-brecht-gymnasium", db).stdout.strip()
    reader = run_cli("token", "create", "--scope", "read", *config).stdout.strip()
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
            headers = agent_headers(token)
            async with http.post(f"{url}/api/v1/reports", data=body, headers=headers) as resp:
                assert resp.status == 200
                assert (await resp.json())["acked_seq"] == 1
            async with http.get(f"{url}/api/v1/devices") as resp:
                assert resp.status == 401, "no anonymous reading"
            async with http.get(f"{url}/api/v1/devices", headers=bearer(reader)) as resp:
                assert [d["device"] for d in (await resp.json())["items"]] == ["pr1"]
            # Rotation without a gap: a second token works at once, the first until it is revoked.
            new = token_create("bert-brecht-gymnasium", db, "--name", "bbg 2027").stdout.strip()
            for seq, which in ((2, new), (3, token)):
                again = encode(report("bert-brecht-gymnasium", [poll_event(seq, "pr1", at=float(seq))]))
                async with http.post(
                    f"{url}/api/v1/reports", data=again, headers=agent_headers(which)
                ) as resp:
                    assert resp.status == 200
            assert run_cli("token", "revoke", "1", *config).returncode == 0
            async with http.post(f"{url}/api/v1/reports", data=body, headers=agent_headers(token)) as resp:
                assert resp.status == 401
            async with http.post(f"{url}/api/v1/reports", data=body, headers=agent_headers(new)) as resp:
                assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        rest = (await proc.stderr.read()).decode()
        assert await proc.wait() == 0
        assert '"msg": "stopped"' in rest
        assert token not in rest and new not in rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

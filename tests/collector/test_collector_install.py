"""The install steps work as written: the systemd unit, the example config and the command line agree
on the config and the database, so a token made with ``campuswatch-collector token create`` (as
README.md says) is one the served collector knows.

The machine under test has no /etc/campuswatch: the test copies the example configs to a folder that
stands for it, points ``$CAMPUSWATCH_COLLECTOR_CONFIG`` (the default config's override) there, and
runs the unit's own ExecStart with /etc/campuswatch and /var/lib/campuswatch-collector moved along.
"""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from campuswatch.collector.config import DEFAULT_CONFIG, load_collector_config
from campuswatch.collector.store.location import SqliteLocation
from campuswatch.report import encode
from sim.collector import agent_headers, poll_event, report
from sim.process import free_tcp_port, serving, stop_process, wait_for
from tests.support.paths import CONFIGS

UNIT = CONFIGS / "systemd" / "campuswatch-collector.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(UNIT)
    return parser


def test_the_unit_the_example_config_and_the_commands_name_the_same_config_and_database() -> None:
    service = unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[1:] == ["serve", "--config", str(DEFAULT_CONFIG)], "the config every command reads by default"
    example = load_collector_config(CONFIGS / "collector.yaml")
    assert example.database() == SqliteLocation(
        Path("/var/lib") / service["StateDirectory"] / "collector.sqlite3"
    )


@pytest.mark.integration
def test_a_token_created_as_the_readme_says_is_accepted_by_the_collector_the_unit_runs(
    tmp_path: Path,
) -> None:
    etc, state = tmp_path / "etc" / "campuswatch", tmp_path / "var" / "lib" / "campuswatch-collector"
    etc.mkdir(parents=True)
    state.mkdir(parents=True)
    port = free_tcp_port()
    config = yaml.safe_load((CONFIGS / "collector.yaml").read_text(encoding="utf-8"))
    config["db"] = config["db"].replace("/var/lib/campuswatch-collector", str(state))
    config["listen"] = f"127.0.0.1:{port}"
    (etc / "collector.yaml").write_text(yaml.safe_dump(config))
    (etc / "schools.yaml").write_text((CONFIGS / "schools.yaml").read_text(encoding="utf-8"))
    env = {**os.environ, "CAMPUSWATCH_COLLECTOR_CONFIG": str(etc / "collector.yaml")}
    # README: "on the collector: campuswatch-collector token create bert-brecht-gymnasium".
    made = subprocess.run(
        [sys.executable, "-m", "campuswatch.collector.cli", "token", "create", "bert-brecht-gymnasium"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    # The unit's ExecStart, its paths moved to the test's folders.
    argv = shlex.split(
        unit()["Service"]["ExecStart"].replace(str(DEFAULT_CONFIG), str(etc / "collector.yaml"))
    )
    log = (tmp_path / "collector.log").open("wb")
    collector = subprocess.Popen(
        [sys.executable, "-m", "campuswatch.collector.cli", *argv[1:]], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: serving(f"{url}/healthz"), 60, "the collector the unit runs")
        body = encode(report("bert-brecht-gymnasium", [poll_event(1, "pr1", at=1.0)]))
        answer = requests.post(f"{url}/api/v1/reports", data=body, headers=agent_headers(token), timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        stop_process(collector, timeout_s=20)
        log.close()
    assert (state / "collector.sqlite3").exists() and not (tmp_path / ".local").exists()

"""The shipped Prometheus and Alertmanager configs pass their own tools' checks, and alerts reach the
collector."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from sim.prometheus import REPO

CONFIGS = REPO / "configs"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, cwd=CONFIGS)


@pytest.mark.integration
def test_promtool_accepts_the_prometheus_config_and_its_rule_files() -> None:
    checked = run("promtool", "check", "config", CONFIGS / "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 rule files found" in checked.stdout


@pytest.mark.integration
@pytest.mark.parametrize("rule_file", sorted((CONFIGS / "prometheus").glob("*.yml")), ids=lambda p: p.name)
def test_promtool_accepts_every_rule_file(rule_file: Path) -> None:
    checked = run("promtool", "check", "rules", "--lint=all", "--lint-fatal", rule_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_rule_file_is_loaded() -> None:
    config = yaml.safe_load((CONFIGS / "prometheus.yml").read_text(encoding="utf-8"))
    loaded = {(CONFIGS / f).resolve() for f in config["rule_files"]}
    assert loaded == {p.resolve() for p in (CONFIGS / "prometheus").glob("*.yml")}


@pytest.mark.integration
def test_amtool_accepts_the_alertmanager_config() -> None:
    checked = run("amtool", "check-config", CONFIGS / "alertmanager.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.integration
@pytest.mark.parametrize(
    "labels",
    [["alertname=CampuswatchSupplyRunningOut", "school=bbg"], ["alertname=CampuswatchCollectorDown"]],
)
def test_every_alert_is_routed_to_the_collector(labels: list[str]) -> None:
    routed = run(
        "amtool", "config", "routes", "test", f"--config.file={CONFIGS / 'alertmanager.yml'}", *labels
    )
    assert routed.returncode == 0, routed.stdout + routed.stderr
    assert routed.stdout.strip() == "campuswatch-collector"
    config = yaml.safe_load((CONFIGS / "alertmanager.yml").read_text(encoding="utf-8"))
    (receiver,) = config["receivers"]
    assert [w["url"] for w in receiver["webhook_configs"]] == ["http://127.0.0.1:8750/api/v1/alertmanager"]

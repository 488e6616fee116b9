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
def test_promtool_accepts_the_prometheus_config_and_its_rule_files(tmp_path: Path) -> None:
    # As shipped, but with the scrape token's file where this test can make one (promtool wants it).
    config = yaml.safe_load((CONFIGS / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job["authorization"] == {"credentials_file": "/etc/campuswatch/prometheus-token"}
    job["authorization"]["credentials_file"] = str(tmp_path / "prometheus-token")
    (tmp_path / "prometheus-token").write_text("a-token")
    config["rule_files"] = [str(CONFIGS / f) for f in config["rule_files"]]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    checked = run("promtool", "check", "config", tmp_path / "prometheus.yml")
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
    ("labels", "receiver"),
    [
        (["alertname=CampuswatchSupplyRunningOut", "school=bbg"], "campuswatch-collector"),
        (["alertname=CampuswatchCollectorDown"], "city-admin"),
    ],
)
def test_every_alert_of_a_school_is_routed_to_the_collector_with_its_token(
    labels: list[str], receiver: str
) -> None:
    routed = run(
        "amtool", "config", "routes", "test", f"--config.file={CONFIGS / 'alertmanager.yml'}", *labels
    )
    assert routed.returncode == 0, routed.stdout + routed.stderr
    assert routed.stdout.strip() == receiver
    config = yaml.safe_load((CONFIGS / "alertmanager.yml").read_text(encoding="utf-8"))
    (collector,) = [r for r in config["receivers"] if r["name"] == "campuswatch-collector"]
    (webhook,) = collector["webhook_configs"]
    assert webhook["url"] == "http://127.0.0.1:8750/api/v1/alertmanager"
    assert webhook["http_config"]["authorization"] == {
        "credentials_file": "/etc/campuswatch/alertmanager-token"
    }

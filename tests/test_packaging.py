"""What `pip install .` installs: one top-level package, campuswatch, with every file of it that git
tracks (modules and their YAML/HTML/CSS data), built without a setuptools deprecation warning."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.process import free_tcp_port, serving, wait_for
from tests.support.paths import REPO

# pip fetches the build backend from the package index for its isolated build.
pytestmark = pytest.mark.integration


def tracked_files() -> list[str]:
    done = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()


@dataclass(frozen=True)
class Wheel:
    path: Path
    log: str


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    # Built from a copy of what git tracks: a file that is not committed is not shipped, and the build's
    # own build/ and *.egg-info stay out of the checkout.
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "source"
    tracked = tracked_files()
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    out = tmp_path / "wheel"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--verbose",
            "--no-deps",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-3000:]
    [built] = out.glob("*.whl")
    return Wheel(built, log)


def test_the_wheel_holds_campuswatch_whole_and_nothing_else(wheel: Wheel) -> None:
    assert "deprecat" not in wheel.log.lower(), "setuptools warns while building: " + wheel.log[-3000:]
    tracked = tracked_files()

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    names = set(zipfile.ZipFile(wheel.path).namelist())
    assert {name.split("/")[0] for name in names} == {"campuswatch", f"campuswatch-{version}.dist-info"}
    # Every tracked file of the package but its documentation, and nothing more.
    expected = {name for name in tracked if name.startswith("campuswatch/") and not name.endswith(".md")}
    assert {name for name in names if name.startswith("campuswatch/")} == expected
    assert any(name.endswith(".yaml") for name in expected), "the package data (mibs/, rules.yaml) is there"


def test_the_installed_wheel_serves_the_collector_with_its_shipped_rules_from_any_directory(
    wheel: Wheel, tmp_path: Path
) -> None:
    # A fresh venv with the wheel alone; its dependencies come from the test venv's site-packages on
    # PYTHONPATH (no .pth runs from there, so the checkout's editable install stays out of sight).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = next(p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir())
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel.path)],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_tcp_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "CAMPUSWATCH_COLLECTOR_CONFIG": "",  # no config at all, as on a new machine
        "PYTHONPATH": str(site),
    }
    log = tmp_path / "collector.log"
    with log.open("wb") as out:
        collector = subprocess.Popen(
            [str(venv / "bin" / "campuswatch-collector"), "serve", "--listen", f"127.0.0.1:{port}"],
            cwd=elsewhere,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(
                lambda: serving(f"http://127.0.0.1:{port}/healthz") or collector.poll() is not None,
                60,
                "serve",
            )
            assert collector.poll() is None, log.read_text()[-3000:]
        finally:
            collector.terminate()
            collector.wait(timeout=30)
    text = log.read_text()
    shipped = str(venv / "lib")
    [rules_line] = [line for line in text.splitlines() if "rules loaded" in line]
    assert shipped in rules_line and "rules.yaml" in rules_line, rules_line
    assert str(REPO) not in text, "nothing of the checkout is used"

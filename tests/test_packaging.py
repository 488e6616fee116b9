"""What `pip install .` installs: one top-level package, campuswatch, with every file of it that git
tracks (modules and their YAML/HTML/CSS data), built without a setuptools deprecation warning."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import REPO

# pip fetches the build backend from the package index for its isolated build.
pytestmark = pytest.mark.integration


def tracked_files() -> list[str]:
    done = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()


def test_the_wheel_holds_campuswatch_whole_and_nothing_else(tmp_path: Path) -> None:
    # Built from a copy of what git tracks: a file that is not committed is not shipped, and the build's
    # own build/ and *.egg-info stay out of the checkout.
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
    assert "deprecat" not in log.lower(), "setuptools warns while building: " + log[-3000:]

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    [wheel] = out.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {name.split("/")[0] for name in names} == {"campuswatch", f"campuswatch-{version}.dist-info"}
    # Every tracked file of the package but its documentation, and nothing more.
    expected = {name for name in tracked if name.startswith("campuswatch/") and not name.endswith(".md")}
    assert {name for name in names if name.startswith("campuswatch/")} == expected
    assert any(name.endswith(".yaml") for name in expected), "the package data (mibs/, rules.yaml) is there"

"""The agent is what a school's gateway installs: it must run without the collector, the simulator or the
tests. Checked here on a fresh interpreter that imports every agent module (what the agent's shared
modules pull in at run time counts too); on the source, every import of the agent and of what it
imports, by tests/test_architecture.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import REPO

#: What the gateway does not have.
FORBIDDEN = ("campuswatch.collector", "sim", "tests")


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


@pytest.mark.integration
def test_importing_the_whole_agent_loads_none_of_them() -> None:
    script = """
import json, pkgutil, importlib, sys
import campuswatch.agent as agent
for info in pkgutil.walk_packages(agent.__path__, "campuswatch.agent."):
    if not info.name.endswith("__main__"):  # running those is starting a command
        importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    loaded = json.loads(done.stdout)
    assert "campuswatch.agent.readers" in loaded and "campuswatch.agent.runner" in loaded
    assert [name for name in loaded if _forbidden(name)] == []

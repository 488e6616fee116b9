"""The agent is what a school's gateway installs: it must run without the collector, the simulator or the
tests. Checked on the source (every import, also those inside functions) and on a fresh interpreter that
imports every agent module (what the agent's shared modules pull in counts too)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from tests.support.paths import REPO

AGENT = REPO / "campuswatch" / "agent"
#: What the gateway does not have.
FORBIDDEN = ("campuswatch.collector", "sim", "tests")


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


def test_no_agent_module_imports_the_collector_the_simulator_or_the_tests() -> None:
    found = []
    for path in sorted(AGENT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [f"{path.relative_to(REPO)}:{node.lineno}: {name}" for name in names if _forbidden(name)]
    assert found == []


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

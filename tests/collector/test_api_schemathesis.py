"""Property-based tests of the collector's API from its own OpenAPI document (schemathesis): requests
generated from the document (and requests that break it), sent to a real ``campuswatch-collector
serve`` with no credential, with a campus manager's session and with an admin's.

- anonymous: nothing but the public routes answers; everything else is a 401 (no school data, no
  write), and nothing is a 5xx;
- signed in: nothing is a 5xx, and every answer is one the document lists, with the content type and
  the JSON Schema it names.

The budget is fixed (a number of examples per operation, no deadline), so ``make test`` takes the same
time on every run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case as AnyCase
from schemathesis import GenerationMode

from campuswatch.collector.http.routes import ROUTES
from campuswatch.report import encode
from sim.collector import agent_headers, poll_event, report
from sim.process import free_tcp_port, serving, stop_process, wait_for

pytestmark = pytest.mark.integration
#: A generated request, of any operation.
Case = AnyCase[Any]

PASSWORD = "correct horse battery"
SCHOOLS = {"bbg": "cm-nord", "hhg": "cm-nord", "kley": "cm-ost"}
#: Examples per operation: the whole run stays within a minute or two on the project's 2-core machine.
BUDGET = settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
PUBLIC = {"/healthz", "/api/v1/openapi.json"}
#: Routes without a login whose credential is a key in the URL (a calendar feed's): any other key, 404.
KEYED = {"/api/v1/campus-managers/{id}/visits.ics"}
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@dataclass(frozen=True)
class Served:
    """A collector process, and what each caller sends: cookies of a session, or a bearer token."""

    url: str
    tokens: dict[str, str]
    sessions: dict[str, dict[str, str]]


def _cli(config: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "campuswatch.collector.cli", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _session(url: str, login: str) -> dict[str, str]:
    http = requests.Session()
    page = http.get(f"{url}/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    form = {"login": login, "password": PASSWORD, "csrf": csrf.group(1), "next": "/"}
    assert http.post(f"{url}/login", data=form, timeout=10).status_code == 200
    return {name: value for name, value in http.cookies.items() if value is not None}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("schemathesis")
    port = free_tcp_port()
    (folder / "schools.yaml").write_text(
        yaml.safe_dump(
            {
                "campus_managers": {"cm-nord": {"name": "Anna", "login": "anna"}, "cm-ost": {"name": "Ben"}},
                "schools": {s: {"name": s.upper(), "campus_manager": m} for s, m in SCHOOLS.items()},
            }
        )
    )
    config = folder / "collector.yaml"
    config.write_text(
        yaml.safe_dump({"listen": f"127.0.0.1:{port}", "db": "c.sqlite3", "schools_file": "schools.yaml"})
    )
    tokens = {scope: _cli(config, "token", "create", "--scope", scope) for scope in ("alertmanager", "api")}
    tokens["agent"] = _cli(config, "token", "create", "bbg")
    _cli(config, "user", "add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    _cli(
        config,
        "user",
        "add",
        "anna",
        "--role",
        "campus-manager",
        "--campus-manager",
        "cm-nord",
        "--password-stdin",
        stdin=PASSWORD,
    )
    log = (folder / "collector.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "campuswatch.collector.cli", "serve", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: serving(f"{url}/healthz"), 60, "the collector")
        body = encode(report("bbg", [poll_event(1, "pr1", at=1.0)]))
        answer = requests.post(
            f"{url}/api/v1/reports", data=body, headers=agent_headers(tokens["agent"]), timeout=10
        )
        assert answer.status_code == 200
        sessions = {who: _session(url, who) for who in ("root", "anna")}
        yield Served(url, tokens, sessions)
    finally:
        stop_process(process, timeout_s=20)
        log.close()
        assert "Traceback" not in (folder / "collector.log").read_text(), "no request ended in a traceback"


@pytest.fixture(scope="module")
def api(served: Served) -> Any:
    """The collector's document, as the collector serves it."""
    schema = schemathesis.openapi.from_url(f"{served.url}/api/v1/openapi.json")
    schema.config.update(base_url=served.url)
    return schema


def _credentials(served: Served, case: Case, who: str | None) -> dict[str, Any]:
    """Nothing for the anonymous; the machines' routes their machine's token; else ``who``'s session."""
    path = case.operation.path
    if who is None:
        return {}
    if path == "/api/v1/reports":
        return {"headers": {"Authorization": f"Bearer {served.tokens['agent']}"}}
    if path == "/api/v1/alertmanager":
        return {"headers": {"Authorization": f"Bearer {served.tokens['alertmanager']}"}}
    return {"cookies": served.sessions[who]}


def exercise(api: Any, mode: GenerationMode, check: Callable[[Case], None]) -> list[str]:
    """Run ``check`` on generated cases of every operation; what failed, by operation."""
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    # Every operation but the document's own, which schemathesis leaves out of a document it fetched.
    expected = {f"{r.method} {r.path}" for r in ROUTES if r.kind == "api"} - {"GET /api/v1/openapi.json"}
    assert {o.label for o in operations} == expected
    for operation in operations:

        @BUDGET
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Case) -> None:
            check(case)

        try:
            run()
        except Unsatisfiable:
            # Nothing to break: an operation without parameters or body has no invalid request.
            assert mode == GenerationMode.NEGATIVE and not operation.body and not operation.query, (
                operation.label
            )
        except Exception as err:  # one operation's failure must not hide another's
            failures.append(f"{operation.label} ({mode}): {str(err)[:800]}")
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_anonymous_requests_get_nothing_but_the_public_routes(
    api: Any, served: Served, mode: GenerationMode
) -> None:
    def check(case: Case) -> None:
        response = case.call()
        assert response.status_code < 500, response.text[:300]
        if case.operation.path in PUBLIC:
            assert response.status_code in (200, 400), response.status_code
        elif case.operation.path in KEYED:
            assert response.status_code == 404, (case.method, case.formatted_path, response.status_code)
        else:
            assert response.status_code == 401, (case.method, case.formatted_path, response.status_code)
            assert response.json()["error"], "a 401 says what to send"

    assert exercise(api, mode, check) == []


@pytest.mark.parametrize("who", ["root", "anna"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_signed_in_requests_are_answered_as_the_document_says(
    api: Any, served: Served, who: str, mode: GenerationMode
) -> None:
    def check(case: Case) -> None:
        response = case.call_and_validate(checks=CHECKS, **_credentials(served, case, who))
        if who == "anna" and response.status_code == 200 and case.method == "GET":
            schools = set(re.findall(r'"school":"([^"]*)"', response.text))
            assert schools <= {"bbg", "hhg"}, "never another school's data"

    assert exercise(api, mode, check) == []

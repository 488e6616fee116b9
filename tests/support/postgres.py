"""The tests' PostgreSQL: one server (``sim.postgres``) for the whole session, and a fresh database for
each test that asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from campuswatch.collector.store.location import PostgresLocation
from sim.postgres import PASSWORD, ROLE, PostgresMissing, PostgresServer, remove_server, start_server

__all__ = ["PASSWORD", "ROLE", "PostgresServer", "postgres_db", "postgres_server"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session."""
    try:
        server = start_server()
    except PostgresMissing as err:
        pytest.fail(str(err), pytrace=False)
    try:
        yield server
    finally:
        remove_server(server)


@pytest.fixture
def postgres_db(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> PostgresLocation:
    """A fresh database for one test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[-50:].lower()
    return postgres_server.create_database(name)

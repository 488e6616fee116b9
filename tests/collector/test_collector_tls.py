"""HTTPS: the collector serves with its certificate and, given a client CA, only to agents that show one."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from campuswatch.collector.config import TlsSection
from campuswatch.report import encode
from sim.collector import (
    IMMEDIATE_RULES,
    RunningCollector,
    agent_headers,
    poll_event,
    report,
    running_collector,
)
from tests.support.pki import Pki


@pytest.fixture
async def collector(tmp_path: Path, pki: Pki) -> AsyncIterator[RunningCollector]:
    tls = TlsSection(cert=pki.server_cert, key=pki.server_key, client_ca=pki.ca)
    async with running_collector(
        tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES, tls=tls
    ) as c:
        yield c


async def post_report(collector: RunningCollector, context: ssl.SSLContext) -> int:
    body = encode(report("bbg", [poll_event(1, "pr1", at=1.0)]))
    headers = agent_headers(collector.tokens["bbg"])
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{collector.url}/api/v1/reports", data=body, headers=headers, ssl=context) as resp,
    ):
        return resp.status


async def test_agent_with_a_client_certificate_reports_over_https(
    collector: RunningCollector, pki: Pki
) -> None:
    assert collector.url.startswith("https://127.0.0.1:")
    assert await post_report(collector, pki.client_context(with_cert=True)) == 200


async def test_agent_without_a_client_certificate_is_refused_and_the_collector_keeps_serving(
    collector: RunningCollector, pki: Pki
) -> None:
    with pytest.raises(aiohttp.ClientError):
        await post_report(collector, pki.client_context(with_cert=False))
    assert await post_report(collector, pki.client_context(with_cert=True)) == 200

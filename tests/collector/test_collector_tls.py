"""HTTPS: the collector serves with its certificate and, given a client CA, only to agents that show one."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from campuswatch.collector.config import TlsSection
from campuswatch.report import encode
from sim.collector import IMMEDIATE_RULES, RunningCollector, poll_event, report, running_collector


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def issue(name: str, cn: str, cwd: Path, *, ext: str) -> None:
    """A key and a certificate for ``cn`` signed by the test CA in ``cwd``."""
    (cwd / f"{name}.ext").write_text(ext)
    openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        "-subj",
        f"/CN={cn}",
        cwd=cwd,
    )
    openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        f"{name}.pem",
        "-days",
        "2",
        "-extfile",
        f"{name}.ext",
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and an agent's client certificate, made with openssl."""
    d = tmp_path_factory.mktemp("pki")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=campuswatch test CA",
        cwd=d,
    )
    issue("server", "127.0.0.1", d, ext="subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    issue("agent", "gw-bbg", d, ext="extendedKeyUsage=clientAuth\n")
    return d


@pytest.fixture
async def collector(tmp_path: Path, pki: Path) -> AsyncIterator[RunningCollector]:
    tls = TlsSection(cert=pki / "server.pem", key=pki / "server.key", client_ca=pki / "ca.pem")
    async with running_collector(
        tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES, tls=tls
    ) as c:
        yield c


def client_context(pki: Path, *, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    if with_cert:
        context.load_cert_chain(pki / "agent.pem", pki / "agent.key")
    return context


async def post_report(collector: RunningCollector, context: ssl.SSLContext) -> int:
    body = encode(report("bbg", [poll_event(1, "pr1", at=1.0)]))
    headers = {"Authorization": f"Bearer {collector.tokens['bbg']}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{collector.url}/api/v1/reports", data=body, headers=headers, ssl=context) as resp,
    ):
        return resp.status


async def test_agent_with_a_client_certificate_reports_over_https(
    collector: RunningCollector, pki: Path
) -> None:
    assert collector.url.startswith("https://127.0.0.1:")
    assert await post_report(collector, client_context(pki, with_cert=True)) == 200


async def test_agent_without_a_client_certificate_is_refused_and_the_collector_keeps_serving(
    collector: RunningCollector, pki: Path
) -> None:
    with pytest.raises(aiohttp.ClientError):
        await post_report(collector, client_context(pki, with_cert=False))
    assert await post_report(collector, client_context(pki, with_cert=True)) == 200

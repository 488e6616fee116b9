"""DNS-SD: pure TXT parsing into discovered devices, and browsing a python-zeroconf publisher on loopback."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from campuswatch.agent.discovery.mdns import MdnsService, browse, parse_txt, service_to_device


def service(
    type_: str,
    instance: str,
    txt: dict[str | bytes, str | bytes | None],
    port: int = 631,
    addresses: tuple[str, ...] = ("10.1.2.30",),
) -> MdnsService:
    """A resolved service whose TXT record went through parse_txt, as browse() hands it over."""
    return MdnsService(
        type=type_,
        name=f"{instance}.{type_}",
        server="x.local.",
        addresses=addresses,
        port=port,
        txt=parse_txt(txt),
    )


def test_parse_txt_lowercases_keys_and_tolerates_flags_and_bad_bytes() -> None:
    txt = parse_txt({b"UUID": b"ABC", b"Color": b"T", b"flag": None, b"note": b"Raum \xff101"})
    assert txt == {"uuid": "ABC", "color": "T", "flag": "", "note": "Raum \ufffd101"}


def test_ipp_printer_txt_gives_model_location_uuid_and_ipp_url() -> None:
    device = service_to_device(
        service(
            "_ipp._tcp.local.",
            "Raum 204 Drucker",
            {
                "rp": "ipp/print",
                "ty": "HP LaserJet M404dn",
                "product": "(HP LaserJet M404dn)",
                "note": "Raum 204",
                "uuid": "6C2B6E0A-0000-4000-8000-000000000204",
                "adminurl": "http://10.1.2.30/",
                "usb_mfg": "HP",
                "usb_mdl": "LaserJet M404dn",
            },
        )
    )
    assert device is not None
    assert (device.kind, device.address, device.name) == ("printer", "10.1.2.30", "Raum 204 Drucker")
    assert (device.vendor, device.model, device.location) == ("HP", "HP LaserJet M404dn", "Raum 204")
    assert device.uuid == "6c2b6e0a-0000-4000-8000-000000000204"
    assert device.urls == ["ipp://10.1.2.30:631/ipp/print", "http://10.1.2.30/"]
    assert device.methods == ["mdns:_ipp._tcp"]


def test_product_without_ty_and_ipps_url() -> None:
    device = service_to_device(
        service("_ipps._tcp.local.", "P", {"product": "(Brother HL-L2350DW)", "rp": "/ipp/print"}, port=443)
    )
    assert device is not None
    assert device.model == "Brother HL-L2350DW"
    assert device.urls == ["ipps://10.1.2.30:443/ipp/print"]


def test_raw_port_9100_printer_is_a_printer() -> None:
    device = service_to_device(
        service("_pdl-datastream._tcp.local.", "Kopierer", {"usb_MDL": "bizhub C258"}, port=9100)
    )
    assert device is not None
    assert (device.kind, device.model, device.urls) == ("printer", "bizhub C258", [])


def test_googlecast_friendly_name_model_and_dashless_id() -> None:
    device = service_to_device(
        service(
            "_googlecast._tcp.local.",
            "Chromecast-abc",
            {"md": "Chromecast Ultra", "fn": "Beamer Aula", "id": "0123456789abcdef0123456789ABCDEF"},
            port=8009,
        )
    )
    assert device is not None
    assert (device.kind, device.name, device.model) == ("display", "Beamer Aula", "Chromecast Ultra")
    assert device.uuid == "01234567-89ab-cdef-0123-456789abcdef"


def test_airplay_deviceid_is_the_mac() -> None:
    device = service_to_device(
        service(
            "_airplay._tcp.local.",
            "Board-R204",
            {"model": "FakeBoard1", "deviceid": "AA:BB:CC:DD:EE:04"},
            port=7000,
        )
    )
    assert device is not None
    assert (device.kind, device.model, device.mac) == ("display", "FakeBoard1", "aa:bb:cc:dd:ee:04")


def test_pjlink_service_is_a_projector_with_a_pjlink_url() -> None:
    device = service_to_device(service("_pjlink._tcp.local.", "Beamer 12", {}, port=4352))
    assert device is not None
    assert (device.kind, device.urls) == ("projector", ["pjlink://10.1.2.30:4352"])


def test_service_without_ipv4_address_is_no_device() -> None:
    assert service_to_device(service("_ipp._tcp.local.", "v6 only", {}, addresses=())) is None


@pytest.fixture
async def publisher() -> AsyncIterator[list[AsyncServiceInfo]]:
    """A python-zeroconf publisher on 127.0.0.1 with a printer and a display, unique names per test."""
    tag = uuid.uuid4().hex[:8]
    azc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    infos = [
        AsyncServiceInfo(
            "_ipp._tcp.local.",
            f"Raum-204-Drucker-{tag}._ipp._tcp.local.",
            addresses=[socket.inet_aton("127.0.0.1")],
            port=631,
            server=f"prn204-{tag}.local.",
            properties={
                "txtvers": "1",
                "rp": "ipp/print",
                "ty": "Fake Laser 123",
                "note": "Raum 204",
                "UUID": f"6c2b6e0a-0000-4000-8000-0000{tag}",
            },
        ),
        AsyncServiceInfo(
            "_airplay._tcp.local.",
            f"Board-R204-{tag}._airplay._tcp.local.",
            addresses=[socket.inet_aton("127.0.0.1")],
            port=7000,
            server=f"board204-{tag}.local.",
            properties={"model": "FakeBoard1", "deviceid": "AA:BB:CC:DD:EE:04"},
        ),
    ]
    # register returns once probing is done; the inner awaitable once the announcements went out.
    for info in infos:
        await (await azc.async_register_service(info))
    yield infos
    for info in infos:
        await (await azc.async_unregister_service(info))
    await azc.async_close()


@pytest.mark.integration
async def test_browse_on_loopback_finds_and_resolves_the_published_services(
    publisher: list[AsyncServiceInfo],
) -> None:
    services = await browse(3.0, interfaces=["127.0.0.1"])
    by_name = {s.name: s for s in services}
    printer = by_name[publisher[0].name]
    board = by_name[publisher[1].name]
    assert (printer.addresses, printer.port, printer.txt["ty"], printer.txt["rp"]) == (
        ("127.0.0.1",),
        631,
        "Fake Laser 123",
        "ipp/print",
    )
    assert board.txt["deviceid"] == "AA:BB:CC:DD:EE:04"
    devices = [service_to_device(s) for s in (printer, board)]
    assert [(d.kind, d.model) for d in devices if d] == [
        ("printer", "Fake Laser 123"),
        ("display", "FakeBoard1"),
    ]


@pytest.mark.integration
async def test_browse_limited_to_one_type_sees_only_that_type(publisher: list[AsyncServiceInfo]) -> None:
    services = await browse(2.0, interfaces=["127.0.0.1"], types=["_airplay._tcp.local."])
    names = {s.name for s in services}
    assert publisher[1].name in names
    assert publisher[0].name not in names

"""DNS-SD (mDNS) browsing for printers, displays and projectors, with python-zeroconf's asyncio API.

:func:`browse` is the only code that touches the network: it listens for a while and resolves every
instance of the service types schools' devices announce. Turning a resolved service into a
:class:`~campuswatch.report.DiscoveredDevice` (:func:`service_to_device`, :func:`parse_txt`) is pure.

Browsing sees what devices *announce*; a device unplugged without a goodbye stays in peers' caches for
the PTR TTL (75 min), so presence is checked by polling, never by browsing alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from campuswatch.report import DeviceKind, DiscoveredDevice

log = logging.getLogger(__name__)

#: Service types a school's devices announce, and the kind each suggests.
SERVICE_KINDS: dict[str, DeviceKind] = {
    "_ipp._tcp.local.": "printer",
    "_ipps._tcp.local.": "printer",
    "_printer._tcp.local.": "printer",
    "_pdl-datastream._tcp.local.": "printer",
    "_pjlink._tcp.local.": "projector",
    "_airplay._tcp.local.": "display",
    "_googlecast._tcp.local.": "display",
    "_raop._tcp.local.": "display",
    "_http._tcp.local.": "unknown",
}
DEFAULT_TYPES: tuple[str, ...] = tuple(SERVICE_KINDS)
#: How long one instance may take to resolve (SRV/TXT/A queries), in milliseconds.
RESOLVE_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class MdnsService:
    """One resolved DNS-SD service instance."""

    type: str
    name: str
    server: str | None
    addresses: tuple[str, ...]
    port: int | None
    txt: Mapping[str, str] = field(default_factory=dict)

    @property
    def instance(self) -> str:
        """The instance name without the service type: ``Raum 204 Drucker``."""
        suffix = "." + self.type
        return self.name[: -len(suffix)] if self.name.endswith(suffix) else self.name


def parse_txt(properties: Mapping[Any, bytes | str | None]) -> dict[str, str]:
    """TXT record -> {lower-case key: text}. Keys are case-insensitive (RFC 6763 6.4); a key without
    value (a boolean flag) maps to "" and bytes that are not UTF-8 are replaced, never fatal."""
    txt: dict[str, str] = {}
    for key, value in properties.items():
        name = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")
        txt.setdefault(name.strip().lower(), text.strip())
    return txt


def _product(txt: Mapping[str, str]) -> str | None:
    """Bonjour Printing's product key is ``(Model Name)``; the parentheses are syntax, not name."""
    product = txt.get("product", "").strip()
    if product.startswith("(") and product.endswith(")"):
        product = product[1:-1].strip()
    return product or None


def _normalize_uuid(value: str | None) -> str | None:
    """``urn:uuid:6C2B...`` / ``6c2b...`` -> lower-case uuid text; googlecast ids come without dashes."""
    if not value:
        return None
    text = value.strip().lower().removeprefix("urn:uuid:")
    if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
        text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text or None


def _normalize_mac(value: str | None) -> str | None:
    """AirPlay's deviceid is the MAC: ``AA:BB:CC:DD:EE:04`` -> ``aa:bb:cc:dd:ee:04``; anything else None."""
    if not value:
        return None
    parts = value.strip().replace("-", ":").split(":")
    if len(parts) == 6 and all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts):
        return ":".join(p.lower() for p in parts)
    return None


def _service_urls(service: MdnsService, address: str, txt: Mapping[str, str]) -> list[str]:
    """URLs to read the device by: IPP queue from ``rp``, PJLink port, the admin page."""
    urls = []
    port = service.port
    if service.type in ("_ipp._tcp.local.", "_ipps._tcp.local.") and port:
        scheme = "ipps" if service.type.startswith("_ipps") else "ipp"
        urls.append(f"{scheme}://{address}:{port}/{txt.get('rp', 'ipp/print').lstrip('/')}")
    elif service.type == "_pjlink._tcp.local." and port:
        urls.append(f"pjlink://{address}:{port}")
    if txt.get("adminurl"):
        urls.append(txt["adminurl"])
    return urls


def service_to_device(service: MdnsService) -> DiscoveredDevice | None:
    """What one DNS-SD service says about its device; None when it has no IPv4 address to reach it by.

    Printers: ty / product / usb_MFG+usb_MDL name the model, note the location, UUID the identity.
    Google Cast: md (model), fn (friendly name), id (uuid). AirPlay: model, deviceid (the MAC).
    """
    if not service.addresses:
        return None
    txt = service.txt
    address = service.addresses[0]
    vendor = txt.get("usb_mfg") or txt.get("manufacturer") or None
    model = txt.get("ty") or _product(txt) or txt.get("usb_mdl") or txt.get("md") or txt.get("model") or None
    return DiscoveredDevice(
        address=address,
        # A port-0 _printer._tcp is only a name reservation (Bonjour Printing 1.2.1): still a printer.
        kind=SERVICE_KINDS.get(service.type, "unknown"),
        methods=[f"mdns:{service.type.removesuffix('.local.')}"],
        name=txt.get("fn") or service.instance,
        vendor=vendor,
        model=model,
        mac=_normalize_mac(txt.get("deviceid")),
        uuid=_normalize_uuid(txt.get("uuid") or txt.get("id")),
        other_addresses=list(service.addresses[1:]),
        location=txt.get("note") or None,
        urls=_service_urls(service, address, txt),
    )


def _to_service(info: AsyncServiceInfo) -> MdnsService:
    return MdnsService(
        type=info.type,
        name=info.name,
        server=info.server,
        addresses=tuple(info.parsed_addresses(IPVersion.V4Only)),
        port=info.port,
        txt=parse_txt(info.properties),
    )


async def browse(
    duration_s: float,
    interfaces: Sequence[str] | None = None,
    types: Sequence[str] = DEFAULT_TYPES,
) -> list[MdnsService]:
    """Listen ``duration_s`` seconds for the given service types and resolve every instance seen.

    ``interfaces``: IPv4 addresses to bind to (e.g. ``["127.0.0.1"]`` in tests, the school LAN address on
    a gateway); all interfaces by default. IPv4 only: the agent polls devices by IPv4 address.
    """
    azc = AsyncZeroconf(
        interfaces=list(interfaces) if interfaces else InterfaceChoice.All, ip_version=IPVersion.V4Only
    )
    found: dict[str, MdnsService] = {}
    pending: set[asyncio.Task[None]] = set()

    async def resolve(service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if await info.async_request(azc.zeroconf, RESOLVE_TIMEOUT_MS):
            found[name] = _to_service(info)
            log.debug("mdns resolved", extra={"service": name, "addresses": found[name].addresses})
        else:
            log.debug("mdns did not resolve", extra={"service": name})

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        # Handlers are called by keyword; Updated means a changed TXT record: resolve again.
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            task = asyncio.create_task(resolve(service_type, name))
            pending.add(task)
            task.add_done_callback(pending.discard)
        elif state_change is ServiceStateChange.Removed:
            found.pop(name, None)

    browser = AsyncServiceBrowser(azc.zeroconf, list(types), handlers=[on_change])
    try:
        await asyncio.sleep(duration_s)
    finally:
        await browser.async_cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await azc.async_close()
    log.info("mdns browse done", extra={"services": len(found), "seconds": duration_s})
    return sorted(found.values(), key=lambda s: (s.type, s.name))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m campuswatch.agent.discovery.mdns SECONDS [--interface IP ...]``: browse and print the devices as JSON lines.

    For a look at what a school network announces, and for tests that browse from inside a namespace.
    """
    import argparse
    import json

    from campuswatch.report import to_builtins

    parser = argparse.ArgumentParser(
        prog="python -m campuswatch.agent.discovery.mdns", description=main.__doc__
    )
    parser.add_argument("seconds", type=float, help="how long to listen")
    parser.add_argument("--interface", action="append", help="IPv4 address to browse on (repeatable)")
    args = parser.parse_args(argv)
    services = asyncio.run(browse(args.seconds, interfaces=args.interface))
    for device in (service_to_device(s) for s in services):
        if device is not None:
            print(json.dumps(to_builtins(device), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

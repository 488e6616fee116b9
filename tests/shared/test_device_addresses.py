"""Device addresses as the configs write them: one parser for the agent's targets and the collector's matching."""

from __future__ import annotations

import pytest

from campuswatch.devices import address_host, split_host_port


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.5", ("10.0.0.5", 161)),
        ("10.0.0.5:1161", ("10.0.0.5", 1161)),
        ("[fe80::1]:162", ("fe80::1", 162)),
        ("[fe80::1]", ("fe80::1", 161)),
        ("fe80::1", ("fe80::1", 161)),  # a bare IPv6 address has no port
        ("drucker.schule.local", ("drucker.schule.local", 161)),
    ],
)
def test_split_host_port(address: str, expected: tuple[str, int]) -> None:
    assert split_host_port(address, 161) == expected


def test_a_port_that_is_no_number_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        split_host_port("10.0.0.5:snmp", 161)


@pytest.mark.parametrize(
    ("address", "host"),
    [
        ("10.0.0.5:1161", "10.0.0.5"),
        ("[fe80::1]:161", "fe80::1"),
        ("pjlink://10.0.0.41:4352", "10.0.0.41"),
        ("ipp://10.0.0.3:631/ipp/print", "10.0.0.3"),
        ("10.0.0.5", "10.0.0.5"),
    ],
)
def test_address_host(address: str, host: str) -> None:
    assert address_host(address) == host

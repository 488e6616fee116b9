"""read_display over real TCP on loopback against the display simulator, for BenQ and ViewSonic."""

from __future__ import annotations

import pytest

from campuswatch.agent.errors import DeviceReplyError, DeviceUnreachable
from campuswatch.agent.protocols.display import DisplayReader, Protocol, read_display
from campuswatch.agent.protocols.reader import BadUrl, ReadTarget
from sim.display import DisplaySimulator, DisplayState

SHORT = 0.5
PROTOCOLS: tuple[Protocol, ...] = ("benq", "viewsonic")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_display_on_with_picture_has_no_problem(protocol: Protocol) -> None:
    async with DisplaySimulator(DisplayState(protocol=protocol)) as sim:
        reading = await read_display("127.0.0.1", sim.port, protocol)
    assert reading.kind == "display" and reading.address == f"127.0.0.1:{sim.port}"
    assert reading.display is not None
    assert (reading.display.power, reading.display.signal) == ("on", "stable")
    assert reading.problems == [] and reading.partial == {}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_display_on_without_signal_is_kein_bild(protocol: Protocol) -> None:
    async with DisplaySimulator(DisplayState(protocol=protocol, signal="none")) as sim:
        reading = await read_display("127.0.0.1", sim.port, protocol)
    assert reading.display is not None and reading.display.signal == "none"
    assert [(p.code, p.severity) for p in reading.problems] == [("display_no_signal", "warning")]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_display_in_standby_is_no_problem(protocol: Protocol) -> None:
    state = DisplayState(protocol=protocol, power="standby", signal="none")
    async with DisplaySimulator(state) as sim:
        reading = await read_display("127.0.0.1", sim.port, protocol)
    assert reading.display is not None
    assert (reading.display.power, reading.display.signal) == ("standby", None)
    assert reading.problems == []


async def test_viewsonic_reports_the_input() -> None:
    async with DisplaySimulator(DisplayState(protocol="viewsonic", input="14")) as sim:
        reading = await read_display("127.0.0.1", sim.port, "viewsonic")
    assert reading.display is not None and reading.display.input == "HDMI2"


async def test_wrong_protocol_is_refused_and_noted() -> None:
    # A ViewSonic panel knows no BenQ signal query: it answers '-', the field is noted as missing.
    async with DisplaySimulator(DisplayState(protocol="viewsonic")) as sim:
        reading = await read_display("127.0.0.1", sim.port, "benq")
    assert reading.display is not None and reading.display.signal is None
    assert list(reading.partial) == ["display.signal"]


async def test_other_set_id_gets_no_reading() -> None:
    async with DisplaySimulator(DisplayState(display_id=2)) as sim:
        reading = await read_display("127.0.0.1", sim.port, "benq")
    assert reading.display is not None and reading.display.power is None
    assert list(reading.partial) == ["display.power"]


async def test_garbage_is_a_reply_error() -> None:
    async with DisplaySimulator(DisplayState(mode="garbage")) as sim:
        with pytest.raises(DeviceReplyError):
            await read_display("127.0.0.1", sim.port, "benq", timeout_s=SHORT)


async def test_silent_display_is_unreachable() -> None:
    async with DisplaySimulator(DisplayState(mode="silent")) as sim:
        with pytest.raises(DeviceUnreachable, match="no answer"):
            await read_display("127.0.0.1", sim.port, "benq", timeout_s=SHORT)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_reader_picks_the_protocol_from_the_scheme(protocol: Protocol) -> None:
    async with DisplaySimulator(DisplayState(protocol=protocol, signal="none")) as sim:
        reading = await DisplayReader().read(ReadTarget("d", f"{protocol}://127.0.0.1:{sim.port}", SHORT))
    assert [p.code for p in reading.problems] == ["display_no_signal"]


async def test_the_reader_rejects_other_schemes() -> None:
    with pytest.raises(BadUrl, match="benq://HOST"):
        await DisplayReader().read(ReadTarget("d", "pjlink://127.0.0.1"))


async def test_samsung_reports_identity_power_signal_and_temperature() -> None:
    async with DisplaySimulator(DisplayState(protocol="samsung", model="QB55", serial="S1")) as sim:
        reading = await read_display("127.0.0.1", sim.port, "samsung")
    assert (reading.system.vendor, reading.system.model, reading.system.serial) == ("Samsung", "QB55", "S1")
    assert reading.display is not None and (reading.display.power, reading.display.signal) == ("on", "stable")
    assert [(s.kind, s.value) for s in reading.sensors] == [("temperature", 41.0)]
    assert reading.problems == [] and reading.partial == {}


async def test_samsung_without_signal_and_with_broken_fan() -> None:
    state = DisplayState(protocol="samsung", signal="none", fan_error=True)
    async with DisplaySimulator(state) as sim:
        reading = await DisplayReader().read(ReadTarget("d", f"samsung://127.0.0.1:{sim.port}", SHORT))
    assert {p.code for p in reading.problems} == {"display_no_signal", "display_fan"}


async def test_samsung_in_standby_is_not_asked_for_errors() -> None:
    async with DisplaySimulator(DisplayState(protocol="samsung", power="standby", fan_error=True)) as sim:
        reading = await read_display("127.0.0.1", sim.port, "samsung")
    assert reading.display is not None and reading.display.power == "standby"
    assert reading.problems == [] and reading.sensors == []


async def test_samsung_of_another_display_id_stays_silent() -> None:
    async with DisplaySimulator(DisplayState(protocol="samsung", display_id=5)) as sim:
        with pytest.raises(DeviceUnreachable):
            await read_display("127.0.0.1", sim.port, "samsung", timeout_s=SHORT)
        reading = await read_display("127.0.0.1", sim.port, "samsung", timeout_s=SHORT, display_id=5)
    assert reading.display is not None and reading.display.power == "on"


async def test_samsung_tls_only_firmware_is_a_clear_reply_error() -> None:
    async with DisplaySimulator(DisplayState(protocol="samsung", tls=True)) as sim:
        with pytest.raises(DeviceReplyError, match="TLS"):
            await read_display("127.0.0.1", sim.port, "samsung", timeout_s=SHORT)


async def test_samsung_garbage_is_a_reply_error() -> None:
    async with DisplaySimulator(DisplayState(protocol="samsung", mode="garbage")) as sim:
        with pytest.raises(DeviceReplyError, match="not an MDC response"):
            await read_display("127.0.0.1", sim.port, "samsung", timeout_s=SHORT)

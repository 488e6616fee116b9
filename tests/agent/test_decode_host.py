"""HOST-RESOURCES-MIB storage and processor load: every shared recording that has them decodes to its
raw values (the oracle does not hold them), and a full disk is a problem (of the collector's thresholds,
judged here from the decoded reading)."""

from __future__ import annotations

import pytest

from campuswatch.agent.protocols.snmp.decode import SYSTEM_PLAN, classify, decode_device, plan_for
from campuswatch.report import DeviceReading, Storage
from sim.snmprec import load_snmprec, parse_snmprec, restrict_to_plan
from tests.support.judge import judged
from tests.support.paths import DEVICES

STORAGE = "1.3.6.1.2.1.25.2.3.1"
CPU = "1.3.6.1.2.1.25.3.3.1.2"
#: Recordings of hosts and gateways with an hrStorageTable or hrProcessorTable.
WITH_HOST_RESOURCES = [
    "host/linux_raspberrypi-gpiomonitor",
    "gateway/pfsense",
    "gateway/edgeos",
    "gateway/sophos-xg_sg230",
]


def _as_polled(name: str) -> tuple[DeviceReading, dict[tuple[int, ...], object]]:
    raw = load_snmprec(DEVICES / f"{name}.snmprec")
    classification = classify(restrict_to_plan(raw, SYSTEM_PLAN))
    fetched = restrict_to_plan(raw, SYSTEM_PLAN.merged(plan_for(classification)))
    return decode_device("192.0.2.1", fetched, classification), raw  # type: ignore[return-value]


@pytest.mark.recordings
@pytest.mark.parametrize("name", WITH_HOST_RESOURCES)
def test_every_storage_row_and_processor_load_as_recorded(name: str) -> None:
    reading, raw = _as_polled(name)
    assert reading.kind in ("host", "gateway") and reading.partial == {}
    rows = sorted(k[-1] for k in raw if k[:-1] == (1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 3))
    assert [s.index for s in reading.storage] == rows
    for storage in reading.storage:
        column = {n: raw.get((1, 3, 6, 1, 2, 1, 25, 2, 3, 1, n, storage.index)) for n in (3, 4, 5, 6)}
        units = column[4]
        descr = column[3]
        assert isinstance(descr, bytes) and storage.descr == descr.decode()
        if units:  # an allocation unit of 0 (pfSense's empty MALLOC pools) gives no size
            assert (storage.size_bytes, storage.used_bytes) == (column[5] * units, column[6] * units)  # type: ignore[operator]
        else:
            assert (storage.size_bytes, storage.used_bytes) == (None, None)
    loads = [v for k, v in raw.items() if k[:-1] == (1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2)]
    assert reading.cpu_percent == round(sum(loads) / len(loads), 1)  # type: ignore[arg-type]
    assert [p for p in judged(reading) if p[0] == "storage_full"] == []


@pytest.mark.recordings
def test_the_disks_of_the_raspberry_pi() -> None:
    reading, _ = _as_polled("host/linux_raspberrypi-gpiomonitor")
    disks = {s.descr: s for s in reading.storage if s.disk}
    assert sorted(disks) == ["/", "/boot", "/run", "/run/user/0"]  # not /dev/shm, /run/lock, /sys/fs/cgroup
    root = disks["/"]
    assert (root.type, root.size_bytes, root.used_bytes, root.used_percent) == (
        "fixedDisk",
        3657824 * 4096,
        625707 * 4096,
        17.1,
    )
    memory = next(s for s in reading.storage if s.descr == "Physical memory")
    assert (memory.type, memory.disk) == ("ram", False)


@pytest.mark.recordings
def test_pfsense_file_systems_typed_by_hrfstype() -> None:
    """bsnmpd types file systems with hrFSTypes; devfs (hrFSOther) is always full and no disk."""
    reading, _ = _as_polled("gateway/pfsense")
    assert len(reading.storage) == 593  # kernel memory pools included: they are what the device says
    disks = [(s.descr.split(",")[0], s.type) for s in reading.storage if s.disk]
    assert disks == [("/", "berkeleyFFS"), ("/var/run", "berkeleyFFS")]
    devfs = next(s for s in reading.storage if s.descr.startswith("/dev,"))
    assert (devfs.type, devfs.used_percent, devfs.disk) == ("other", 100.0, False)


def _disk(used: int, descr: str = "/", type_: int = 4, units: int = 4096, size: int = 1000) -> list[str]:
    return [
        f"{STORAGE}.2.31|6|1.3.6.1.2.1.25.2.1.{type_}",
        f"{STORAGE}.3.31|4|{descr}",
        f"{STORAGE}.4.31|2|{units}",
        f"{STORAGE}.5.31|2|{size}",
        f"{STORAGE}.6.31|2|{used}",
    ]


def _storage(*lines: str) -> tuple[Storage, list[tuple[str, str, str]]]:
    reading = decode_device(
        "192.0.2.1", parse_snmprec(["1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10", *lines])
    )
    assert reading.partial == {}
    assert reading.problems == []  # a full disk is no fault the device asserts
    return reading.storage[0], [(code, severity, subject) for code, severity, _, subject in judged(reading)]


def test_a_nearly_full_disk_is_a_warning_then_critical() -> None:
    assert _storage(*_disk(899))[1] == []
    assert _storage(*_disk(900))[1] == [("storage_full", "warning", "/")]
    assert _storage(*_disk(950))[1] == [("storage_full", "critical", "/")]


def test_full_memory_and_read_only_images_are_not_full_disks() -> None:
    assert _storage(*_disk(1000, type_=2, descr="Physical memory"))[1] == []
    assert _storage(*_disk(1000, descr="/snap/core20/1234"))[1] == []


def test_sizes_that_ran_over_integer32_read_unsigned() -> None:
    """hrStorageSize is Integer32: a 16 TiB disk in 4 KiB units counts past 2^31 into negative numbers."""
    storage, _ = _storage(*_disk(-(2**31), size=-1, units=4096))
    assert (storage.size_bytes, storage.used_bytes) == ((2**32 - 1) * 4096, 2**31 * 4096)
    assert storage.used_percent == 50.0


def test_processor_load_is_the_mean_of_the_processors() -> None:
    reading = decode_device("192.0.2.1", parse_snmprec([f"{CPU}.196608|2|30", f"{CPU}.196609|2|60"]))
    assert reading.cpu_percent == 45.0
    assert decode_device("192.0.2.1", parse_snmprec([])).cpu_percent is None

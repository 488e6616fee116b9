"""``campuswatch-agent``: run the agent on a school's gateway, or probe one device by hand."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import get_args, get_type_hints

from campuswatch import __version__
from campuswatch.agent.config import MIN_V3_KEY_LENGTH
from campuswatch.agent.protocols.reader import BadUrl, ReadTarget
from campuswatch.agent.protocols.snmp.transport.types import V3User
from campuswatch.config import ConfigError, Secret
from campuswatch.logs import add_logging_arguments, setup_logging
from campuswatch.report import DeviceReading, to_builtins

EXIT_DEVICE_FAILED = 2
EXIT_CONFIG = 2

DESCRIPTION = """\
campuswatch agent: watches a school's printers, projectors, displays, switches, access points and UPSes
and reports what it sees to the central collector, which opens helpdesk tickets.

  campuswatch-agent run --config /etc/campuswatch/agent.yaml     the service (systemd runs this)
  campuswatch-agent probe 10.1.2.3 --community public            read one device once and show it
  campuswatch-agent discover --subnet 10.1.2.0/24                find the school's devices
  campuswatch-agent check --config /etc/campuswatch/agent.yaml   the network as the iPads see it, once
"""


AUTH_PROTOCOLS: tuple[str, ...] = get_args(get_type_hints(V3User)["auth_protocol"])
PRIV_PROTOCOLS: tuple[str, ...] = get_args(get_type_hints(V3User)["priv_protocol"])


def _one_of(allowed: Sequence[str]) -> Callable[[str], str]:
    """An argparse type for a choice whose error does not echo what was typed (it may be a key typed
    into the wrong option)."""

    def parse(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(f"must be one of: {', '.join(allowed)}")
        return text

    return parse


def _number(kind: type[float] | type[int], low: float, high: float) -> Callable[[str], float]:
    """An argparse type for a number within [low, high]."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number from {low:g} to {high:g}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a number from {low:g} to {high:g}")
        return value

    return parse


def _probe_args(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "probe",
        help="read one device once and print what was found",
        description="Read one device once and print what campuswatch sees: kind, model, supplies, ports, "
        "problems. Exit status 2 (and one line saying what failed) when the device does not answer, "
        "refuses the credentials or answers garbage.",
    )
    p.add_argument(
        "target",
        help="HOST[:PORT] or snmp://HOST[:PORT] for SNMP (port 161 by default), or pjlink://HOST[:PORT], "
        "ipp://HOST:PORT/PATH (or ipps://), benq://HOST[:PORT], viewsonic://HOST[:PORT], "
        "samsung://HOST[:PORT] (display LAN control), ping://HOST (present or not)",
    )
    p.add_argument(
        "--community",
        default=os.environ.get("CAMPUSWATCH_COMMUNITY", "public"),
        help="SNMP v1/v2c community (default: $CAMPUSWATCH_COMMUNITY or 'public')",
    )
    p.add_argument(
        "--version", dest="snmp_version", choices=["1", "2c", "3"], default="2c", help="SNMP version"
    )
    p.add_argument("--user", help="SNMPv3 user")
    p.add_argument(
        "--auth-protocol",
        default="sha",
        type=_one_of(AUTH_PROTOCOLS),
        help=f"SNMPv3 auth: {', '.join(AUTH_PROTOCOLS)} (default sha)",
    )
    p.add_argument(
        "--auth-key", default=os.environ.get("CAMPUSWATCH_AUTH_KEY"), help="SNMPv3 auth passphrase"
    )
    p.add_argument(
        "--priv-protocol",
        default="aes128",
        type=_one_of(PRIV_PROTOCOLS),
        help=f"SNMPv3 privacy: {', '.join(PRIV_PROTOCOLS)} (default aes128)",
    )
    p.add_argument(
        "--priv-key", default=os.environ.get("CAMPUSWATCH_PRIV_KEY"), help="SNMPv3 privacy passphrase"
    )
    p.add_argument("--password", default=os.environ.get("CAMPUSWATCH_PASSWORD"), help="PJLink password")
    p.add_argument(
        "--timeout",
        type=_number(float, 0.01, 60),
        default=2.0,
        help="seconds to wait for each answer (default 2)",
    )
    p.add_argument(
        "--retries", type=_number(int, 0, 10), default=1, help="retries after a timeout (default 1)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts and tests)")


def build_parser() -> argparse.ArgumentParser:
    """The command line, with a --help that explains each subcommand."""
    parser = argparse.ArgumentParser(
        prog="campuswatch-agent",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"campuswatch {__version__}")
    add_logging_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run the agent: poll the configured devices and deliver reports to the collector",
        description="Poll every device in the config on its interval, keep every report in the on-disk "
        "outbox until the collector has acknowledged it, and serve the agent's own /metrics. SIGHUP "
        "reloads the config; SIGTERM delivers what it can and stops.",
    )
    run.add_argument("--config", required=True, help="agent.yaml (see configs/agent.yaml)")
    run.add_argument("--once", action="store_true", help="poll every device once, deliver, and exit")
    _probe_args(sub)
    disc = sub.add_parser(
        "discover",
        help="find the school's devices (SNMP sweep, mDNS, PJLink search) and write an inventory",
        description="Sweep the subnets for SNMP agents with each community / v3 user, browse mDNS / DNS-SD "
        "and search for PJLink projectors; merge what was found per device, classify it, write the "
        "inventory file and show what is new, gone or changed since the last run.",
    )
    from campuswatch.agent.discovery.cli import add_discover_arguments

    add_discover_arguments(disc)
    check = sub.add_parser(
        "check",
        help="run the network checks once: uplink, DNS, services, DHCP pools, AirPlay receivers",
        description="Run the checks of the config's network:, dhcp: and airplay: sections once and show "
        "what they found: loss and latency to the upstream gateway, DNS answers, each service's status and "
        "certificate, the DHCP pools' use, each AirPlay receiver. Nothing is sent to the collector. Exit "
        "status 1 when a check could not run (a DHCP server that cannot be read).",
    )
    from campuswatch.agent.checks.cli import add_check_arguments

    add_check_arguments(check)
    return parser


def _target_from_args(args: argparse.Namespace) -> ReadTarget:
    """What ``probe`` reads: a URL as given, a bare HOST[:PORT] as SNMP, with the credentials given."""
    v3 = None
    if args.snmp_version == "3":
        if not args.user:
            raise SystemExit("campuswatch-agent probe: --version 3 needs --user")
        for option, key in (("--auth-key", args.auth_key), ("--priv-key", args.priv_key)):
            if key and len(key) < MIN_V3_KEY_LENGTH:
                raise SystemExit(
                    f"campuswatch-agent probe: {option} is shorter than {MIN_V3_KEY_LENGTH} characters: "
                    "SNMPv3 (RFC 3414) refuses such keys"
                )
        v3 = V3User(
            user=args.user,
            auth_protocol=args.auth_protocol,
            auth_key=Secret(args.auth_key) if args.auth_key else None,
            priv_protocol=args.priv_protocol,
            priv_key=Secret(args.priv_key) if args.priv_key else None,
        )
    return ReadTarget(
        key=args.target,
        url=args.target if "://" in args.target else f"snmp://{args.target}",
        timeout_s=args.timeout,
        retries=args.retries,
        password=Secret(args.password) if args.password else None,
        snmp_version=args.snmp_version,
        community=Secret(args.community),
        v3=v3,
    )


async def _probe(target: ReadTarget) -> DeviceReading:
    """The agent's own read path, once: the same readers its polls use."""
    from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
    from campuswatch.agent.readers import Readers

    async with SnmpClient() as client:
        return await Readers(client).read(target)


def _print_human(reading: DeviceReading) -> None:
    s = reading.system
    print(f"{reading.address}: {reading.kind}  {s.vendor or '?'} {s.model or ''}".rstrip())
    for label, value in (
        ("name", s.name),
        ("descr", s.descr),
        ("object id", s.object_id),
        ("serial", s.serial),
    ):
        if value:
            print(f"  {label:10} {value}")
    if s.uptime_s is not None:
        print(f"  {'uptime':10} {s.uptime_s / 86400:.1f} days")
    if reading.printer:
        errors = ", ".join(reading.printer.detected_errors) or "none"
        print(f"  printer    {reading.printer.device_status or '?'}, errors: {errors}")
    for supply in reading.supplies:
        level = f"{supply.level_percent:.0f} %" if supply.level_percent is not None else "-"
        # Beside a number "ok" says nothing (whether 8 % is low is the collector's rules' call): left out.
        state = "" if supply.level_percent is not None and supply.state == "ok" else supply.state
        print(f"  supply {supply.index:<3} {supply.description[:40]:40} {level:>6}  {state}".rstrip())
    for tray in reading.trays:
        print(f"  tray {tray.index:<5} {tray.name[:40]:40} {tray.state}")
    if reading.interfaces:
        up = sum(1 for i in reading.interfaces if i.oper_status == "up")
        print(f"  ports      {len(reading.interfaces)} ({up} up)")
    if reading.ups:
        u = reading.ups
        print(
            f"  ups        battery {u.battery_status}, charge {u.charge_percent} %, on battery: {u.on_battery}"
        )
    for lamp in reading.lamps:
        print(f"  lamp       {lamp.hours} h, {'on' if lamp.on else 'off'}")
    for problem in reading.problems:
        print(f"  PROBLEM    [{problem.severity}] {problem.summary}")
    for table, reason in reading.partial.items():
        print(f"  (not read: {table}: {reason})")


def _cmd_probe(args: argparse.Namespace) -> int:
    from campuswatch.agent.errors import DeviceError

    try:
        reading = asyncio.run(_probe(_target_from_args(args)))
    except BadUrl as err:
        raise SystemExit(f"campuswatch-agent probe: {err}") from None
    except DeviceError as err:
        print(f"{args.target}: {err.status}: {err}", file=sys.stderr)
        return EXIT_DEVICE_FAILED
    if args.json:
        print(json.dumps(to_builtins(reading), indent=2, ensure_ascii=False))
    else:
        _print_human(reading)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from campuswatch.agent.config import load_agent_config
    from campuswatch.agent.runner import run_agent

    try:
        config = load_agent_config(args.config)
    except ConfigError as err:
        print(f"campuswatch-agent: {err}", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(run_agent(config, config_path=args.config, once=args.once))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``campuswatch-agent`` console script."""
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    logging.getLogger(__name__).debug("starting", extra={"command": args.command})
    if args.command == "probe":
        return _cmd_probe(args)
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "check":
        from campuswatch.agent.checks.cli import run_check

        return run_check(args)
    from campuswatch.agent.discovery.cli import run_discover

    return run_discover(args)


if __name__ == "__main__":
    sys.exit(main())

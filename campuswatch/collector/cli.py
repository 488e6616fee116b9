"""``campuswatch-collector``: serve reports, API, metrics and status page; create school tokens."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from campuswatch import __version__
from campuswatch.collector.config import CollectorConfig, load_collector_config, load_schools, parse_listen
from campuswatch.collector.http import create_app, start_server
from campuswatch.collector.http.server import ssl_context
from campuswatch.collector.service import CollectorService
from campuswatch.collector.store.connect import open_store
from campuswatch.collector.store.location import BadLocation, parse_location
from campuswatch.collector.store.protocols import StoreError
from campuswatch.collector.store.sql import SqlStore
from campuswatch.collector.tokens import UnknownSchool, create_token
from campuswatch.config import ConfigError, Secret
from campuswatch.logs import add_logging_arguments, setup_logging

log = logging.getLogger("collector")

EXIT_FAILED = 1
EXIT_CONFIG = 2

DESCRIPTION = """\
campuswatch collector: receives the reports of the schools' agents, turns failures into problems and
helpdesk tickets, and shows the fleet as an API, Prometheus metrics and a status page.

  campuswatch-collector serve --config /etc/campuswatch/collector.yaml     the service
  campuswatch-collector token create bert-brecht-gymnasium                 a token for a school's agent
"""


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        help="collector.yaml (see configs/collector.yaml); without it the defaults apply",
    )
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="the store: a SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB (default: the "
        "config's db, else $XDG_DATA_HOME/campuswatch/collector.sqlite3). Keep a password out of the "
        "command line (ps shows it): use ~/.pgpass, PGPASSFILE or PGPASSWORD",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campuswatch-collector",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_logging_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the collector",
        description="Run the collector: POST /api/v1/reports for agents, the /api/v1 read API, /metrics, "
        "/healthz and a status page at /. Logs the URL it serves on; SIGTERM or Ctrl-C stop it cleanly. "
        "Exit status 2 for a bad config, 1 when the database or the port cannot be used.",
    )
    _config_args(serve)
    serve.add_argument("--listen", metavar="HOST:PORT", help="address to serve on (default: 127.0.0.1:8750)")

    token = sub.add_parser(
        "token",
        help="manage school tokens",
        description="Tokens prove which school an agent reports for. The collector keeps only their hash.",
    )
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser(
        "create",
        help="create a token for a school and print it once",
        description="Create a random token bound to SCHOOL_ID (an id from schools.yaml) and print it on "
        "stdout, once: put it into the school agent's token_file. The collector stores only its SHA-256. "
        "Exit status 2 for an unknown school or a bad config.",
    )
    create.add_argument("school", metavar="SCHOOL_ID", help="the school's id in schools.yaml")
    _config_args(create)
    return parser


def _load_config(args: argparse.Namespace) -> CollectorConfig:
    """The config file (or defaults) with command-line overrides; raises ConfigError."""
    config = load_collector_config(args.config) if args.config else CollectorConfig()
    if getattr(args, "listen", None):
        try:
            parse_listen(args.listen)
        except ValueError as err:
            raise ConfigError("--listen", None, "", str(err)) from None
        config.listen = args.listen
    if args.db:
        try:
            parse_location(args.db)
        except BadLocation as err:
            raise ConfigError("--db", None, "", str(err)) from None
        config.db = Secret(args.db)
    if config.schools_file is not None:
        load_schools(config.schools_file)  # a broken schools.yaml is a config error now, not at startup
    return config


async def _open_store(config: CollectorConfig) -> SqlStore:
    """The store with schools.yaml's schools in it (``serve`` needs no such step: the app loads them
    at startup)."""
    store = await open_store(config.database())
    if config.schools_file is not None:
        await store.schools.upsert(load_schools(config.schools_file).as_schools())
    return store


async def _serve(config: CollectorConfig) -> None:
    tls: ssl.SSLContext | None = None
    if config.tls is not None:
        try:
            tls = ssl_context(config.tls)
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(config.source or "<config>", None, "tls", f"cannot load: {err}") from None
    store = await open_store(config.database())
    try:
        async with await CollectorService.create(config, store) as service:
            host, port = config.listen_host_port()
            runner, url = await start_server(create_app(service), host, port, tls=tls)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            log.info(f"serving on {url}", extra={"url": url, "db": config.database().shown})
            await stop.wait()
            log.info("stopping")
            await runner.cleanup()
    finally:
        await store.close()
    log.info("stopped")


async def _token_create(config: CollectorConfig, school: str) -> str:
    store = await _open_store(config)
    try:
        return await create_token(store.schools, school, time.time())
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``campuswatch-collector``; returns the exit status."""
    args = _parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    try:
        config = _load_config(args)
        if args.command == "serve":
            asyncio.run(_serve(config))
        else:
            token = asyncio.run(_token_create(config, args.school))
            print(token)
            print(
                f"token for school {args.school!r} created; it is not shown again",
                file=sys.stderr,
            )
    except (ConfigError, UnknownSchool) as err:
        print(f"campuswatch-collector: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except (StoreError, OSError) as err:
        print(f"campuswatch-collector: {err}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())

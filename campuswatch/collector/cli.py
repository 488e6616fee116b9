"""``campuswatch-collector``: serve reports, API, metrics and pages; manage tokens and users."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import os
import pwd
import signal
import ssl
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from campuswatch import __version__
from campuswatch.collector.auth.accounts import AccountError, Accounts
from campuswatch.collector.auth.passwords import WeakPassword, check_rules
from campuswatch.collector.auth.principal import ROLES, SCOPES
from campuswatch.collector.config import (
    DEFAULT_CONFIG,
    CollectorConfig,
    default_config_path,
    load_collector_config,
    load_schools,
    parse_listen,
)
from campuswatch.collector.http import create_app, create_metrics_app, start_server
from campuswatch.collector.http.server import ssl_context
from campuswatch.collector.model import Role, TokenScope, campus_managers
from campuswatch.collector.service import CollectorService
from campuswatch.collector.store.connect import open_store
from campuswatch.collector.store.location import BadLocation, parse_location
from campuswatch.collector.store.protocols import StoreError
from campuswatch.config import ConfigError, Secret
from campuswatch.logs import add_logging_arguments, setup_logging

log = logging.getLogger("collector")

EXIT_FAILED = 1
EXIT_CONFIG = 2

DESCRIPTION = f"""\
campuswatch collector: receives the reports of the schools' agents, turns failures into problems and
helpdesk tickets, and shows the fleet as an API, Prometheus metrics and pages people log in to.

  campuswatch-collector serve                                        the service
  campuswatch-collector token create bert-brecht-gymnasium           a token for a school's agent
  campuswatch-collector token create --scope metrics --name prometheus   a token for a machine
  campuswatch-collector user add anna --role helpdesk                a person's login (asks the password)
  campuswatch-collector outbox list                                  ticket deliveries given up on

Every command reads {DEFAULT_CONFIG} when it exists and --config names no other
($CAMPUSWATCH_COLLECTOR_CONFIG overrides that default), so that the commands an admin types and the
service systemd runs use the same database.
"""

#: Roles as the command line spells them (campus-manager), and as the collector does (campus_manager).
_ROLE_WORDS = {role.replace("_", "-"): role for role in ROLES}


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        help=f"collector.yaml (see configs/collector.yaml); default {DEFAULT_CONFIG} if it exists, "
        "else none: the defaults apply",
    )
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="the store: a SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB (default: the "
        "config's db, else $XDG_DATA_HOME/campuswatch/collector.sqlite3). Keep a password out of the "
        "command line (ps shows it): use ~/.pgpass, PGPASSFILE or PGPASSWORD",
    )


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, description: str
) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=description)
    _config_args(p)
    return p


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campuswatch-collector",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_logging_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(
        sub,
        "serve",
        "run the collector",
        "Run the collector: POST /api/v1/reports for agents, the /api/v1 API (described at "
        "/api/v1/openapi.json), /metrics, /healthz and the pages at / (people log in at /login). Nothing "
        "but /healthz, the login page and the API's description answers without a login or a token. "
        "Logs the URL it serves on; SIGTERM or Ctrl-C stop it cleanly. Exit status 2 for a bad config, "
        "1 when the database or the port cannot be used.",
    )
    serve.add_argument("--listen", metavar="HOST:PORT", help="address to serve on (default: 127.0.0.1:8750)")

    token = sub.add_parser(
        "token",
        help="manage tokens of agents and other machines",
        description="Tokens prove which school an agent reports for, or let a machine (Alertmanager, "
        "Prometheus, a script) use the part of the API its scope allows. The collector keeps only their "
        "hash. To rotate one without a gap: create the new token, put it in place, then revoke the old.",
    )
    token_sub = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = _command(
        token_sub,
        "create",
        "create a token and print it once",
        "Create a random token and print it on stdout, once. SCHOOL_ID (an id of schools.yaml) makes an "
        "agent token for that school: put it into the agent's token_file. --scope makes a machine's "
        "token: alertmanager (POST /api/v1/alertmanager), metrics (GET /metrics), read (the JSON API's "
        "GETs, every school), api (also acknowledge, silence a device, report a problem). The collector "
        "stores only its SHA-256. Exit status 2 for an unknown school or a bad config.",
    )
    create.add_argument("school", metavar="SCHOOL_ID", nargs="?", help="the school of an agent token")
    create.add_argument(
        "--scope", choices=SCOPES, default="agent", help="what the token is for (default: agent)"
    )
    create.add_argument(
        "--name", help="what uses it, shown by `token list` (default: the school or the scope)"
    )
    _command(
        token_sub,
        "list",
        "list tokens (never their secrets)",
        "One line per token: id, scope, school, name, when it was created and last used (to the minute).",
    )
    revoke = _command(
        token_sub,
        "revoke",
        "revoke a token",
        "Revoke the token with this id (`token list` shows ids): it works no more from now on. "
        "Exit status 2 if there is no such token.",
    )
    revoke.add_argument("id", type=int, metavar="ID")

    user = sub.add_parser(
        "user",
        help="manage people's logins",
        description="Local accounts of people: a role, a password (argon2id hash), and for a campus "
        "manager their entry in schools.yaml, for a school contact their school. People who sign in "
        "through the single sign-on proxy need an account only to get a role a group does not give them.",
    )
    user_sub = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = _command(
        user_sub,
        "add",
        "add a person's login",
        "Add a login. Roles: admin (everything: tokens, silences of any scope, the audit log, the config), "
        "helpdesk (every school: read, acknowledge, silence a device, report a problem), campus-manager "
        "(the same for the schools that name them in schools.yaml; needs --campus-manager), "
        "school-contact (their school: read and report a problem; needs --school). The password is asked "
        "twice on a terminal, or read from stdin with --password-stdin. Exit status 2 if the login "
        "exists, or the binding or the password is refused.",
    )
    add.add_argument("name", metavar="LOGIN")
    add.add_argument("--role", required=True, choices=sorted(_ROLE_WORDS), metavar="ROLE")
    add.add_argument("--campus-manager", metavar="ID", help="a campus manager's id in schools.yaml")
    add.add_argument("--school", metavar="SCHOOL_ID", help="a school contact's school")
    _password_args(add, sso=True)
    _command(user_sub, "list", "list logins", "One line per login: name, role, binding, password or not.")
    remove = _command(
        user_sub, "remove", "remove a login", "Remove a login; its sessions end. Exit status 2 if none."
    )
    remove.add_argument("name", metavar="LOGIN")
    password = _command(
        user_sub,
        "password",
        "set a login's password",
        "Set a new password (asked twice, or --password-stdin); the login's sessions end.",
    )
    password.add_argument("name", metavar="LOGIN")
    _password_args(password, sso=False)

    outbox = sub.add_parser(
        "outbox",
        help="the external ticket systems' queue: what was given up on, and put it back in line",
        description="Ticket operations for RT, Zammad, webhooks and e-mail wait in an outbox until the "
        "ticket system took them. One that cannot be delivered (refused, or failing again and again) is "
        "given up on (parked) and shown on the status page; once the cause is fixed, requeue it.",
    )
    outbox_sub = outbox.add_subparsers(dest="action", required=True, metavar="ACTION")
    _command(outbox_sub, "list", "operations given up on and retrying, with why", "One line each.")
    requeue = _command(
        outbox_sub,
        "requeue",
        "put operations given up on back in line",
        "Put parked operations back in line, by id (as `outbox list` shows), or all of them.",
    )
    requeue.add_argument("ids", metavar="ID", nargs="*", type=int, help="operation ids")
    requeue.add_argument("--all", action="store_true", help="every parked operation")
    return parser


def _password_args(p: argparse.ArgumentParser, *, sso: bool) -> None:
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    if sso:
        how.add_argument(
            "--no-password",
            action="store_true",
            help="no password: the person signs in through single sign-on",
        )


def _read_password(args: argparse.Namespace) -> str | None:
    """The password the command line gives: stdin's first line, or asked twice on a terminal."""
    if getattr(args, "no_password", False):
        return None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise AccountError("the two passwords differ")
    else:
        raise AccountError("no terminal to ask the password on: give --password-stdin (or --no-password)")
    try:
        check_rules(password)
    except WeakPassword as err:
        raise AccountError(str(err)) from None
    return password


async def _outbox(args: argparse.Namespace, config: CollectorConfig) -> int:
    """``outbox list`` and ``outbox requeue``."""
    from campuswatch.collector.tickets.outbox import TicketOutbox

    box = await TicketOutbox.opened(config.outbox_location())
    try:
        if args.action == "list":
            for op in await box.operations():
                if op.state == "parked" or (op.state == "pending" and op.attempts):
                    state = "given up" if op.state == "parked" else f"retrying ({op.attempts} attempts)"
                    fields = (str(op.id), op.sink, op.op, op.dedup_key, state, op.last_error or "")
                    # Device ids come from schools: no control character of theirs reaches the terminal.
                    print("\t".join("".join(c if c.isprintable() else "?" for c in f) for f in fields))
            return 0
        ids = [op.id for op in await box.parked()] if args.all else args.ids
        missing = [op_id for op_id in ids if not await box.requeue(op_id)]
        for op_id in missing:
            print(f"campuswatch-collector: operation {op_id} is not parked", file=sys.stderr)
        return EXIT_CONFIG if missing else 0
    finally:
        await box.close()


def _load_config(args: argparse.Namespace) -> CollectorConfig:
    """The config file (given, or the default one if it exists, or none) with command-line overrides;
    raises ConfigError."""
    path = args.config or default_config_path()
    config = load_collector_config(path) if path else CollectorConfig()
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


def _actor() -> str:
    """Who runs an admin command, for the audit log: ``cli:<unix user>``."""
    return f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"


@asynccontextmanager
async def _accounts(config: CollectorConfig) -> AsyncIterator[Accounts]:
    """The accounts over the config's database, with schools.yaml's schools and managers in it."""
    store = await open_store(config.database())
    try:
        defined = {}
        if config.schools_file is not None:
            schools_file = load_schools(config.schools_file)
            await store.schools.upsert(schools_file.as_schools())
            defined = schools_file.managers()
        schools = await store.schools.all()
        managers = campus_managers(defined, schools)
        yield Accounts(
            tokens=store.tokens,
            users=store.users,
            audit=store.audit,
            schools=lambda: schools,
            managers=lambda: managers,
            clock=time.time,
        )
    finally:
        await store.close()


#: The collector's heap holds every device's state, and ingest allocates and frees small containers at
#: every poll: with CPython's default thresholds (700, 10, 10) a full collection walks that whole heap
#: every few thousand polls, a fifth of ingest's time in ``bench/collector_ingest.py`` (12,400 against
#: 15,900 updates a second). Young objects are collected after 50,000 net allocations, and the heap
#: rarely. (Freezing what startup loaded, :func:`gc.freeze`, measured slower: 13,500.)
GC_THRESHOLDS = (50_000, 20, 100)
#: The database's thread takes the GIL back after each statement, and waited up to CPython's default
#: 5 ms each time behind the event loop: with 1 ms it writes a batch sooner and the loop waits less for
#: it (bench.collector_ingest --schools 40 --rounds 10, realistic: 21,800 -> 23,400 to 23,700 updates/s;
#: 0.2 ms measured 22,800, the switching then costing more than it saves). Measured while reports were
#: written on that thread; their brief transactions now run on the event loop's own connection.
GIL_SWITCH_INTERVAL_S = 0.001


async def _serve(config: CollectorConfig) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
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
            runners = []
            runner, url = await start_server(create_app(service), host, port, tls=tls)
            runners.append(runner)
            if config.metrics_listen is not None:
                metrics_host, metrics_port = parse_listen(config.metrics_listen)
                metrics_runner, metrics_url = await start_server(
                    create_metrics_app(service), metrics_host, metrics_port, tls=tls
                )
                runners.append(metrics_runner)
                log.info(f"serving /metrics without a token on {metrics_url}", extra={"url": metrics_url})
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            log.info(f"serving on {url}", extra={"url": url, "db": config.database().shown})
            await stop.wait()
            log.info("stopping")
            for each in runners:
                await each.cleanup()
    finally:
        await store.close()
    log.info("stopped")


def _when(at: float | None) -> str:
    return "never" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _token(args: argparse.Namespace, config: CollectorConfig) -> int:
    async with _accounts(config) as accounts:
        if args.action == "create":
            scope: TokenScope = args.scope
            if scope == "agent" and args.school is None:
                raise AccountError("an agent token names its school: token create SCHOOL_ID")
            secret, record = await accounts.create_token(
                scope, school=args.school, name=args.name, actor=_actor()
            )
            print(secret)
            print(
                f"token {record.id} ({scope}, {record.name}) created; it is not shown again",
                file=sys.stderr,
            )
        elif args.action == "list":
            print("id\tscope\tschool\tname\tcreated\tlast used")
            for t in await accounts.tokens():
                print(
                    f"{t.id}\t{t.scope}\t{t.school or '-'}\t{t.name}\t{_when(t.created_at)}\t{_when(t.last_used_at)}"
                )
        else:
            revoked = await accounts.revoke_token(args.id, actor=_actor())
            if revoked is None:
                raise AccountError(f"there is no token {args.id}")
            print(f"token {revoked.id} ({revoked.scope}, {revoked.name}) revoked", file=sys.stderr)
    return 0


async def _user(args: argparse.Namespace, config: CollectorConfig) -> int:
    async with _accounts(config) as accounts:
        if args.action == "add":
            role: Role = _ROLE_WORDS[args.role]
            user = await accounts.add_user(
                args.name,
                role,
                campus_manager=args.campus_manager,
                school=args.school,
                password=_read_password(args),
                actor=_actor(),
            )
            print(f"user {user.name!r} ({args.role}) added", file=sys.stderr)
        elif args.action == "list":
            print("login\trole\tof\tpassword")
            for u in await accounts.users():
                binding = u.campus_manager or u.school or "-"
                print(
                    f"{u.name}\t{u.role.replace('_', '-')}\t{binding}\t{'yes' if u.password_hash else 'no (single sign-on)'}"
                )
        elif args.action == "remove":
            if not await accounts.remove_user(args.name, actor=_actor()):
                raise AccountError(f"there is no user {args.name!r}")
            print(f"user {args.name!r} removed", file=sys.stderr)
        else:
            password = _read_password(args)
            assert password is not None
            await accounts.set_password(args.name, password, actor=_actor())
            print(f"password of {args.name!r} set; their sessions ended", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``campuswatch-collector``; returns the exit status."""
    args = _parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    try:
        config = _load_config(args)
        if args.command == "serve":
            asyncio.run(_serve(config))
            return 0
        if args.command == "outbox":
            return asyncio.run(_outbox(args, config))
        return asyncio.run((_token if args.command == "token" else _user)(args, config))
    except (ConfigError, AccountError) as err:
        print(f"campuswatch-collector: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except (StoreError, OSError) as err:
        print(f"campuswatch-collector: {err}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

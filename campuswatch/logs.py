"""Structured logs for the agent and the collector: one JSON object a line (or readable text on a terminal).

Fields passed with ``extra={...}`` become keys of the JSON object, so journald / Loki can filter on
``device``, ``school`` and the like. Secrets never reach a log record: they are
:class:`~campuswatch.config.Secret` objects, which print as ``<secret>``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """``{"ts": ..., "level": ..., "logger": ..., "msg": ..., <extras>}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(_extras(record))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for a person at a terminal, extras as ``key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname.lower():7} {record.name}: {record.getMessage()}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str = "info", fmt: str | None = None) -> None:
    """Log to stderr; JSON unless stderr is a terminal (or ``fmt`` says otherwise)."""
    use_json = fmt == "json" or (fmt is None and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pysnmp and aiohttp's access log are chatty at info; their warnings still show.
    for noisy in ("pysnmp", "asyncio", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def add_logging_arguments(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` and ``--log-format``, the same for every campuswatch command."""
    parser.add_argument(
        "--log-level",
        default=os.environ.get("CAMPUSWATCH_LOG_LEVEL", "info"),
        help="debug, info, warning, error (default: $CAMPUSWATCH_LOG_LEVEL or info)",
    )
    parser.add_argument(
        "--log-format", choices=["text", "json"], default=None, help="default: json unless on a terminal"
    )

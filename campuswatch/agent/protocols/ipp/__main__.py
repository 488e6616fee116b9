"""``python -m campuswatch.agent.protocols.ipp ipp://HOST:PORT/PATH``: read one printer over IPP and print the reading as JSON.

A standalone probe for places without the full agent CLI (the namespace of the ippeveprinter tests);
exit status 2 with the device error on stderr when the printer cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from campuswatch.agent.errors import DeviceError
from campuswatch.agent.protocols.ipp.client import read_ipp_printer
from campuswatch.report import to_builtins


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m campuswatch.agent.protocols.ipp", description=__doc__)
    parser.add_argument("url", help="ipp://HOST:PORT/PATH of the printer")
    parser.add_argument("--timeout", type=float, default=8.0, help="seconds per request")
    args = parser.parse_args()
    try:
        reading = asyncio.run(read_ipp_printer(args.url, timeout_s=args.timeout))
    except DeviceError as err:
        print(f"{args.url}: {err.status}: {err}", file=sys.stderr)
        return 2
    print(json.dumps(to_builtins(reading), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

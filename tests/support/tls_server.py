"""An HTTPS service for the tests, run inside a network namespace (a school's MDM, learning platform or
content filter as far as the gateway can tell):

    ip netns exec NS python -m tests.support.tls_server ADDRESS PORT CERT KEY [--status 200]

Every request gets ``--status`` and a short body. SIGTERM ends it.
"""

from __future__ import annotations

import argparse
import http.server
import ssl


def main() -> None:
    """Serve HTTPS on ADDRESS:PORT with CERT and KEY until terminated."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.tls_server", description=__doc__)
    parser.add_argument("address")
    parser.add_argument("port", type=int)
    parser.add_argument("cert")
    parser.add_argument("key")
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(args.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *more: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((args.address, args.port), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""A page on another origin, for tests where a browser is the attacker.

`hostile_site()` serves one blank HTML page on a free port of 127.0.0.1. Opened as
`http://127.0.0.1:{port}/` it is the *same site* as the app (another port of the same
host: cookies are shared, SameSite=Lax cookies are sent); opened as
`http://localhost:{port}/` it is *cross-site*. Tests run their attack with
`page.evaluate(...)` from there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"<!doctype html><html><head><title>Cute cats</title></head><body>Nothing to see.</body></html>"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def hostile_site() -> Iterator[int]:
    """Serve the page; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()

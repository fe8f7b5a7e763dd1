"""A tiny local HTTP server standing in for OpenAI's Responses and Speech APIs in tests.

The app reaches it exactly as it reaches OpenAI (OPENAI_BASE_URL), so the tests run the
production code path. Each request is recorded; replies come from a script (a list of
`Reply`, consumed in order), and once the script is empty from the local simulator's
own rule-based answer, so "fails twice, then succeeds" is `script = [Reply(500),
Reply(429), *]`. It runs in a thread, so it works from sync and async tests alike.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fluentio.simulator.responses import answer_request, response_object

FAKE_AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict → JSON; bytes → as is; None → the simulator's answer
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Holds the answer until the test sets it: "the model is still thinking" for as long
    # as a test needs (say, to kill the worker waiting for it).
    gate: threading.Event | None = None
    output_text: str | None = None  # a 200 response object whose message says this

    @classmethod
    def text(cls, output_text: str) -> Reply:
        return cls(output_text=output_text)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: list[Reply] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def _next(self) -> Reply | None:
        with self._lock:
            return self.script.pop(0) if self.script else None

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        body = json.loads(raw or b"{}")
        with self._lock:
            self.requests.append(Recorded(path, headers, body))
        reply = self._next() or Reply()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.gate is not None:
            reply.gate.wait(timeout=300)
        out_headers = {"content-type": "application/json", **reply.headers}
        if reply.output_text is not None:
            return 200, out_headers, json.dumps(response_object(body, reply.output_text)).encode()
        if isinstance(reply.body, bytes):
            return reply.status, out_headers, reply.body
        if reply.body is not None:
            return reply.status, out_headers, json.dumps(reply.body).encode()
        if reply.status != 200:
            error = {"error": {"message": f"fake error {reply.status}", "type": "server_error"}}
            return reply.status, out_headers, json.dumps(error).encode()
        if path == "/v1/audio/speech":
            return 200, {"content-type": "audio/mpeg"}, FAKE_AUDIO
        status, payload = answer_request(body)
        return status, out_headers, json.dumps(payload).encode()

    @contextmanager
    def running(self) -> Iterator[FakeOpenAI]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                status, headers, payload = fake.handle(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, raw
                )
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *_args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

"""A real local HTTP server in a thread that receives webhooks, records each request and answers from a script
(a queue of (status, headers, body) per path; the default answer is 200)."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    script: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self, path: str, *responses: tuple[int, dict, bytes]) -> None:
        self.script[path].extend(responses)

    def received(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]


def start_receiver() -> Receiver:
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            receiver: Receiver = holder["r"]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                queue = receiver.script.get(self.path)
                status, headers, payload = queue.popleft() if queue else (200, {}, b"ok")
            if "sleep" in headers:  # answer late (a timeout test)
                import time

                time.sleep(float(headers.pop("sleep")))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server=server)
    holder["r"] = receiver
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


@contextmanager
def receiving(settings, **overrides) -> Iterator[Receiver]:
    """A running receiver that webhooks may call (127.0.0.1 allowed), with ``overrides`` of the pytest-django
    ``settings`` fixture (e.g. SEGMENTS_WEBHOOK_MAX_ATTEMPTS=1); stopped afterwards."""
    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    for name, value in overrides.items():
        setattr(settings, name, value)
    receiver = start_receiver()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()

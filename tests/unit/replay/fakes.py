"""Small scenarios and a real local HTTP server for the replay's unit tests."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scripts.replay.model import Step


@dataclass
class ListScenario:
    """A scenario whose steps are given (in the order a scenario would yield them)."""

    name: str
    priority: int
    given: list[Step]
    figures_: list = field(default_factory=list)

    def steps(self, city, scale):
        yield from self.given

    def figures(self, scale):
        return self.figures_

    def actual(self, api):
        return {}

    def charts(self, api):
        return []


def step(key: str, on: date, wave: int = 0, **kwargs) -> Step:
    kwargs.setdefault("actor", None)
    kwargs.setdefault("method", "POST")
    kwargs.setdefault("path", "/x")
    return Step(on=on, key=key, wave=wave, **kwargs)


class Recorder:
    """A real HTTP server on 127.0.0.1: it records each request and answers from ``answer``
    (a function of the request: path, headers, body -> status, JSON body)."""

    def __init__(self, answer):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "raw": raw,
                    "body": json.loads(raw) if raw else None,
                }
                with recorder.lock:
                    recorder.requests.append(request)
                status, body = answer(request)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

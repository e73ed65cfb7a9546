"""A stand-in for the national portal on loopback (tests, ``bench/notices.py``, development).

It keeps one copy per idempotency key and answers like the HTTP adapter expects
(:mod:`.portal`), except when told to misbehave. ``script`` is a list of behaviours used by
the next requests in turn (then ``default``):

* ``"ok"``: store (or recognise a duplicate) and answer 200 ``{"status": "accepted"|"duplicate"}``;
* ``"500"`` / ``"503"``: answer that status, store nothing;
* ``"timeout"``: sleep ``delay`` seconds before answering (the sender gives up first), store nothing;
* ``"lost"``: store, then sleep (the answer is lost: the next attempt is a duplicate);
* ``"garbage"``: answer 200 with a body that is not the agreed JSON, store nothing;
* ``"dup409"``: store, answer 409 (a portal that signals duplicates by status).

``fail_rate`` (0-1) makes a random share of requests answer 503 instead (seeded).
"""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakePortal:
    def __init__(self, *, script: list[str] | None = None, default: str = "ok", delay: float = 1.0,
                 fail_rate: float = 0.0, seed: int = 7) -> None:
        self.script, self.default, self.delay = list(script or []), default, delay
        self.fail_rate, self.rng = fail_rate, random.Random(seed)
        self.store: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.duplicates = 0
        self.lock = threading.Lock()
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the sender gave up (timeout)
                    pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key") or ""
                with portal.lock:
                    portal.requests += 1
                    mode = portal.script.pop(0) if portal.script else portal.default
                    if mode == "ok" and portal.fail_rate and portal.rng.random() < portal.fail_rate:
                        mode = "503"
                if mode in ("500", "503"):
                    return self._answer(int(mode), b'{"error": "busy"}')
                if mode == "timeout":
                    time.sleep(portal.delay)
                    return self._answer(200, b'{"status": "accepted"}')
                if mode == "garbage":
                    return self._answer(200, "<html>系统维护中</html>".encode())
                with portal.lock:
                    dup = key in portal.store
                    if dup:
                        portal.duplicates += 1
                    else:
                        portal.store[key] = json.loads(raw or b"{}")
                if mode == "lost":
                    time.sleep(portal.delay)
                if mode == "dup409" and dup:
                    return self._answer(409, b'{"status": "duplicate"}')
                receipt = f"R{len(portal.store):08d}"
                self._answer(200, json.dumps({"status": "duplicate" if dup else "accepted",
                                              "receipt": receipt}).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/notices"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePortal:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

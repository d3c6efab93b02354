"""Helpers for a host's tests: :func:`capture_events` (which events a block emitted, no
HTTP), a real HTTP receiver (``with Receiver() as r: ...``) and :func:`deliver_due`,
which does a worker's job in the test's own process. The pytest plugin
(:mod:`webhooks_app.pytest_plugin`) offers them as fixtures.

It listens on 127.0.0.1, records every request (verifying its signature with
:func:`webhooks_app.signing.verify` when given the secret), and answers with scripted
replies, which is how the test suite makes endpoints fail: 500s, slow answers,
redirects, 410s and huge bodies all come from a real server behaving badly.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from webhooks_app.exceptions import SignatureVerificationError
from webhooks_app.signing import verify


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (to provoke timeouts)
    drip: float = 0.0  # seconds between body bytes (a slow, trickling response)
    drip_headers: float = 0.0  # seconds between bytes of the status line and headers


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None
    error: str = ""
    received_at: float = field(default_factory=time.monotonic)  # when its body had arrived

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers.get("X-Webhook-Event", "")


class Receiver:
    def __init__(
        self,
        secret: str | list[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
        tls: tuple[str, str] | None = None,
    ):
        self.secret = secret
        self.record = record
        self.requests: list[ReceivedRequest] = []
        self.count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.default = Reply()
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._closing = threading.Event()
        self.on_request: Callable[[ReceivedRequest], None] | None = None
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"{self.scheme}://{name}:{port}/hook"

    def start(self) -> Receiver:
        # A short poll interval: stop() waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------

    def reply(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, then with ``self.default``."""
        with self._lock:
            self._script.extend(replies)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until ``count`` requests have arrived (or fail after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while self.count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"Receiver got {self.count} of {count} requests.")
                self._arrived.wait(left)
            return list(self.requests)

    # -- serving --------------------------------------------------------------------

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _received(self, request: ReceivedRequest) -> None:
        if self.on_request:
            self.on_request(request)
        with self._arrived:
            self.count += 1
            if self.record:
                self.requests.append(request)
            self._arrived.notify_all()

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are separate small writes; with Nagle on, the second
            # waits for the client's delayed ACK (~40 ms) and every request looks slow.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                with receiver._lock:
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                self.counted = True
                try:
                    self._answer()
                finally:
                    self._answered()

            def _answered(self):
                """No longer in flight. Called before the answer's last bytes go out: the
                sender may send its next request as soon as they arrive, and counting
                this one until its thread got here again showed overlaps that never
                were."""
                if self.counted:
                    self.counted = False
                    with receiver._lock:
                        receiver.in_flight -= 1

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = dict(self.headers.items())
                verified, error = None, ""
                if receiver.secret is not None:
                    try:
                        verify(body, headers, receiver.secret)
                        verified = True
                    except SignatureVerificationError as exc:
                        verified, error = False, str(exc)
                reply = receiver._next_reply()
                receiver._received(
                    ReceivedRequest("POST", self.path, headers, body, verified, error)
                )
                if reply.delay and receiver._closing.wait(reply.delay):
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    if reply.drip_headers:
                        head = b"".join(self._headers_buffer) + b"\r\n"
                        self._headers_buffer = []
                        for i in range(len(head)):
                            self.wfile.write(head[i : i + 1])
                            if receiver._closing.wait(reply.drip_headers):
                                return
                    else:
                        if not reply.drip:
                            self._answered()
                        self.end_headers()
                    if reply.drip:
                        for i in range(len(reply.body)):
                            self.wfile.write(reply.body[i : i + 1])
                            self.wfile.flush()
                            if receiver._closing.wait(reply.drip):
                                return
                    else:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def serve_forever(port: int, ready: Any = None) -> None:
    """Run a non-recording receiver in the foreground (used by the benchmark)."""
    receiver = Receiver(port=port, record=False)
    if ready is not None:
        ready.put(receiver.server.server_address[1])
    receiver.server.serve_forever()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Condition not met within {timeout}s.")
        time.sleep(interval)


def deliver_due(*, after: float | None = None, at: datetime | None = None) -> int:
    """Send what is due now, in this process, as a django-q2 worker would; return how many
    requests were made. ``after`` (seconds) or ``at`` sends what would be due then: a
    retry's backoff without the wait. It claims and records on this thread's database
    connection, so a plain ``django_db`` test sees its own uncommitted events sent."""
    from django.utils import timezone

    from webhooks_app.engine.delivery import drain

    if after is not None:
        at = timezone.now() + timedelta(seconds=after)
    return drain(time_limit=60, now=at)


@dataclass
class CapturedEvent:
    """One ``emit()`` call: the body receivers would get, parsed, and its routing."""

    envelope: dict[str, Any]
    project: Any
    idempotency_key: str | None

    @property
    def event(self) -> str:
        return self.envelope["event"]

    @property
    def data(self) -> Any:
        return self.envelope["data"]

    @property
    def changes(self) -> Any:
        return self.envelope.get("changes")


class CapturedEvents(list[CapturedEvent]):
    """The events a ``with capture_events() as captured:`` block emitted, in order."""

    @property
    def names(self) -> list[str]:
        return [captured.event for captured in self]

    def of(self, event_type: str) -> list[CapturedEvent]:
        return [captured for captured in self if captured.event == event_type]


@contextmanager
def capture_events() -> Iterator[CapturedEvents]:
    """Record every event emitted in the block, with the body receivers would get.

    Captured at emit, whether or not a webhook subscribes and before the transaction
    commits: a block that rolls back still shows what it emitted (whether it reaches
    receivers is what :func:`deliver_due` and a :class:`Receiver` show). Emitting goes
    on as usual; events silenced by ``registry.muted()`` are not emitted, so not captured.
    """
    from django.utils import timezone

    from webhooks_app.engine.dispatch import capture, render_body

    captured = CapturedEvents()

    def record(
        event_type: str,
        data: Mapping[str, Any],
        changes: Mapping | None,
        occurred_at: datetime | None,
        project: Any,
        idempotency_key: str | None,
    ) -> None:
        body = render_body(event_type, data, occurred_at or timezone.now(), changes)
        captured.append(CapturedEvent(json.loads(body), project, idempotency_key))

    token = capture.set(record)
    try:
        yield captured
    finally:
        capture.reset(token)

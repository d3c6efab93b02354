"""The only code that speaks HTTP.

Deliveries go through urllib3's connection pools (the ones ``requests`` is built on,
without its per-request preparation, which cost more than the rest of a delivery): one
pool manager per process, shared by the sending threads, keep-alive per endpoint.
Redirects are never followed (a 3xx is a failure: following it would let an endpoint
bounce signed payloads elsewhere), response bodies are read only up to the log cap, and
the whole exchange (connecting to every address, headers, body) has one deadline, so a
receiver that drips bytes cannot hold a worker past its claim. Proxies from the
environment are not used: they would bypass the address guard.

SSRF guard: every address a host name resolves to is checked against
:mod:`webhooks_app.engine.addresses` *at connect time*, on the socket actually being opened, so
a DNS answer that changes between validation and delivery (rebinding) gains nothing.
"""

from __future__ import annotations

import codecs
import contextlib
import http.client
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from certifi import where as default_ca_bundle
from urllib3 import PoolManager, Timeout
from urllib3 import exceptions as urllib3_exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import parse_url

from webhooks_app.conf import webhook_settings
from webhooks_app.engine.addresses import blocked_reason
from webhooks_app.exceptions import BlockedDestinationError

BLOCKED = "blocked: the address is not public"


@dataclass
class Response:
    """What came back from one attempt; ``status`` is None when nothing did."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    duration_ms: float = 0.0
    error: str = ""
    # True when the request may not have reached the receiver's application at all
    # (refused, timed out, blocked); used to stop sending more to that endpoint now.
    transport_failure: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Watch:
    """One request's deadline; the watchdog shuts its socket down when it passes."""

    def __init__(self, deadline: float, watchdog: _Watchdog):
        self.deadline = deadline
        self.watchdog = watchdog
        self.conn: HTTPConnection | None = None
        self.expired = False
        self.finished = False
        self.lock = threading.Lock()

    def remaining(self) -> float:
        return max(0.001, self.deadline - time.monotonic())

    def expire(self) -> None:
        with self.lock:
            if self.finished:
                return
            self.expired = True
            sock = getattr(self.conn, "sock", None)
        if sock is not None:
            # Unblocks the sender thread's recv at once; urllib3 then discards the
            # connection instead of returning it to the pool.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        # Before the connection goes back to the pool: a late expiry must not cut off
        # the next request that reuses it.
        with self.lock:
            if self.finished:
                return
            self.finished = True
        self.watchdog.forget(self)


class _Watchdog:
    """One thread per process enforcing whole-request deadlines, to within ``TICK``.

    Socket timeouts bound each read, not the exchange: a receiver sending its headers a
    byte at a time would otherwise hold a worker past its claim. The thread looks over
    the requests in flight (at most the sending threads) every ``TICK`` while there are
    any, and sleeps otherwise: a request costs it no wake-up of its own.
    """

    TICK = 0.05

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = threading.Condition(self._lock)
        self._active: set[_Watch] = set()
        self._pid: int | None = None

    def watch(self, deadline: float) -> _Watch:
        watch = _Watch(deadline, self)
        with self._lock:
            if self._pid != os.getpid():  # first use, or a fork (qcluster workers)
                self._pid = os.getpid()
                self._active = set()
                threading.Thread(target=self._run, name="webhooks-watchdog", daemon=True).start()
            self._active.add(watch)
            if len(self._active) == 1:
                self._busy.notify()
        return watch

    def forget(self, watch: _Watch) -> None:
        with self._lock:
            self._active.discard(watch)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._active:
                    self._busy.wait()
                now = time.monotonic()
                overdue = [watch for watch in self._active if watch.deadline <= now]
                self._active.difference_update(overdue)
            for watch in overdue:
                watch.expire()
            time.sleep(self.TICK)


_watchdog = _Watchdog()


if TYPE_CHECKING:
    _ConnectionBase = HTTPConnection
else:
    _ConnectionBase = object


class _GuardedConnectionMixin(_ConnectionBase):
    """Resolve, check every address, then connect: the check is on the real socket."""

    def request(self, *args, **kwargs):
        watch = getattr(_local, "watch", None)
        if watch is not None:
            watch.conn = self
        return super().request(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, self.port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise NewConnectionError(self, f"DNS lookup of {host} failed") from exc
        failure: tuple[str, OSError] | None = None
        for family, socktype, proto, _canon, sockaddr in infos:
            if blocked_reason(str(sockaddr[0])):
                # Never say which address was refused: a test ping would otherwise let
                # a project's manager map what internal names resolve to.
                continue
            sock = socket.socket(family, socktype, proto)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                timeout = self.timeout
                watch = getattr(_local, "watch", None)
                if watch is not None:
                    # Every address shares the one deadline, not a full timeout each.
                    remaining = watch.remaining()
                    timeout = remaining if timeout is None else min(timeout, remaining)
                if timeout is not None:
                    sock.settimeout(timeout)
                sock.connect(sockaddr)
                if self.timeout is not None:
                    sock.settimeout(self.timeout)
                return sock
            except OSError as exc:
                sock.close()
                failure = (_host_port(sockaddr), exc)
        if failure is None:
            raise BlockedDestinationError(BLOCKED)
        raise NewConnectionError(self, _connect_failure(*failure))


def _host_port(sockaddr: tuple) -> str:
    ip, port = sockaddr[0], sockaddr[1]
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _connect_failure(where: str, exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, TimeoutError):
        return f"no connection to {where} within the time limit"
    reason = exc.strerror or exc.__class__.__name__
    return f"could not connect to {where}: {reason[:1].lower()}{reason[1:]}"


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_local = threading.local()


class _Pools:
    """This process's pool manager (made again after a fork: qcluster workers fork), and
    what each endpoint URL resolves to in it."""

    def __init__(self) -> None:
        self._manager: PoolManager | None = None
        self._key: tuple[int, int] | None = None
        self._targets: dict[tuple[str, bool], tuple[HTTPConnectionPool, str]] = {}
        self._lock = threading.Lock()

    def target(self, url: str, verify_tls: bool) -> tuple[HTTPConnectionPool, str]:
        """The pool for ``url`` and the request target (path and query) to send it."""
        key = (os.getpid(), webhook_settings.ENDPOINT_CONCURRENCY)
        with self._lock:
            if self._key != key:
                # Keep-alive connections per endpoint for as many requests as the claims
                # send it at once; extra ones (never many) are closed after use.
                self._manager = PoolManager(num_pools=256, maxsize=key[1], block=False)
                self._manager.pool_classes_by_scheme = {
                    "http": _GuardedHTTPPool,
                    "https": _GuardedHTTPSPool,
                }
                self._key, self._targets = key, {}
            assert self._manager is not None
            found = self._targets.get((url, verify_tls))
            if found is None or found[0].pool is None:  # new, or closed by the manager
                pool = self._manager.connection_from_url(url, pool_kwargs=_tls(verify_tls))
                found = pool, parse_url(url).request_uri
                if len(self._targets) > 4096:
                    self._targets.clear()
                self._targets[(url, verify_tls)] = found
            return found


_pools = _Pools()


def _tls(verify: bool) -> dict[str, str]:
    if verify:
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": default_ca_bundle()}
    return {"cert_reqs": "CERT_NONE"}


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float | None = None,
    verify_tls: bool = True,
    body_limit: int | None = None,
) -> Response:
    """POST ``body`` once. Never raises for network trouble: it is in the Response."""
    timeout = float(timeout if timeout is not None else webhook_settings.TIMEOUT)
    limit = webhook_settings.RESPONSE_BODY_LIMIT if body_limit is None else body_limit
    started = time.monotonic()
    deadline = started + timeout
    result = Response()
    watch = _local.watch = _watchdog.watch(deadline)
    try:
        pool, target = _pools.target(url, verify_tls)
        resp = pool.urlopen(
            "POST",
            target,
            body=body,
            headers=headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=Timeout(connect=timeout, read=timeout),
            preload_content=False,
            release_conn=False,
        )
        try:
            if watch.expired:
                # Cut off before the headers were complete: http.client reads the closed
                # socket as their end, so what looks like a response is not one.
                raise urllib3_exceptions.ReadTimeoutError(pool, url, "headers not complete")
            _read(resp, result, limit, deadline, timeout)
        finally:
            _release(resp)
            watch.finish()
    except Exception as exc:
        # Whatever went wrong is this attempt's outcome, worded for the person reading
        # the log: no internal class names, and no address a blocked name resolved to.
        result.error, result.transport_failure = _failure(exc, timeout), True
    finally:
        watch.finish()
        _local.watch = None
    if watch.expired and result.status is None:
        result.error = _timed_out(timeout)
        result.transport_failure = True
    result.duration_ms = (time.monotonic() - started) * 1000
    return result


def _read(resp: Any, result: Response, limit: int, deadline: float, timeout: float) -> None:
    """The status, the headers, and the body up to ``limit`` bytes or the deadline."""
    result.status = resp.status
    result.headers = {_storable(k): _storable(v) for k, v in resp.headers.itermerged()}
    chunks, size = [], 0
    try:
        while size < limit:
            # read1 returns whatever has arrived, so the deadline is checked even when a
            # receiver sends its body a byte at a time.
            chunk = resp.read1(8192)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if resp.length_remaining == 0:  # all it announced: no read to learn the end
                break
            if time.monotonic() > deadline:
                raise TimeoutError
    except (TimeoutError, OSError, urllib3_exceptions.HTTPError):
        # The status arrived, so the receiver answered; only the body is partial.
        result.error = f"response body not complete within {timeout:g} s; cut short"
    body = b"".join(chunks)[:limit].decode(_charset(result.headers), errors="replace")
    result.body = _storable(body)
    if 300 <= resp.status < 400:
        location = result.headers.get("Location", "")
        result.error = f"Redirect ({resp.status}) to {location!r} not followed."


def _storable(text: str) -> str:
    """``text`` as a database can hold it: PostgreSQL's text and JSON take no NUL, and a
    receiver's answer must not keep its attempt from being recorded."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _release(resp: Any) -> None:
    """Back to the pool if the answer was read to its end, else closed: a connection
    with unread bytes (a capped body, a cut-off exchange) cannot carry another."""
    if not resp.isclosed():
        resp.close()
    resp.release_conn()


def _charset(headers: dict[str, str]) -> str:
    """The charset parameter of the Content-Type, if any (utf-8 otherwise)."""
    for param in headers.get("Content-Type", "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
            try:
                codecs.lookup(charset)
            except LookupError:
                break
            return charset
    return "utf-8"


def _find_cause(exc: BaseException, kind: type) -> BaseException | None:
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        stack.extend(x for x in (current.__cause__, current.__context__) if x is not None)
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return None


def _timed_out(timeout: float) -> str:
    return f"no response within {timeout:g} s (the sender's limit)"


def _failure(exc: Exception, timeout: float) -> str:
    """What went wrong, for a person: the cause, not the exception chain."""
    if _find_cause(exc, BlockedDestinationError):
        return BLOCKED
    unconnected = _find_cause(exc, NewConnectionError)
    if isinstance(unconnected, NewConnectionError):  # raised by _new_conn, already worded
        return unconnected._message
    if isinstance(exc, urllib3_exceptions.TimeoutError):
        return _timed_out(timeout)
    untrusted = _find_cause(exc, ssl.SSLCertVerificationError)
    if isinstance(untrusted, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {untrusted.verify_message or untrusted.reason}"
    tls = _find_cause(exc, ssl.SSLError)
    if isinstance(tls, ssl.SSLError):
        return f"TLS handshake failed: {tls.reason or tls.__class__.__name__}"
    if _find_cause(exc, TimeoutError):
        return _timed_out(timeout)
    if isinstance(exc, (UnicodeError, urllib3_exceptions.LocationValueError, ValueError)):
        return "the URL's host name is not valid"
    if _find_cause(exc, ConnectionResetError) or _find_cause(exc, http.client.RemoteDisconnected):
        return "the receiver closed the connection without answering"
    broken = _find_cause(exc, OSError)
    if isinstance(broken, OSError) and broken.strerror:
        return f"the exchange failed: {broken.strerror[:1].lower()}{broken.strerror[1:]}"
    if isinstance(exc, urllib3_exceptions.HTTPError):
        return "the exchange failed: the receiver's answer was not valid HTTP"
    return f"could not send: {exc.__class__.__name__}"

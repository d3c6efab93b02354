"""What an operator does to received messages: replay them. The admin calls this; so
may a host's own code or shell."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest
from django.urls import Resolver404, get_resolver, resolve

from webhooks_app.inbox import handlers
from webhooks_app.inbox.handling import rerun
from webhooks_app.inbox.models import Message


@dataclass(frozen=True)
class Replayed:
    message: Message
    status: int | None  # the handler's answer; None when it raised or could not run
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def replay(messages: Iterable[Message]) -> list[Replayed]:
    """Run each message's handler again, as if the message had just arrived, in the
    transaction that marks it handled (a failure rolls both back and is noted)."""
    return [replay_one(message) for message in messages]


def replay_one(message: Message) -> Replayed:
    handler = _handler(message.handler)
    if handler is None:
        return _cannot(message, f"no webhook_view(inbox={message.handler!r}) is loaded")
    try:
        match = resolve(message.path)
    except Resolver404:
        return _cannot(message, f"{message.path} no longer resolves to a view")
    request = rebuilt_request(message)
    payload = json.loads(message.payload)
    try:
        response = rerun(message, lambda: handler(request, payload, *match.args, **match.kwargs))
    except Exception as exc:  # the handler's bug: noted on the message, shown to the operator
        return Replayed(message, None, f"{type(exc).__name__}: {exc}")
    return Replayed(message, response.status_code)


def rebuilt_request(message: Message) -> HttpRequest:
    """The request as the handler first saw it: path, kept headers and body (no user,
    no session: it did not pass through the middleware again)."""
    body = message.body.encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": message.path,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in message.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return WSGIRequest(environ)


def _handler(name: str) -> handlers.Handler | None:
    if handlers.get(name) is None:
        get_resolver().url_patterns  # noqa: B018  (imports the views, which register)
    return handlers.get(name)


def _cannot(message: Message, error: str) -> Replayed:
    Message.objects.filter(pk=message.pk).update(last_error=error)
    return Replayed(message, None, error)

"""The test host as a receiver.

``items``: a view on the durable inbox whose handler writes a row of its own (a Tag), so
tests see whether the handler's writes and the inbox agree. ``TESTAPP_RECEIVER_ANSWERS``
(a status code) makes the handler write, then answer that status: how a test makes a
receiver in another process fail.

``receive``: webhook_view mounted in a URLconf, as a project consuming webhooks mounts
it, accepting a secret and a public key.
"""

from __future__ import annotations

import os
from typing import Any

from django.http import HttpRequest, HttpResponse

from tests.testapp.models import Tag
from webhooks_app.receiving import webhook_view

RECEIVER_SECRET = "whsec_dGVzdHMtcmVjZWl2ZXItc2VjcmV0LW5vdC1zZWNyZXQ="
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The public key of Svix's ed25519 test vector (tests/test_asymmetric.py).
PUBLIC_KEY = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
HANDLED: list[Any] = []


@webhook_view(secret=RECEIVER_SECRET, inbox="testapp.items")
def items(request: HttpRequest, payload: Any) -> HttpResponse | None:
    Tag.objects.create(name=f"got {payload['data']['title']}"[:50])
    status = os.environ.get("TESTAPP_RECEIVER_ANSWERS")
    return HttpResponse(status=int(status)) if status else None


@webhook_view(secret=[SECRET, PUBLIC_KEY], schemes=("standard", "hex"), dedupe_for=None)
def receive(request: Any, payload: Any) -> None:
    HANDLED.append(payload)

"""The test host as a receiver: a view on the durable inbox whose handler writes a row
of its own (a Tag), so tests see whether the handler's writes and the inbox agree.

``TESTAPP_RECEIVER_ANSWERS`` (a status code) makes the handler write, then answer that
status: how a test makes a receiver in another process fail.
"""

from __future__ import annotations

import os
from typing import Any

from django.http import HttpRequest, HttpResponse

from tests.testapp.models import Tag
from webhooks_app.receiving import webhook_view

RECEIVER_SECRET = "whsec_dGVzdHMtcmVjZWl2ZXItc2VjcmV0LW5vdC1zZWNyZXQ="


@webhook_view(secret=RECEIVER_SECRET, inbox="testapp.items")
def items(request: HttpRequest, payload: Any) -> HttpResponse | None:
    Tag.objects.create(name=f"got {payload['data']['title']}"[:50])
    status = os.environ.get("TESTAPP_RECEIVER_ANSWERS")
    return HttpResponse(status=int(status)) if status else None

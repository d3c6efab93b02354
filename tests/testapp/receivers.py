"""The test host's receiving endpoint: webhook_view mounted in a URLconf, as a project
consuming webhooks mounts it."""

from __future__ import annotations

from typing import Any

from webhooks_app.receiving import webhook_view

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The public key of Svix's ed25519 test vector (tests/test_asymmetric.py).
PUBLIC_KEY = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
HANDLED: list[Any] = []


@webhook_view(secret=[SECRET, PUBLIC_KEY], schemes=("standard", "hex"), dedupe_for=None)
def receive(request: Any, payload: Any) -> None:
    HANDLED.append(payload)

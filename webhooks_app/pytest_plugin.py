"""Fixtures for a host's tests, installed with the package (entry point ``pytest11``):
the ones webhooks_app's own tests use.

* ``receiver``: a real HTTP server on 127.0.0.1 recording each request (set
  ``receiver.secret`` to the webhook's secret to verify signatures);
* ``deliver``: sends what is due now, in the test's process, as a worker would
  (``deliver(after=60)``: as if a minute later); returns how many requests it made;
* ``captured_events``: :func:`webhooks_app.testing.capture_events` over the whole test;
* ``webhooks_settings``: change some ``WEBHOOKS`` settings for one test (pytest-django's
  ``settings``).

A fixture of the same name in a host's conftest.py takes precedence. Nothing here
imports Django until a fixture is used, so the plugin is harmless in other projects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from webhooks_app.testing import CapturedEvents, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    from webhooks_app.testing import Receiver

    with Receiver() as server:
        yield server


@pytest.fixture
def deliver() -> Callable[..., int]:
    from webhooks_app.testing import deliver_due

    return deliver_due


@pytest.fixture
def captured_events() -> Iterator[CapturedEvents]:
    from webhooks_app.testing import capture_events

    with capture_events() as captured:
        yield captured


@pytest.fixture
def webhooks_settings(settings: Any) -> Callable[..., None]:
    """``webhooks_settings(TIMEOUT=1)``: those WEBHOOKS settings, for this test."""

    def change(**values: Any) -> None:
        settings.WEBHOOKS = {**settings.WEBHOOKS, **values}

    return change

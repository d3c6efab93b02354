"""Fixtures of the example product's tests.

The package's pytest plugin gives the real receiver, the worker loop run in-process and
settings overrides; the library's tests' webhook factory serves here too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db.models import Max
from django.utils import timezone

from example_project.agile import services
from example_project.agile.models import BoardColumn, Company, Project, Task
from example_project.tests.factories import make_company, make_project, make_user
from tests.conftest import fresh_routing_map, make_webhook  # noqa: F401 (fixtures)
from webhooks_app.models import Event, Subscription, Webhook


@pytest.fixture
def company(db) -> Company:
    return make_company()


@pytest.fixture
def board(company) -> Project:
    """A project with the default To Do / In Progress / Done board."""
    return make_project(company)


@pytest.fixture
def project(board) -> Project:
    """The project of ``make_webhook``'s webhooks."""
    return board


@pytest.fixture
def other_board(company) -> Project:
    return make_project(company, "Mobile")


@pytest.fixture
def columns(board) -> dict[str, BoardColumn]:
    return {column.title: column for column in board.columns.all()}


@pytest.fixture
def alice(db):
    return make_user(
        "alice",
        headline="Lead Developer",
        location="Porto, Portugal",
        timezone_name="Europe/Lisbon",
    )


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def task(board, alice) -> Task:
    return services.create_task(board, "Implement login page", creator=alice, assignees=[alice])


@pytest.fixture
def sprint(board, alice):
    today = timezone.localdate()
    return services.create_sprint(
        board, "Q1 Week 3", creator=alice, date_start=today, date_finish=today + dt.timedelta(14)
    )


@pytest.fixture
def story(board, alice):
    return services.create_user_story(
        board, "As a user, I want to reset my password", creator=alice
    )


class Recorded(list):
    """The event types emitted in a ``with fired() as events:`` block, in order; the
    envelopes they carry are in ``.envelopes``."""

    envelopes: list[dict[str, Any]]

    @property
    def envelope(self) -> dict[str, Any]:
        (only,) = self.envelopes
        return only

    @property
    def data(self) -> dict[str, Any]:
        return self.envelope["data"]


@pytest.fixture
def everything_webhook(db) -> Webhook:
    """An installation-wide webhook subscribed to every event of every project."""
    webhook = Webhook.objects.create(url="http://127.0.0.1:9/everything", name="everything")
    Subscription.objects.create(webhook=webhook, event_type="*")
    return webhook


@pytest.fixture
def fired(everything_webhook):
    """``with fired() as events: <action>`` then ``events == ["issues.store"]``."""

    @contextmanager
    def record() -> Iterator[Recorded]:
        last = Event.objects.aggregate(last=Max("pk"))["last"] or 0
        recorded = Recorded()
        yield recorded
        events = list(Event.objects.filter(pk__gt=last).order_by("pk"))
        recorded.extend(event.event_type for event in events)
        recorded.envelopes = [json.loads(event.body) for event in events]

    return record

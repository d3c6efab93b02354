"""A worker that loses its database connection while sending records what it sent on a
new one, and re-sends nothing (PostgreSQL: the server ends the sessions)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from webhooks_app.engine import delivery
from webhooks_app.models import Delivery, DeliveryLog
from webhooks_app.testing import Reply

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="the server ends sessions: PostgreSQL"
    ),
]


def terminate_backend(pid: int) -> None:
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def sent_once_and_recorded(receiver, count: int) -> None:
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == count  # nothing sent twice
    assert Delivery.objects.filter(status="succeeded").count() == count
    assert DeliveryLog.objects.count() == count


def test_recording_survives_a_terminated_database_connection(webhook, receiver, make_item):
    with transaction.atomic():
        for i in range(20):
            make_item(title=f"t{i}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (worker_pid,) = cursor.fetchone()
    terminated = []

    def kill_the_workers_session(request) -> None:  # while the worker's requests are out
        if not terminated:
            terminated.append(worker_pid)
            terminate_backend(worker_pid)

    receiver.on_request = kill_the_workers_session
    receiver.default = Reply(delay=0.05)

    delivery.drain(time_limit=60)

    assert terminated
    sent_once_and_recorded(receiver, 20)


def test_recording_survives_a_session_the_server_closed_while_the_worker_was_sending(
    webhook, receiver, make_item, webhooks_settings
):
    # One slot: while its request is out, the worker has nothing to claim or record, so
    # its session sits idle.
    webhooks_settings(CONCURRENCY=1)
    with transaction.atomic():
        for i in range(3):
            make_item(title=f"t{i}")
    with connection.cursor() as cursor:
        # As a proxy or a server setting does: an idle session is closed after 1 s.
        cursor.execute("SET idle_session_timeout = '1s'")
    receiver.default = Reply(delay=2)  # each request leaves the session idle for 2 s

    delivery.drain(time_limit=60)

    sent_once_and_recorded(receiver, 3)

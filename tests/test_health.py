"""The health report: a stall is visible within minutes, to a command and a monitor."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from webhooks_app.health import report
from webhooks_app.models import Delivery, Webhook, WebhookStatus

pytestmark = pytest.mark.django_db


def due_for(seconds: float) -> None:
    Delivery.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - timedelta(seconds=seconds)
    )


def health(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("webhooks_health", *args, stdout=out)
    except SystemExit as exit:
        return int(exit.code), out.getvalue()
    return 0, out.getvalue()


def test_the_command_reports_a_backlog_older_than_its_threshold_and_exits_1(webhook, make_item):
    make_item()
    make_item()
    due_for(600)  # nobody has claimed them for ten minutes

    code, out = health()
    assert code == 1
    assert "no worker holds: 600 s old (STALLED" in out
    assert "2 due" in out and "FROZEN" in out
    assert "'When workers stall'" in out

    assert health("--stall-after", "900")[0] == 0


def test_a_fresh_backlog_or_none_is_healthy(webhook, make_item):
    assert health() == (0, health()[1])
    assert "Nothing is due." in health()[1]
    make_item()
    code, out = health()
    assert code == 0 and "within bounds" in out


def test_held_and_paused_deliveries_are_reported_but_are_not_a_stall(
    make_webhook, make_item, other_project
):
    paused = make_webhook("http://127.0.0.1:9/paused")
    held = make_webhook("http://127.0.0.1:9/held")
    make_item()
    due_for(3600)
    Webhook.objects.filter(pk=paused.pk).update(
        consecutive_failures=2, paused_until=timezone.now() + timedelta(minutes=5)
    )
    Webhook.objects.filter(pk=held.pk).update(status=WebhookStatus.AUTO_DISABLED)

    current = report()
    assert not current.stalled and current.oldest_due_age is None
    rows = {row.webhook: row for row in current.backlog}
    assert rows[str(paused.uuid)].due == 1 and rows[str(paused.uuid)].paused_until
    assert rows[str(held.uuid)].held == 1 and rows[str(held.uuid)].due == 0
    assert current.failing == [str(paused.uuid)] and current.disabled == [str(held.uuid)]


def test_the_json_view_is_for_staff_or_the_token_and_answers_503_when_stalled(
    client, django_user_model, webhook, make_item, webhooks_settings
):
    url = "/webhooks/health/"
    assert client.get(url).status_code == 403

    webhooks_settings(HEALTH_TOKEN="s3cret")
    assert client.get(url, HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    healthy = client.get(url, HTTP_AUTHORIZATION="Bearer s3cret")
    assert healthy.status_code == 200 and healthy.json()["stalled"] is False

    make_item()
    due_for(600)
    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    stalled = client.get(url)
    assert stalled.status_code == 503
    body = json.loads(stalled.content)
    assert body["stalled"] is True and body["oldest_due_age"] >= 600
    assert body["backlog"][0]["due"] == 1


def test_a_backlog_a_live_worker_holds_is_worked_not_frozen(webhook, make_item):
    from tests.conftest import held_by_a_worker

    for _ in range(3):
        make_item()
    due_for(600)
    token = held_by_a_worker(limit=1)[0].claim_token
    assert Webhook.objects.get().worked_by == token  # the claim leased the endpoint

    current = report()
    assert not current.stalled
    row = current.backlog[0]
    assert (row.due, row.in_flight, row.worked, row.frozen) == (2, 1, True, False)
    assert current.oldest_due_age >= 600 and current.oldest_unworked_age is None


def test_claims_a_dead_worker_left_count_as_unworked_from_its_last_renewal(webhook, make_item):
    from tests.conftest import held_by_a_worker
    from webhooks_app.engine.claims import WORKER_LEASE

    make_item()
    held_by_a_worker()
    # The worker died 90 s ago: neither its claim nor its endpoint lease was renewed.
    lease_end = timezone.now() - timedelta(seconds=90 - WORKER_LEASE)
    Delivery.objects.update(next_attempt_at=lease_end)
    Webhook.objects.update(worked_until=lease_end)

    current = report()
    assert current.frozen_endpoints == [str(webhook.uuid)]
    assert 89 <= current.oldest_unworked_age <= 91
    assert report(stall_after=120).stalled is False


def test_a_delivery_task_no_worker_starts_is_a_frozen_queue(db):
    from webhooks_app.engine.queue import task_started
    from webhooks_app.models import DeliveryTaskMarker

    waiting = DeliveryTaskMarker.objects.filter(pk=1)
    waiting.update(task_waiting_since=timezone.now() - timedelta(seconds=30))
    assert not report().stalled  # a task may wait a little for a free worker

    waiting.update(task_waiting_since=timezone.now() - timedelta(seconds=61))
    code, out = health()
    assert code == 1 and report().queue_frozen
    assert "A delivery task has waited 61 s for a worker (STALLED)" in out

    task_started(timezone.now())  # the restarted cluster took one
    assert health()[0] == 0


def test_a_frozen_queue_counts_from_when_the_unstarted_task_was_enqueued(db):
    from webhooks_app.engine.queue import QUEUED_COVERS_FOR, ask_for_help
    from webhooks_app.models import DeliveryTaskMarker

    enqueued = timezone.now() - timedelta(seconds=10)
    # A commit enqueued a task 10 s ago; it never started (its coverage still runs).
    DeliveryTaskMarker.objects.update(covered_until=enqueued + QUEUED_COVERS_FOR)
    ask_for_help()  # a watchdog found its deliveries unworked

    waited = (timezone.now() - report().queue_waiting_since).total_seconds()
    assert 9.5 <= waited <= 12

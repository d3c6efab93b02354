"""Delivery against real HTTP servers on 127.0.0.1: success, faults and retries."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.conftest import held_by_a_worker, only_on_django_q2
from tests.testapp.models import Project
from webhooks_app import operations, signals
from webhooks_app.engine import delivery, probes, transport
from webhooks_app.models import Delivery, DeliveryLog, Event, Webhook, WebhookStatus
from webhooks_app.signing import verify
from webhooks_app.testing import Receiver, Reply

pytestmark = pytest.mark.django_db

SCHEDULE = [60, 300, 1800, 7200, 43200]


def only_delivery() -> Delivery:
    return Delivery.objects.select_related("event", "webhook").get()


def test_created_item_is_delivered_signed_with_envelope_and_headers(
    webhook, receiver, make_item, deliver
):
    item = make_item(title="Write docs")

    assert deliver() == 1

    (request,) = receiver.wait_for(1)
    assert request.verified is True, request.error
    body = request.json()
    assert body["event"] == "items.store"
    assert body["timestamp"].endswith("Z")
    assert body["data"]["uuid"] == str(item.uuid)
    assert body["data"]["title"] == "Write docs"
    assert "changes" not in body
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Acme Webhook"
    assert headers["X-Header"] == "Acme"
    assert headers["X-Webhook-Event"] == "items.store"
    event = Event.objects.get()
    assert headers["webhook-id"] == event.msg_id
    assert headers["X-Webhook-Signature-256"].startswith("sha256=")

    delivery = only_delivery()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    log = DeliveryLog.objects.get()
    assert log.outcome == DeliveryLog.Outcome.SUCCESS
    assert log.response_status == 200 and log.response_body == "ok"
    assert headers["X-Webhook-Delivery"] == str(log.uuid)
    assert log.request_body.encode() == request.body  # exactly the bytes sent
    assert log.request_headers["webhook-signature"] == headers["webhook-signature"]
    assert log.trigger == "event" and log.duration_ms > 0


def test_update_sends_changes_from_and_to(webhook, receiver, make_item, deliver):
    item = make_item(title="Old")
    item.title = "New"
    item.save()
    item.save()  # no change: no event

    deliver()

    # Sends to one endpoint may overlap, so they may arrive in either order.
    requests = sorted(receiver.wait_for(2), key=lambda r: r.event)
    assert [r.event for r in requests] == ["items.store", "items.update"]
    body = requests[1].json()
    assert body["changes"] == {"title": {"from": "Old", "to": "New"}}
    assert body["data"]["title"] == "New"
    assert Event.objects.count() == 2


def test_deleted_item_is_described_as_it_was(webhook, receiver, make_item, deliver):
    item = make_item(title="Doomed")
    uuid = str(item.uuid)
    item.delete()

    deliver()

    destroyed = {r.event: r for r in receiver.wait_for(2)}["items.destroy"]
    assert destroyed.json()["data"] == {
        **destroyed.json()["data"],
        "uuid": uuid,
        "title": "Doomed",
    }


def test_rolled_back_transaction_sends_nothing(
    webhook, receiver, make_item, deliver, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        make_item()
        raise RuntimeError("host's request failed")

    assert callbacks == []  # the queue was never asked
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert deliver() == 0
    assert receiver.count == 0


def test_queue_is_asked_once_per_transaction_after_commit(
    webhook, make_item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for i in range(5):
            make_item(title=f"t{i}")
    assert len(callbacks) == 1
    assert Delivery.objects.count() == 5


def test_server_error_is_retried_on_the_backoff_schedule(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(FAILURE_THRESHOLD=100)
    receiver.default = Reply(status=500, body=b"boom")
    make_item()

    deliver()
    delays = []
    for _ in SCHEDULE:
        d = only_delivery()
        assert d.status == Delivery.Status.PENDING
        delays.append((d.next_attempt_at - d.last_attempt_at).total_seconds())
        assert deliver(at=d.next_attempt_at - timedelta(seconds=1)) == 0  # not before it is due
        assert deliver(at=d.next_attempt_at + timedelta(seconds=1)) == 1

    for delay, base in zip(delays, SCHEDULE, strict=True):
        assert base * 0.8 - 1 <= delay <= base * 1.2 + 1
    d = only_delivery()
    assert d.status == Delivery.Status.FAILED and d.attempts == 6
    assert d.next_attempt_at is None
    logs = list(DeliveryLog.objects.order_by("attempt"))
    assert [log.attempt for log in logs] == [1, 2, 3, 4, 5, 6]
    assert [log.trigger for log in logs] == ["event"] + ["retry"] * 5
    assert all(log.response_status == 500 and log.response_body == "boom" for log in logs)
    assert logs[-1].next_attempt_at is None and logs[0].next_attempt_at is not None
    assert receiver.count == 6
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_retry_after_header_is_honoured(webhook, receiver, make_item, deliver):
    receiver.reply(Reply(status=429, headers={"Retry-After": "3600"}))
    make_item()
    deliver()
    d = only_delivery()
    assert (d.next_attempt_at - d.last_attempt_at).total_seconds() >= 3600


def test_timeout_is_a_failure_and_retried(webhook, receiver, make_item, deliver, webhooks_settings):
    webhooks_settings(TIMEOUT=0.5)
    receiver.reply(Reply(delay=5))
    make_item()
    deliver()
    log = DeliveryLog.objects.get()
    assert log.outcome == "failure" and log.response_status is None
    assert log.error == "no response within 0.5 s (the sender's limit)"
    assert log.duration_ms < 3000
    assert only_delivery().status == Delivery.Status.PENDING


def test_connection_refused_is_a_failure_and_retried(
    make_webhook, closed_port_url, make_item, deliver
):
    make_webhook(closed_port_url)
    make_item()
    deliver()
    log = DeliveryLog.objects.get()
    assert log.outcome == "failure" and log.response_status is None
    port = closed_port_url.split(":")[2].split("/")[0]
    assert log.error == f"connection refused by 127.0.0.1:{port}"
    d = only_delivery()
    assert d.status == Delivery.Status.PENDING and d.next_attempt_at > timezone.now()


def test_redirect_is_not_followed_and_counts_as_failure(webhook, receiver, make_item, deliver):
    with Receiver() as elsewhere:
        receiver.reply(Reply(status=302, headers={"Location": elsewhere.url}))
        make_item()
        deliver()
        assert elsewhere.count == 0
    log = DeliveryLog.objects.get()
    assert log.outcome == "failure" and log.response_status == 302
    assert "not followed" in log.error


def test_gone_disables_the_endpoint_at_once(
    webhook, receiver, make_item, deliver, django_capture_on_commit_callbacks, webhooks_settings
):
    webhooks_settings(ENDPOINT_CONCURRENCY=1)  # one request at a time: the second waits
    receiver.reply(Reply(status=410))
    disabled = []
    signals.webhook_disabled.connect(
        lambda **kw: disabled.append(kw), weak=False, dispatch_uid="t410"
    )
    try:
        make_item()
        make_item()
        with django_capture_on_commit_callbacks(execute=True):
            deliver()
    finally:
        signals.webhook_disabled.disconnect(dispatch_uid="t410")
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.GONE
    assert receiver.count == 1
    assert [d["reason"] for d in disabled] == ["gone"]
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == ["failed", "pending"]  # the second is held, not lost


def scheduled_attempts_to_a_dead_endpoint(webhook, receiver, make_item, deliver) -> list:
    """One event, an endpoint answering 503: each attempt made at the time the last one
    scheduled (the clock the worker claims by). Returns those times."""
    receiver.default = Reply(status=503)
    make_item()
    times = [timezone.now()]
    assert deliver(at=times[0]) == 1
    while Webhook.objects.get(pk=webhook.pk).status == WebhookStatus.ACTIVE:
        times.append(Delivery.objects.get().next_attempt_at)
        assert deliver(at=times[-1]) == 1
    return times


def test_a_dead_endpoint_is_disabled_at_its_fifth_failure_and_still_gets_the_12_hour_retry(
    webhook, receiver, make_item, deliver
):
    """iceScrum's rule (disabled after 5 failures in a row) and AgileTune's schedule
    (retries after 1 min, 5 min, 30 min, 2 h and 12 h) both hold."""
    times = scheduled_attempts_to_a_dead_endpoint(webhook, receiver, make_item, deliver)
    webhook.refresh_from_db()
    assert len(times) == 5 and webhook.consecutive_failures == 5
    assert webhook.status == WebhookStatus.AUTO_DISABLED
    probe_at = webhook.probe_at
    assert probe_at == Delivery.objects.get().next_attempt_at
    # Disabled: the workers send it nothing, however late it gets...
    assert deliver(at=probe_at + timedelta(days=1)) == 0
    # ...but the sweep makes the scheduled retry, once, when it is due.
    assert probes.send_due(now=probe_at - timedelta(seconds=1)) == 0
    assert probes.send_due(now=probe_at) == 1
    assert probes.send_due(now=probe_at + timedelta(days=1)) == 0
    times.append(probe_at)

    assert receiver.count == 6
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    for gap, planned in zip(gaps, [60, 300, 1800, 7200, 43200], strict=True):
        assert 0.8 * planned <= gap <= 1.2 * planned, (gaps, planned)
    delivery_ = Delivery.objects.get()
    assert (delivery_.status, delivery_.attempts) == ("failed", 6)  # the schedule is spent
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.AUTO_DISABLED and webhook.probe_at is None


def test_an_endpoint_answering_the_12_hour_retry_gets_it_and_stays_disabled_until_enabled(
    webhook, receiver, make_item, deliver
):
    scheduled_attempts_to_a_dead_endpoint(webhook, receiver, make_item, deliver)
    make_item(title="while disabled")  # held
    receiver.default = Reply(status=200)
    assert probes.send_due(now=Webhook.objects.get(pk=webhook.pk).probe_at) == 1

    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["pending", "succeeded"]
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.AUTO_DISABLED and webhook.consecutive_failures == 0
    assert operations.enable(webhook) == 1 and deliver() == 1
    assert receiver.count == 7


def test_fifth_consecutive_failure_disables_endpoint(
    webhook, receiver, make_item, deliver, django_capture_on_commit_callbacks
):
    receiver.default = Reply(status=503)
    disabled = []
    signals.webhook_disabled.connect(
        lambda **kw: disabled.append(kw), weak=False, dispatch_uid="t5"
    )
    try:
        make_item(title="first")
        deliver()
        for failures in range(1, 5):
            webhook.refresh_from_db()
            assert webhook.is_active and webhook.consecutive_failures == failures
            # Paused until its retry is due: a new event waits rather than fail too.
            make_item(title=f"while paused {failures}")
            assert deliver() == 0
            with django_capture_on_commit_callbacks(execute=True):
                assert deliver(at=webhook.paused_until + timedelta(seconds=1)) == 1  # a probe
    finally:
        signals.webhook_disabled.disconnect(dispatch_uid="t5")

    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.AUTO_DISABLED
    assert "5 consecutive failed deliveries" in webhook.disabled_detail
    assert len(disabled) == 1 and disabled[0]["webhook"].pk == webhook.pk

    # Disabled: nothing more is attempted, even once retries fall due...
    make_item(title="while disabled")
    assert deliver(after=86400) == 0
    assert receiver.count == 5
    # ...and nothing is lost: re-enabled, every held delivery goes out.
    receiver.default = Reply(status=200)
    assert operations.enable(webhook) == 6
    assert deliver() == 6
    assert receiver.count == 11
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.consecutive_failures == 0


def test_success_resets_the_consecutive_failure_count(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(ENDPOINT_CONCURRENCY=1)
    receiver.reply(*[Reply(status=422)] * 4)  # answered, so not paused: retried later
    for i in range(4):
        make_item(title=f"t{i}")
        deliver()
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 4 and webhook.is_failing

    make_item(title="ok")
    deliver()
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0 and webhook.status == WebhookStatus.ACTIVE


def test_a_failing_endpoint_waits_for_its_retry_and_then_gets_one_probe_at_a_time(
    webhook, receiver, make_item, deliver
):
    receiver.default = Reply(status=502)
    with transaction.atomic():
        for i in range(10):
            make_item(title=f"t{i}")
    attempted = deliver()
    # The first requests were in flight together; then the endpoint is paused.
    assert attempted == receiver.count <= 4
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == attempted and webhook.paused_until
    pending = Delivery.objects.filter(status="pending")
    assert pending.count() == 10
    assert pending.filter(attempts=0).count() == 10 - attempted  # waiting, not failed
    assert deliver() == 0

    receiver.default = Reply(status=200)
    assert deliver(at=webhook.paused_until + timedelta(seconds=1)) >= 1
    webhook.refresh_from_db()  # the probe succeeded: the endpoint is no longer paused
    assert webhook.consecutive_failures == 0 and webhook.paused_until is None
    deliver(after=3600)  # the rest, once their own retries are due
    assert Delivery.objects.filter(status="succeeded").count() == 10


def test_huge_response_body_is_capped_in_the_log(webhook, receiver, make_item, deliver):
    receiver.reply(Reply(body=b"x" * 5_000_000))
    make_item()
    deliver()
    log = DeliveryLog.objects.get()
    assert log.outcome == "success"
    assert len(log.response_body) == 20_000


def test_trickling_response_is_cut_at_the_deadline(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(TIMEOUT=1)
    receiver.reply(Reply(body=b"y" * 200, drip=0.05))
    make_item()
    deliver()
    log = DeliveryLog.objects.get()
    assert log.response_status == 200
    assert "cut short" in log.error
    assert log.duration_ms < 5000


def test_private_addresses_are_refused_unless_allowed(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(ALLOWED_NETWORKS=[])
    make_item()
    deliver()
    log = DeliveryLog.objects.get()
    assert log.outcome == "failure"
    # Never what the name resolved to: a test ping would map the internal DNS.
    assert log.error == "blocked: the address is not public"
    assert receiver.count == 0


@pytest.mark.parametrize(
    "host, error",
    [
        ("localhost", "blocked: the address is not public"),
        ("nowhere.invalid", "DNS lookup of nowhere.invalid failed"),
        ("a" * 64 + ".example", "DNS lookup of " + "a" * 64 + ".example failed"),
    ],
)
def test_a_failure_to_connect_is_worded_for_a_person(host, error, webhooks_settings):
    webhooks_settings(ALLOWED_NETWORKS=[])
    response = transport.post(f"http://{host}:9/hook", b"{}", {})  # never raises
    assert response.status is None and response.transport_failure
    assert response.error == error


def test_sweep_recovers_a_delivery_whose_task_was_lost(webhook, receiver, make_item):
    from webhooks_app.tasks import sweep

    make_item()  # in this test's transaction: on_commit never runs, as if the broker lost it
    assert sweep() == 1
    assert receiver.wait_for(1)[0].verified


def test_sweep_recovers_a_delivery_whose_worker_died(webhook, receiver, make_item, deliver):
    make_item()
    (claimed,) = held_by_a_worker()  # a worker claims it, then dies before sending
    assert deliver() == 0  # its lease protects it from double sending meanwhile
    assert deliver(at=claimed.next_attempt_at + timedelta(seconds=1)) == 1
    assert receiver.count == 1
    assert only_delivery().status == Delivery.Status.SUCCEEDED


def test_redelivery_keeps_the_message_id_and_starts_a_new_round(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(RETRY_SCHEDULE=[])
    receiver.reply(Reply(status=500))
    make_item()
    deliver()
    d = only_delivery()
    assert d.status == Delivery.Status.FAILED

    operations.redeliver(d)
    deliver()
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["X-Webhook-Delivery"] != second.headers["X-Webhook-Delivery"]
    log = DeliveryLog.objects.order_by("-attempt").first()
    assert (log.attempt, log.trigger, log.outcome) == (2, "redelivery", "success")


def test_subscriptions_select_exact_events_families_or_everything(
    make_webhook, project, other_project, make_item, deliver
):
    with Receiver() as exact, Receiver() as family, Receiver() as everything, Receiver() as org:
        make_webhook(exact.url, ["items.update"])
        make_webhook(family.url, ["items.*"])
        make_webhook(everything.url, ["*"])
        make_webhook(org.url, ["*"], project=None)
        make_webhook(Receiver().url, ["items.tags.*"])
        item = make_item()
        item.title = "changed"
        item.save()
        make_item(project=other_project)
        deliver()
        assert exact.count == 1
        assert family.count == 2
        assert everything.count == 2
        assert org.count == 3  # installation-wide: every project's events


def test_a_refused_project_sends_nothing_even_to_organisation_wide_webhooks(
    make_webhook, project, other_project, make_item, deliver, receiver
):
    make_webhook(receiver.url, ["*"], project=None)
    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.FREE)

    make_item(title="on the Free plan")
    make_item(title="on the Pro plan", project=other_project)

    assert deliver() == 1
    (request,) = receiver.wait_for(1)
    assert request.json()["data"]["title"] == "on the Pro plan"
    assert Delivery.objects.count() == 1


def test_deliveries_queued_before_a_plan_downgrade_are_held_until_the_plan_allows_them(
    webhook, project, receiver, make_item, deliver
):
    from webhooks_app.engine.routing import project_gate

    make_item(title="queued on the Pro plan")
    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.FREE)
    project_gate._answers.clear()  # as the rule's cached answer expires (0.5 s)

    assert deliver() == 0
    assert receiver.count == 0
    held = Delivery.objects.get()
    assert held.status == "pending" and held.claim_token is None  # held, not lost

    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.PRO)
    project_gate._answers.clear()
    assert deliver(after=delivery.PLAN_RECHECK + 1) == 1
    assert receiver.count == 1


def test_manually_disabled_webhook_gets_nothing(webhook, receiver, make_item, deliver):
    operations.disable(webhook)
    make_item()
    assert deliver() == 0
    assert not Delivery.objects.exists()
    assert webhook.status == "disabled"


def test_test_ping_is_sent_at_once_and_reports_its_outcome(webhook, receiver):
    log = operations.send_test(webhook)
    assert log.outcome == DeliveryLog.Outcome.SUCCESS
    assert log.delivery.status == Delivery.Status.SUCCEEDED
    (request,) = receiver.wait_for(1)
    assert request.event == "ping" and request.verified
    assert json.loads(request.body)["data"]["webhook"]["uuid"] == str(webhook.uuid)


def test_emitting_an_unknown_event_is_an_error(db):
    from webhooks_app import emit
    from webhooks_app.exceptions import UnknownEventError, WebhookError

    with pytest.raises(UnknownEventError) as info:
        emit("items.stroe", {})
    assert isinstance(info.value, WebhookError)


def recording_statements() -> int:
    """PostgreSQL records an event in one statement; SQLite in three (event, deliveries,
    task marker) in one transaction."""
    return 1 if connection.vendor == "postgresql" else 3


def test_fan_out_to_fifty_webhooks_takes_the_same_statements_as_to_one(
    make_webhook, make_item, django_assert_num_queries
):
    make_webhook("http://127.0.0.1:9/a")
    make_item()  # this process reads its routing map
    with django_assert_num_queries(1 + recording_statements()):  # the host's INSERT, then ours
        make_item()
    for i in range(49):
        make_webhook(f"http://127.0.0.1:9/{i}")
    make_item()
    with django_assert_num_queries(1 + recording_statements()):
        make_item()
    assert Event.objects.count() == 4
    assert Delivery.objects.count() == 1 + 1 + 50 + 50
    assert Webhook.objects.count() == 50


def test_a_save_nobody_subscribes_to_costs_no_query(
    make_webhook, make_item, other_project, django_assert_num_queries
):
    make_webhook("http://127.0.0.1:9/a", ["items.tags.*"])
    make_webhook("http://127.0.0.1:9/b", ["items.*"], project=other_project)
    make_item()
    with django_assert_num_queries(1):  # the host's own INSERT
        make_item()
    assert not Event.objects.exists()


def test_tls_is_verified_unless_the_webhook_opts_out(
    make_webhook, self_signed_cert, make_item, deliver
):
    with Receiver(tls=self_signed_cert) as tls_receiver:
        strict = make_webhook(tls_receiver.url)
        make_item()
        deliver()
        log = DeliveryLog.objects.get(webhook=strict)
        assert log.outcome == "failure"
        assert log.error == "TLS certificate not trusted: self-signed certificate"
        assert tls_receiver.count == 0

        strict.delete()
        lax = make_webhook(tls_receiver.url, verify_tls=False)
        make_item()
        deliver()
        assert DeliveryLog.objects.get(webhook=lax).outcome == "success"
        assert tls_receiver.count == 1


@only_on_django_q2
def test_migrate_creates_the_sweep_and_purge_schedules():
    from django_q.models import Schedule

    from webhooks_app.runners.django_q2 import PURGE_NAME, PURGE_TASK, SWEEP_NAME, SWEEP_TASK

    schedule = Schedule.objects.get(name=SWEEP_NAME)
    assert schedule.func == SWEEP_TASK
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1
    assert schedule.repeats == -1
    assert Schedule.objects.get(name=PURGE_NAME).func == PURGE_TASK


def test_failed_deliveries_since_a_time_can_be_redelivered_together(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(RETRY_SCHEDULE=[], FAILURE_THRESHOLD=100)
    receiver.default = Reply(status=500)
    old = make_item(title="old")
    deliver()
    Delivery.objects.filter(event__body__contains=str(old.uuid)).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    make_item(title="a")
    make_item(title="b")
    deliver()
    assert Delivery.objects.filter(status="failed").count() == 3

    receiver.default = Reply(status=200)
    assert operations.redeliver_failed(webhook, timezone.now() - timedelta(days=1)) == 2
    assert deliver() == 2
    assert Delivery.objects.filter(status="succeeded").count() == 2
    assert Delivery.objects.get(status="failed").event.body.count(str(old.uuid)) == 1


def test_muted_block_emits_nothing_and_later_saves_report_only_new_changes(webhook, make_item):
    from webhooks_app.registry import muted

    with muted():
        item = make_item(title="quiet")
        item.title = "still quiet"
        item.save()
    assert not Event.objects.exists()
    item.title = "loud"
    item.save()
    (event,) = Event.objects.all()
    assert json.loads(event.body)["changes"] == {"title": {"from": "still quiet", "to": "loud"}}


def test_redelivery_never_takes_a_delivery_from_a_worker_sending_it(
    webhook, receiver, make_item, deliver
):
    make_item()
    (held,) = held_by_a_worker(1)  # a worker is sending it right now
    with pytest.raises(operations.DeliveryInFlight):
        operations.redeliver(held, now=True)
    assert receiver.count == 0
    assert deliver(at=held.next_attempt_at + timedelta(seconds=1)) == 1  # its lease ran out
    d = only_delivery()
    log = operations.redeliver(d, now=True)
    assert (log.attempt, log.outcome) == (2, DeliveryLog.Outcome.SUCCESS)
    d.refresh_from_db()
    assert receiver.count == 2 and d.attempts == 2 and d.status == Delivery.Status.SUCCEEDED


def test_disabling_an_auto_disabled_webhook_by_hand_stops_it_collecting(webhook, make_item):
    Webhook.objects.filter(pk=webhook.pk).update(status=WebhookStatus.AUTO_DISABLED)
    webhook.refresh_from_db()
    assert operations.disable(webhook) is False  # it was not enabled: no signal
    assert webhook.status == "disabled"
    make_item()
    assert not Delivery.objects.exists()


def test_enabling_leaves_alone_what_a_worker_is_sending(webhook, receiver, make_item, deliver):
    make_item()
    (held,) = held_by_a_worker(1)
    operations.disable(webhook)
    operations.enable(webhook)
    assert deliver() == 0  # still the worker's: not re-queued behind its back
    held.refresh_from_db()
    assert held.claim_token is not None


def test_headers_sent_a_byte_at_a_time_are_cut_off_at_the_deadline(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(TIMEOUT=1)
    receiver.reply(Reply(drip_headers=0.05))  # ~4 s of headers, each byte well within 1 s
    make_item()
    deliver()
    log = DeliveryLog.objects.get()
    assert log.outcome == "failure" and log.response_status is None
    assert log.error == "no response within 1 s (the sender's limit)"
    assert log.duration_ms < 2500


def test_a_connection_reused_after_a_cut_off_request_works(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(TIMEOUT=1, FAILURE_THRESHOLD=100)
    receiver.reply(Reply(drip_headers=0.05))
    make_item()
    deliver()
    make_item()
    deliver(after=3600)  # past the pause the timeout caused
    outcomes = list(DeliveryLog.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["failure", "success", "success"]  # the first one's retry, then the second


def test_a_webhook_gets_the_signatures_headers_and_body_format_it_asked_for(
    make_webhook, receiver, make_item, deliver
):
    webhook = make_webhook(
        receiver.url,
        signatures=["github", "icescrum"],
        extra_headers={"X-Tenant": "acme", "Authorization": "Bearer t0ken"},
        content_type="form",
    )
    make_item(title="Ship it")
    deliver()

    (request,) = receiver.wait_for(1)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["X-Tenant"] == "acme"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["x-icescrum-event"] == "items.store"
    assert "webhook-signature" not in request.headers
    for scheme in ("github", "icescrum"):
        assert verify(request.body, request.headers, webhook.secret, schemes=[scheme])
    form = parse_qs(request.body.decode("ascii"), strict_parsing=True)
    assert json.loads(form["payload"][0])["data"]["title"] == "Ship it"

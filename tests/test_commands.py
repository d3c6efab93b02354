"""Management commands a host runs by hand or from cron."""

from __future__ import annotations

import io

from django.core.management import call_command


def test_deliver_webhooks_sends_what_is_due_in_this_process(webhook, make_item, receiver):
    make_item(title="Sent from cron")
    out = io.StringIO()

    call_command("deliver_webhooks", stdout=out)

    [request] = receiver.wait_for(1)
    assert request.verified and request.event == "items.store"
    assert "1 delivery attempt(s) made." in out.getvalue()


def test_deliver_webhooks_with_nothing_due_sends_nothing(webhook, receiver):
    out = io.StringIO()

    call_command("deliver_webhooks", "--time-limit", "5", stdout=out)

    assert receiver.count == 0
    assert "0 delivery attempt(s) made." in out.getvalue()

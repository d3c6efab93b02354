"""What is recorded of an answer: stored as it came, apart from what no database holds."""

from __future__ import annotations

from webhooks_app.models import Delivery, DeliveryLog
from webhooks_app.testing import Reply


def test_an_answer_with_nul_characters_is_recorded(webhook, receiver, make_item, deliver):
    # PostgreSQL's text holds no NUL: the log shows a replacement character instead.
    receiver.reply(Reply(body=b"a\x00b", headers={"X-Odd": "c\x00d"}))
    make_item()
    deliver()
    log = DeliveryLog.objects.get()
    assert log.response_body == "a\ufffdb"
    assert log.response_headers["X-Odd"] == "c\ufffdd"
    assert Delivery.objects.get().status == "succeeded"

"""The durable inbox across process restarts, over real HTTP: our sender delivers to a
``runserver`` process on the test database, which is killed and started again."""

from __future__ import annotations

import pytest

from tests.testapp.models import Tag
from tests.testapp.receivers import RECEIVER_SECRET
from webhooks_app import operations
from webhooks_app.inbox.models import Message
from webhooks_app.models import Delivery, DeliveryLog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def to_receiver(make_webhook):
    """Our webhook to the test host's inbox view in a ``DjangoServer``."""

    def make(server):
        return make_webhook(server.url("/receive/items/"), secret=RECEIVER_SECRET)

    return make


def test_a_message_handled_before_a_restart_is_not_handled_again(
    django_server, to_receiver, make_item, deliver
):
    first = django_server()
    to_receiver(first)
    make_item(title="Ship it")
    deliver()
    assert DeliveryLog.objects.get().response_status == 204
    first.kill()

    django_server(first.port)
    log = operations.redeliver(Delivery.objects.get(), now=True)
    assert log is not None and log.response_status == 200
    assert list(Tag.objects.values_list("name", flat=True)) == ["got Ship it"]
    message = Message.objects.get()
    assert (message.status, message.attempts) == ("handled", 1)


def test_a_message_whose_handler_failed_is_handled_by_the_retry_after_a_restart(
    django_server, to_receiver, make_item, deliver
):
    first = django_server(TESTAPP_RECEIVER_ANSWERS="503")
    to_receiver(first)
    make_item(title="Retry me")
    deliver()
    assert DeliveryLog.objects.get().response_status == 503
    assert not Tag.objects.exists()  # the handler's write went with its error answer
    assert Message.objects.get().status == "failed"
    first.kill()

    django_server(first.port)
    deliver(after=3600)  # the sender's retry
    statuses = list(DeliveryLog.objects.order_by("pk").values_list("response_status", flat=True))
    assert statuses == [503, 204]
    assert list(Tag.objects.values_list("name", flat=True)) == ["got Retry me"]
    message = Message.objects.get()
    assert (message.status, message.attempts) == ("handled", 2)

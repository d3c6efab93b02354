"""The hot paths' value preparation gives what the model fields themselves give."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from webhooks_app.engine.sql import preparer
from webhooks_app.models import Delivery, DeliveryLog

PLUS_TWO = timezone(timedelta(hours=2))
VALUES = [
    ("created_at", datetime(2026, 12, 3, 10, 17, 19, 123456, tzinfo=UTC)),
    ("created_at", datetime(2026, 12, 3, 10, 17, 19, tzinfo=UTC)),  # no microseconds
    ("created_at", datetime(2026, 12, 3, 1, 2, 3, 4, tzinfo=PLUS_TWO)),  # another zone
    ("next_attempt_at", None),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("request_headers", {"webhook-id": "msg_1", "Accents": "é"}),
]


@pytest.mark.parametrize(("name", "value"), VALUES)
def test_prepared_values_are_what_the_field_writes(name, value):
    field = DeliveryLog._meta.get_field(name)
    expected = None if value is None else field.get_db_prep_save(value, connection)
    prepared = preparer(DeliveryLog, [name])([value])[0]
    assert type(prepared) is type(expected)
    assert str(prepared) == str(expected)


def test_a_naive_datetime_is_left_to_the_field(settings):
    naive = datetime(2026, 12, 3, 10, 17, 19)
    field = Delivery._meta.get_field("next_attempt_at")
    expected = field.get_db_prep_save(naive, connection)
    assert preparer(Delivery, ["next_attempt_at"])([naive]) == [expected]

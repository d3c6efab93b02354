import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from webhooks_app.checks import check_settings


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"PROJECT_MODEL": "agile.Nope"}, "webhooks_app.E001"),
        ({"TIMEOUT": 45}, "webhooks_app.E002"),
        ({"TIMEOUT": "30"}, "webhooks_app.E002"),
        ({"RETRY_SCHEDULE": [60, -1]}, "webhooks_app.E003"),
        ({"RETRY_JITTER": 2}, "webhooks_app.E003"),
        ({"FAILURE_THRESHOLD": 0}, "webhooks_app.E004"),
        ({"CONCURRENCY": "16"}, "webhooks_app.E004"),
        ({"ENDPOINT_CONCURRENCY": 0}, "webhooks_app.E004"),
        ({"EXTRA_EVENTS": [("bad*", "x")]}, "webhooks_app.E005"),
        ({"ALLOWED_NETWORKS": ["not-a-net"]}, "webhooks_app.E008"),
        ({"RETENTION": 0}, "webhooks_app.E009"),
        ({"RETENTION": "30"}, "webhooks_app.E009"),
        ({"SUBSCRIPTION_REFRESH": 5}, "webhooks_app.E010"),
        ({"RETRY_SCHEDULES": [1]}, "webhooks_app.W001"),
    ],
)
def test_bad_setting_is_reported_with_a_stable_id_naming_it(settings, changes, expected):
    settings.WEBHOOKS = {**settings.WEBHOOKS, **changes}
    messages = check_settings()
    assert expected in {m.id for m in messages}
    (name,) = changes
    assert any(name in m.msg for m in messages if m.id == expected)


def test_default_settings_pass_the_checks():
    assert check_settings() == []


def test_bad_setting_stops_manage_py_check(settings):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "TIMEOUT": 0}
    with pytest.raises(SystemCheckError, match=r"webhooks_app\.E002"):
        call_command("check")


def test_host_events_extend_the_catalog(settings):
    from webhooks_app.events import catalog

    settings.WEBHOOKS = {
        **settings.WEBHOOKS,
        "EXTRA_EVENTS": [("invoices.paid", "Invoice paid", "Billing")],
    }
    assert catalog.get("invoices.paid").category == "Billing"
    assert catalog.is_valid_pattern("invoices.*")
    assert len(catalog) == 27

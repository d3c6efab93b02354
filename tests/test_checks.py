"""Every configuration mistake is a system check with a stable id naming the setting."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests.conftest import ROOT
from tests.testapp.models import Item, Tag
from webhooks_app.checks import check_settings
from webhooks_app.registry import ModelEvents, registry


def reported(messages, id_: str) -> list[str]:
    return [m.msg for m in messages if m.id == id_]


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"PROJECT_MODEL": "testapp.Nope"}, "webhooks_app.E001"),
        ({"PROJECT_MODEL": None}, "webhooks_app.E001"),
        ({"PROJECT_MODEL": "Project"}, "webhooks_app.E001"),
        ({"TIMEOUT": 45}, "webhooks_app.E002"),
        ({"TIMEOUT": "30"}, "webhooks_app.E002"),
        ({"RETRY_SCHEDULE": [60, -1]}, "webhooks_app.E003"),
        ({"RETRY_JITTER": 2}, "webhooks_app.E003"),
        ({"FAILURE_THRESHOLD": 0}, "webhooks_app.E004"),
        ({"CONCURRENCY": "16"}, "webhooks_app.E004"),
        ({"ENDPOINT_CONCURRENCY": 0}, "webhooks_app.E004"),
        ({"EVENTS": [("bad*", "x")]}, "webhooks_app.E005"),
        ({"EVENTS": "tests.testapp.events.NOPE"}, "webhooks_app.E005"),
        ({"EVENTS": "tests.testapp.events"}, "webhooks_app.E005"),
        ({"ALLOWED_NETWORKS": ["not-a-net"]}, "webhooks_app.E008"),
        ({"RETENTION": 0}, "webhooks_app.E009"),
        ({"RETENTION": "30"}, "webhooks_app.E009"),
        ({"SUBSCRIPTION_REFRESH": 5}, "webhooks_app.E010"),
        ({"MANAGE_PERMISSION": "tests.testapp.rules.nope"}, "webhooks_app.E012"),
        ({"MANAGE_PERMISSION": "tests.testapp.rules"}, "webhooks_app.E012"),
        ({"ACTIVATION_RULE": "no_such_module.rule"}, "webhooks_app.E012"),
        ({"ACTIVATION_RULE": 42}, "webhooks_app.E012"),
        ({"DURABLE_AUTOCOMMIT": "yes"}, "webhooks_app.E013"),
        ({"BLOCK_PRIVATE_ADDRESSES": 1}, "webhooks_app.E013"),
        ({"RETRY_SCHEDULES": [1]}, "webhooks_app.W001"),
        ({"ORGANIZATION_MODEL": "testapp.Nope"}, "webhooks_app.E022"),
        ({"ORGANIZATION_MODEL": "Organization"}, "webhooks_app.E022"),
        ({"PROJECT_ORGANIZATION_FIELD": "company"}, "webhooks_app.E023"),
        ({"PROJECT_ORGANIZATION_FIELD": "name"}, "webhooks_app.E023"),
        ({"ORGANIZATION_MODEL": "testapp.Tag"}, "webhooks_app.E023"),
        ({"PROJECT_ORGANIZATION_FIELD": None}, "webhooks_app.E024"),
        ({"ORGANIZATION_MODEL": None}, "webhooks_app.E024"),
    ],
)
def test_bad_setting_is_reported_with_a_stable_id_naming_it(webhooks_settings, changes, expected):
    webhooks_settings(**changes)
    (name,) = changes
    assert any(name in message for message in reported(check_settings(), expected))


def test_networks_given_as_a_string_are_one_error_not_one_per_character(webhooks_settings):
    webhooks_settings(ALLOWED_NETWORKS="10.0.0.0/8")

    (message,) = reported(check_settings(), "webhooks_app.E008")
    assert "must be a list" in message


def test_the_tests_settings_pass_the_checks():
    assert check_settings() == []


@pytest.mark.django_db  # Django 6's check command also runs the database checks
def test_bad_setting_stops_manage_py_check(webhooks_settings):
    webhooks_settings(TIMEOUT=0)
    with pytest.raises(SystemCheckError, match=r"webhooks_app\.E002"):
        call_command("check")


@pytest.fixture
def registration():
    """Register a ModelEvents class for the test; the test app's own is restored after."""
    registered: list = []

    def register(model, config_class):
        registered.append(model)
        return registry.register(model, config_class)

    yield register
    from tests.testapp.webhooks import ItemEvents

    for model in registered:
        registry.unregister(model)
        registry.rejected.pop(model, None)
    registry.register(Item, ItemEvents)


@pytest.mark.django_db
def test_a_wrong_project_field_is_a_check_and_never_breaks_a_save(registration, project):
    class TagEvents(ModelEvents):
        project_field = "projekt"
        created = "items.tags.add"

        def serialize(self, tag):
            return {"name": tag.name}

    registration(Tag, TagEvents)

    assert Tag not in registry
    (message,) = reported(check_settings(), "webhooks_app.E006")
    assert "'projekt'" in message and "TagEvents" in message
    Tag.objects.create(name="urgent")  # not connected: the host's save is unharmed


def test_a_registration_emitting_an_unknown_event_is_a_check(registration):
    class TagEvents(ModelEvents):
        project_field = None
        created = "tags.store"

        def serialize(self, tag):
            return {"name": tag.name}

    registration(Tag, TagEvents)

    (message,) = reported(check_settings(), "webhooks_app.E007")
    assert "'tags.store'" in message and "WEBHOOKS['EVENTS']" in message


def manage_py_check(tmp_path, settings_code: str) -> subprocess.CompletedProcess:
    """``manage.py check`` in a fresh process whose settings are the tests' plus ``code``."""
    module = tmp_path / "check_settings.py"
    module.write_text("from tests.settings import *  # noqa\n" + textwrap.dedent(settings_code))
    return subprocess.run(
        [sys.executable, "-m", "django", "check"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{tmp_path}:{ROOT}",
            "DJANGO_SETTINGS_MODULE": "check_settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "settings_code, expected",
    [
        ("WEBHOOKS = {k: v for k, v in WEBHOOKS.items() if k != 'PROJECT_MODEL'}", "E001"),
        ("WEBHOOKS = {**WEBHOOKS, 'PROJECT_MODEL': 'testapp.Projcet'}", "E001"),
        ("WEBHOOKS = {**WEBHOOKS, 'ORGANIZATION_MODEL': 'testapp.Organisation'}", "E022"),
        ("INSTALLED_APPS = [a for a in INSTALLED_APPS if a != 'django_q']", "E011"),
        ("Q_CLUSTER = {**Q_CLUSTER, 'timeout': 30}", "W002"),
        ("del Q_CLUSTER", "E015"),
        ("WEBHOOKS = {**WEBHOOKS, 'TIMEOUT': 30, 'TASK_TIME_LIMIT': 10}", "E014"),
        ("WEBHOOKS = {**WEBHOOKS, 'RUNNER': 'rq'}", "E016"),
        (
            "import sys\nsys.modules['celery'] = None\nWEBHOOKS = {**WEBHOOKS, 'RUNNER': 'celery'}",
            "E017",
        ),
        ("WEBHOOKS = {**WEBHOOKS, 'RUNNER': 'celery'}", "E018"),
        ("WEBHOOKS = {**WEBHOOKS, 'RUNNER': 'tasks'}\nTASKS = None", "E019"),
        (
            "WEBHOOKS = {**WEBHOOKS, 'RUNNER': 'tasks'}\nTASKS = {'default': "
            "{'BACKEND': 'django_tasks.backends.dummy.DummyBackend'}}",
            "E019",
        ),
    ],
    ids=[
        "project-model-missing",
        "project-model-misspelled",
        "organization-model-misspelled",
        "no-django-q",
        "short-timeout",
        "no-q-cluster",
        "task-limit-near-timeout",
        "unknown-runner",
        "celery-not-installed",
        "no-celery-app",
        "no-tasks-backend",
        "dummy-tasks-backend",
    ],
)
def test_a_mistake_that_would_break_startup_is_reported_by_manage_py_check(
    tmp_path, settings_code, expected
):
    done = manage_py_check(tmp_path, settings_code)

    assert "Traceback" not in done.stderr, done.stderr
    assert f"webhooks_app.{expected}" in done.stderr + done.stdout
    if expected.startswith("E"):
        assert done.returncode == 1

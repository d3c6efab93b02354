"""Checks of the host's setup around the WEBHOOKS dict: the API's urls, its SQLite
options, webhooks stored against loopback in production, misspelled keys, and the
refusal of a loopback URL naming the setting that allows it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.test_checks import manage_py_check
from webhooks_app.checks import (
    check_api_mounted,
    check_loopback_webhooks,
    check_settings,
    sqlite_problems,
)
from webhooks_app.validators import validate_endpoint_url

GOOD_SQLITE = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
}


def sqlite(options=None, name="db.sqlite3"):
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": name, "OPTIONS": options or {}}


def test_a_misspelled_key_is_told_the_setting_it_was_meant_to_be(webhooks_settings):
    webhooks_settings(TIMOUT=30)

    [warning] = [m for m in check_settings() if m.id == "webhooks_app.W001"]

    assert "'TIMOUT'" in warning.msg
    assert warning.hint.startswith("Did you mean 'TIMEOUT'?")


def test_a_key_like_no_setting_gets_no_suggestion(webhooks_settings):
    webhooks_settings(COLOUR="blue")

    [warning] = [m for m in check_settings() if m.id == "webhooks_app.W001"]

    assert "Did you mean" not in warning.hint


def test_the_api_mounted_with_rest_framework_installed_is_fine():
    assert check_api_mounted() == []


def test_the_api_mounted_without_rest_framework_in_installed_apps_is_an_error(tmp_path):
    done = manage_py_check(
        tmp_path, "INSTALLED_APPS = [a for a in INSTALLED_APPS if a != 'rest_framework']"
    )

    assert "Traceback" not in done.stderr, done.stderr
    assert "webhooks_app.E021" in done.stderr
    assert "django-webhooks-app[api]" in done.stderr
    assert done.returncode == 1


def test_a_host_without_the_api_needs_no_rest_framework(tmp_path):
    (tmp_path / "no_api_urls.py").write_text(
        "from django.urls import include, path\n"
        "urlpatterns = [path('p/<int:project_pk>/', include('webhooks_app.portal.urls'))]\n"
    )
    done = manage_py_check(
        tmp_path,
        """
        INSTALLED_APPS = [a for a in INSTALLED_APPS if a != 'rest_framework']
        ROOT_URLCONF = 'no_api_urls'
        """,
    )

    assert "webhooks_app.E021" not in done.stderr + done.stdout
    assert done.returncode == 0, done.stderr


def test_sqlite_without_the_options_is_warned_naming_each_missing_key():
    [warning] = sqlite_problems({"default": sqlite()})

    assert warning.id == "webhooks_app.W005"
    for key in ("'init_command'", "'transaction_mode'", "'timeout'"):
        assert key in warning.msg
    assert "database is locked" in warning.msg


def test_sqlite_missing_one_option_is_warned_about_that_one_only():
    options = {**GOOD_SQLITE, "transaction_mode": "DEFERRED"}

    [warning] = sqlite_problems({"default": sqlite(options)})

    assert "'transaction_mode'" in warning.msg
    assert "'init_command'" not in warning.msg and "'timeout'" not in warning.msg


@pytest.mark.parametrize(
    "databases",
    [
        {"default": sqlite(GOOD_SQLITE)},
        {"default": sqlite(name=":memory:")},
        {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}},
    ],
    ids=["sqlite-with-options", "in-memory", "postgresql"],
)
def test_databases_that_do_not_lock_are_not_warned(databases):
    assert sqlite_problems(databases) == []


def test_the_tests_own_database_passes():
    from django.conf import settings

    assert sqlite_problems(settings.DATABASES) == []


@pytest.mark.django_db
def test_loopback_webhooks_in_production_are_warned(settings, make_webhook):
    settings.DEBUG = False
    make_webhook("http://localhost:8000/hook")
    make_webhook("http://127.0.0.1:9000/hook")
    make_webhook("https://hooks.example.com/in")

    [warning] = check_loopback_webhooks(databases=["default"])

    assert warning.id == "webhooks_app.W006"
    assert "2 webhook(s)" in warning.msg and "localhost:8000" in warning.msg
    assert "ALLOWED_NETWORKS" in warning.hint


@pytest.mark.django_db
@pytest.mark.parametrize(
    "debug, networks, block", [(True, ["127.0.0.0/8"], True), (False, [], True)]
)
def test_loopback_webhooks_in_development_or_refused_anyway_are_not_warned(
    settings, webhooks_settings, make_webhook, debug, networks, block
):
    make_webhook("http://localhost:8000/hook")
    settings.DEBUG = debug
    webhooks_settings(ALLOWED_NETWORKS=networks, BLOCK_PRIVATE_ADDRESSES=block)

    assert check_loopback_webhooks(databases=["default"]) == []


@pytest.mark.django_db
def test_the_loopback_check_runs_only_where_database_checks_run(settings, make_webhook):
    make_webhook("http://localhost:8000/hook")

    assert check_loopback_webhooks(databases=None) == []


def test_a_loopback_url_is_refused_naming_the_setting_that_allows_it(webhooks_settings):
    webhooks_settings(ALLOWED_NETWORKS=[])

    with pytest.raises(ValidationError) as refused:
        validate_endpoint_url("http://127.0.0.1:8000/hook")

    [message] = refused.value.messages
    assert "loopback" in message and "WEBHOOKS['ALLOWED_NETWORKS']" in message

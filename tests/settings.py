"""Settings of the library's own tests: a tiny host (``tests.testapp``) and nothing else.

The database and broker come from the environment, so the same suite runs on the embedded
default (SQLite, django-q2's ORM broker) and on PostgreSQL with Redis:

    WEBHOOKS_DB=postgres     PostgreSQL on 127.0.0.1:5432
    WEBHOOKS_BROKER=redis    Redis on 127.0.0.1:6379 rather than the ORM broker
    WEBHOOKS_RUNNER=celery   deliver on Celery (tests/celery_app.py; Redis broker
                             WEBHOOKS_CELERY_BROKER), or =tasks: Django's Tasks framework
                             with django-tasks-db's database workers

Tests that start a real ``qcluster`` or script point it at the test database through
``WEBHOOKS_SQLITE_PATH`` / ``WEBHOOKS_PG_NAME`` (see ``tests.conftest.other_process_env``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import django

BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS = BASE_DIR / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)

SECRET_KEY = "webhooks-app-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_q",
    "tests.testapp",
    "webhooks_app",
    "webhooks_app.inbox",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database() -> dict[str, Any]:
    if os.environ.get("WEBHOOKS_DB") == "postgres":
        name = os.environ.get("WEBHOOKS_PG_NAME", "webhooks_app_tests")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": os.environ.get("WEBHOOKS_PG_USER", "postgres"),
            "HOST": os.environ.get("WEBHOOKS_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("WEBHOOKS_PG_PORT", "5432"),
            "TEST": {"NAME": os.environ.get("WEBHOOKS_PG_TEST_NAME", "test_webhooks_app")},
        }
    # A file, not pytest-django's in-memory default: a qcluster subprocess must see it.
    path = os.environ.get("WEBHOOKS_SQLITE_PATH", str(ARTIFACTS / "tests.sqlite3"))
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "TEST": {"NAME": os.environ.get("WEBHOOKS_TEST_SQLITE", path)},
        "OPTIONS": {
            # Test processes and qcluster workers write to one file (see docs/operating.md,
            # Databases): WAL, write lock taken up front, and a writer that waits.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }


DATABASES = {"default": _database()}

Q_CLUSTER: dict[str, Any] = {
    "name": os.environ.get("WEBHOOKS_Q_NAME", "webhooks-tests"),
    "workers": int(os.environ.get("WEBHOOKS_Q_WORKERS", "2")),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 1,
    "ack_failures": True,
    "poll": 0.1,
    "catch_up": False,
    "log_level": os.environ.get("Q_LOG_LEVEL", "WARNING"),
}
if os.environ.get("WEBHOOKS_BROKER") == "redis":
    Q_CLUSTER["redis"] = {
        "host": os.environ.get("WEBHOOKS_REDIS_HOST", "127.0.0.1"),
        "port": 6379,
        "db": int(os.environ.get("WEBHOOKS_REDIS_DB", "0")),
    }
else:
    Q_CLUSTER["orm"] = "default"

# The runner that delivers (django-q2 stays installed either way: its tests are skipped).
RUNNER = os.environ.get("WEBHOOKS_RUNNER", "django-q2")
if RUNNER == "celery":
    # Read by tests/celery_app.py (namespace CELERY). The queue is named for this test
    # run, as the django-q2 cluster is, so that runs sharing a Redis do not mix.
    CELERY_BROKER_URL = os.environ.get("WEBHOOKS_CELERY_BROKER", "redis://127.0.0.1:6379/0")
    CELERY_TASK_DEFAULT_QUEUE = Q_CLUSTER["name"]
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False
    CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
elif RUNNER == "tasks":
    INSTALLED_APPS += ["django_tasks_db"]
    if django.VERSION < (6, 0):
        INSTALLED_APPS += ["django_tasks"]  # the backport
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default"],
        }
    }

WEBHOOKS = {
    "RUNNER": RUNNER,
    "PROJECT_MODEL": "testapp.Project",
    "ORGANIZATION_MODEL": "testapp.Organization",
    "PROJECT_ORGANIZATION_FIELD": "organization",
    "EVENTS": "tests.testapp.events.EVENTS",
    "PRODUCT_NAME": "Acme",
    # The tests' receivers listen on 127.0.0.1; the SSRF guard is tested with this removed.
    "ALLOWED_NETWORKS": ["127.0.0.0/8"],
    "MANAGE_PERMISSION": "tests.testapp.rules.can_manage",
    "ACTIVATION_RULE": "tests.testapp.rules.plan_allows_webhooks",
    # A real qcluster started by a test reads these settings too: let the test size them.
    "CONCURRENCY": int(os.environ.get("WEBHOOKS_CONCURRENCY", "16")),
    # ... and any other setting, as JSON (a qcluster a test starts with a short TIMEOUT).
    **json.loads(os.environ.get("WEBHOOKS_OVERRIDES", "{}")),
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_q": {"handlers": ["console"], "level": os.environ.get("Q_LOG_LEVEL", "WARNING")},
        "webhooks_app": {"handlers": ["console"], "level": "WARNING"},
    },
}

if django.VERSION >= (6, 1):
    # Django 6.1 sends through MAILERS; tests read what was sent from mail.outbox.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

"""Settings of the example product's tests: the example project, on the test databases."""

import os

import django

from example_project.settings import *  # noqa: F403
from example_project.settings import BASE_DIR, DATABASES, Q_CLUSTER

ARTIFACTS = BASE_DIR / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not pytest-django's in-memory default: a qcluster subprocess must see it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("WEBHOOKS_TEST_SQLITE", str(ARTIFACTS / "example.sqlite3"))
    }
else:
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("WEBHOOKS_PG_TEST_NAME", "test_webhooks_example")
    }

Q_CLUSTER["name"] = os.environ.get("WEBHOOKS_Q_NAME", "webhooks-example-tests")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if django.VERSION >= (6, 1):
    # Django 6.1 sends through MAILERS; tests read what was sent from mail.outbox.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

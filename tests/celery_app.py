"""The tests' Celery app, as a host defines its own (Celery's "First steps with Django"):
configured from Django's settings (CELERY_*), imported by ``tests/__init__.py`` when the
suite runs on Celery (WEBHOOKS_RUNNER=celery). ``celery -A tests.celery_app worker``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("webhooks_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")

"""The benchmarks' Celery app (``celery -A bench.celery_app worker``), configured from
bench/settings.py's CELERY_* settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

app = Celery("webhooks_bench")
app.config_from_object("django.conf:settings", namespace="CELERY")

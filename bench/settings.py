"""Settings of the benchmarks' own processes (qcluster, receivers): the example project,
with WEBHOOKS values a benchmark passes in its environment as JSON (BENCH_WEBHOOKS)."""

import json
import os

import django

from example_project.settings import *  # noqa: F403
from example_project.settings import WEBHOOKS

WEBHOOKS = {**WEBHOOKS, **json.loads(os.environ.get("BENCH_WEBHOOKS", "{}"))}

# The other runners, for bench/throughput.py --only runners (which picks one at a time).
INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]  # noqa: F405
if django.VERSION < (6, 0):
    INSTALLED_APPS += ["django_tasks"]  # the backport
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CELERY_BROKER_URL = os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/0")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("WEBHOOKS_Q_NAME", "webhooks-bench")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

"""The shop's Celery app, as Celery's "First steps with Django" defines one; it runs the
webhook deliveries: ``celery -A shop worker --beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")

"""Settings of the minimal example host: everything webhooks_app needs, nothing more."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only"
DEBUG = True
USE_TZ = True
ROOT_URLCONF = "shop.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "webhooks_app",
    "orders",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
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
STATIC_URL = "static/"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_SQLITE", BASE_DIR / "shop.sqlite3"),
        # The web process and the workers write one file (webhooks_app.W005).
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
        # A file: the test's Celery worker, another process, reads it.
        "TEST": {"NAME": BASE_DIR / "test-shop.sqlite3"},
    }
}

# Celery runs the deliveries (shop/celery.py): `celery -A shop worker --beat`.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("SHOP_CELERY_QUEUE", "shop")

WEBHOOKS = {
    "RUNNER": "celery",
    # Webhooks belong to a store (or to every store when they have none).
    "PROJECT_MODEL": "orders.Store",
    "PRODUCT_NAME": "Shop",
    # The whole catalog: (name, description[, category]).
    "EVENTS": [
        ("orders.created", "An order was placed", "Orders"),
        ("orders.shipped", "An order left the warehouse", "Orders"),
    ],
    # The test worker's receiver listens on 127.0.0.1, which the SSRF guard refuses.
    "ALLOWED_NETWORKS": ["127.0.0.0/8"] if os.environ.get("SHOP_TEST_WORKER") else [],
}

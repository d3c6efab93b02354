"""Settings of the minimal example host: everything webhooks_app needs, nothing more."""

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
    "django_q",
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
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "shop.sqlite3"}}

# django-q2 runs the deliveries: `python manage.py qcluster`.
Q_CLUSTER = {"name": "shop", "workers": 2, "timeout": 120, "retry": 180, "orm": "default"}

WEBHOOKS = {
    # Webhooks belong to a store (or to every store when they have none).
    "PROJECT_MODEL": "orders.Store",
    "PRODUCT_NAME": "Shop",
    # The whole catalog: (name, description[, category]).
    "EVENTS": [
        ("orders.created", "An order was placed", "Orders"),
        ("orders.shipped", "An order left the warehouse", "Orders"),
    ],
}

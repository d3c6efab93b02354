"""Settings of the example host project.

The database and broker come from the environment so the same project runs the demo on
SQLite with django-q2's ORM broker, and the CI's second leg on PostgreSQL with Redis:

    WEBHOOKS_DB=postgres     use PostgreSQL on 127.0.0.1:5432 (database WEBHOOKS_PG_NAME)
    WEBHOOKS_SQLITE_PATH     the SQLite file otherwise (default: db.sqlite3 here)
    WEBHOOKS_BROKER=redis    use Redis on 127.0.0.1:6379 rather than the ORM broker
"""

import os
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "example_project.agile",
    "webhooks_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
WSGI_APPLICATION = "example_project.wsgi.application"

if os.environ.get("WEBHOOKS_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("WEBHOOKS_PG_NAME", "webhooks_example"),
            "USER": os.environ.get("WEBHOOKS_PG_USER", "postgres"),
            "HOST": os.environ.get("WEBHOOKS_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("WEBHOOKS_PG_PORT", "5432"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("WEBHOOKS_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # The web process and the qcluster workers write to one file: WAL lets
                # readers run beside a writer, IMMEDIATE transactions take the write lock
                # up front instead of failing to upgrade a read lock, and the timeout
                # makes a writer wait for the lock rather than error.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

Q_CLUSTER = {
    "name": os.environ.get("WEBHOOKS_Q_NAME", "webhooks-example"),
    "workers": int(os.environ.get("WEBHOOKS_Q_WORKERS", "2")),
    # A delivery task runs at most TASK_TIME_LIMIT + TIMEOUT (90 s by default).
    "timeout": 120,
    "retry": 180,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 100,
    "poll": 0.1,
    "catch_up": False,
    "label": "Task queue",
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

# Where the product is served: the links its resources give (an attachment's download).
AGILE_SITE_URL = os.environ.get("AGILE_SITE_URL", "http://127.0.0.1:8000")

WEBHOOKS = {
    "PROJECT_MODEL": "agile.Project",
    # AgileTune's Organization Settings → Webhooks: a company's webhooks receive the
    # events of every project of the company (Project.company), and of no other company.
    "ORGANIZATION_MODEL": "agile.Company",
    "PROJECT_ORGANIZATION_FIELD": "company",
    # GitScrum's 26 events, as the library ships them.
    "EVENTS": "example_project.agile.gitscrum.EVENTS",
    "PRODUCT_NAME": "AgileBoard",
    # The demo's receiver runs on this machine; a production host keeps the SSRF guard.
    "ALLOWED_NETWORKS": ["127.0.0.0/8"],
    "MANAGE_PERMISSION": "example_project.agile.permissions.can_manage_webhooks",
    "ACTIVATION_RULE": "example_project.agile.permissions.plan_allows_webhooks",
    "NOTIFY_RECIPIENTS": "example_project.agile.permissions.webhook_notice_recipients",
}
# The "webhook disabled" notices go to the console here.
_CONSOLE_MAIL = "django.core.mail.backends.console.EmailBackend"
if django.VERSION >= (6, 1):
    # Django 6.1 configures mail with MAILERS, and deprecates EMAIL_BACKEND.
    MAILERS = {"default": {"BACKEND": _CONSOLE_MAIL}}
else:
    EMAIL_BACKEND = _CONSOLE_MAIL

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AgileBoard webhooks API",
    "DESCRIPTION": "Settings -> Webhooks of a project: endpoints, subscriptions, delivery logs.",
    "VERSION": "1.0.0",
    # Served from the sidecar package: the UI works without reaching a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_q": {"handlers": ["console"], "level": os.environ.get("Q_LOG_LEVEL", "WARNING")},
        "webhooks_app": {"handlers": ["console"], "level": "WARNING"},
    },
}

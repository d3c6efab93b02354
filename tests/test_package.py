"""The package as a host installs it: the wheel alone, with no extra, in a new virtual
environment. Django REST framework is the `[api]` extra, so the core, the admin and the
pages must import, pass `manage.py check` and deliver without it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

# Runs in the new environment, from a directory outside the repository, so nothing of
# the checkout can be imported in place of the installed wheel.
HOST = textwrap.dedent(
    """
    import importlib.util, sys
    import django
    from django.conf import settings

    assert importlib.util.find_spec("rest_framework") is None, "DRF is installed"
    settings.configure(
        DEBUG=False,
        SECRET_KEY="wheel-test",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="host_urls",
        INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "django_q",
            "webhooks_app", "webhooks_app.inbox",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }],
        DATABASES={"default": {
            "ENGINE": "django.db.backends.sqlite3", "NAME": "host.sqlite3",
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;",
                        "transaction_mode": "IMMEDIATE", "timeout": 30},
        }},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        Q_CLUSTER={"name": "wheel", "orm": "default", "timeout": 120, "retry": 180},
        WEBHOOKS={
            "PROJECT_MODEL": "auth.Group",
            "EVENTS": [("groups.renamed", "A group was renamed", "Groups")],
            "ALLOWED_NETWORKS": ["127.0.0.0/8"],
        },
    )
    django.setup()
    from django.core.management import call_command

    call_command("check", fail_level="WARNING")
    call_command("migrate", verbosity=0)

    import webhooks_app
    from django.contrib.auth.models import Group
    from webhooks_app import operations
    from webhooks_app.testing import Receiver, deliver_due

    group = Group.objects.create(name="team")
    with Receiver() as receiver:
        hook = operations.create_webhook(url=receiver.url, project=group, events=["*"])
        receiver.secret = hook.secret
        webhooks_app.emit("groups.renamed", {"name": "team"}, project=group)
        deliver_due()
        [request] = receiver.wait_for(1)
    assert request.verified, request.error
    assert request.json()["data"] == {"name": "team"}
    assert "rest_framework" not in sys.modules
    print("delivered and verified without DRF")
    """
)

URLS = textwrap.dedent(
    """
    from django.contrib import admin
    from django.urls import include, path

    urlpatterns = [
        path("admin/", admin.site.urls),
        path("p/<int:project_pk>/webhooks/", include("webhooks_app.portal.urls")),
    ]
    """
)


def run(*args: str | Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_wheel_without_extras_imports_checks_and_delivers_without_drf(tmp_path):
    dist = tmp_path / "dist"
    run(
        sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", dist, ROOT, cwd=ROOT
    )
    [wheel] = dist.glob("django_webhooks_app-*.whl")
    run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path)
    python = tmp_path / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=tmp_path)
    host = tmp_path / "host"
    host.mkdir()
    (host / "host.py").write_text(HOST)
    (host / "host_urls.py").write_text(URLS)

    out = run(python, "host.py", cwd=host)

    assert "delivered and verified without DRF" in out

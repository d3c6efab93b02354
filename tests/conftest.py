from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from example_project.agile.models import BoardColumn, Project, Task
from webhooks_app import delivery
from webhooks_app.models import Subscription, Webhook
from webhooks_app.testing import Receiver


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def project(db):
    return Project.objects.create(name="Web Platform", slug="web-platform")


@pytest.fixture
def other_project(db):
    return Project.objects.create(name="Mobile", slug="mobile")


@pytest.fixture
def column(project):
    return BoardColumn.objects.create(project=project, title="In Progress", position=1)


@pytest.fixture
def make_webhook(db, project):
    def make(url: str, events=("issues.*",), *, project=project, **fields) -> Webhook:
        webhook = Webhook.objects.create(url=url, project=project, **fields)
        Subscription.objects.bulk_create(
            [Subscription(webhook=webhook, event_type=e) for e in events]
        )
        return webhook

    return make


@pytest.fixture
def webhook(make_webhook, receiver):
    hook = make_webhook(receiver.url)
    receiver.secret = hook.secret
    return hook


@pytest.fixture
def make_task(project):
    def make(**fields) -> Task:
        fields.setdefault("title", "Implement login page")
        fields.setdefault("project", project)
        return Task.objects.create(**fields)

    return make


@pytest.fixture
def deliver():
    """Run the worker's loop in-process, optionally as if at a later time."""

    def run(*, at=None, after: float | None = None) -> int:
        now = at
        if after is not None:
            now = timezone.now() + timedelta(seconds=after)
        return delivery.drain(time_limit=60, now=now)

    return run


@pytest.fixture
def webhooks_settings(settings):
    """Change some WEBHOOKS settings for one test: ``webhooks_settings(TIMEOUT=1)``."""

    def change(**values):
        settings.WEBHOOKS = {**settings.WEBHOOKS, **values}

    return change


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/hook"


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory):
    """A certificate for 127.0.0.1 that no CA vouches for."""
    import subprocess

    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)

"""Fixtures of the library's tests, on the test host ``tests.testapp``.

``receiver``, ``deliver``, ``captured_events`` and ``webhooks_settings`` come from the
package's pytest plugin (:mod:`webhooks_app.pytest_plugin`), as in any host's tests.
Those here that know nothing of the host (make_webhook, the routing-map reset) are
imported by the example product's tests too, so the test app's models are imported
inside the fixtures that need them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from webhooks_app import delivery
from webhooks_app.models import Delivery, Subscription, Webhook

ROOT = Path(settings.BASE_DIR)


def other_process_env(**overrides: str) -> dict[str, str]:
    """The environment of another process (a qcluster, a script) on this test's database."""
    env = os.environ.copy()
    env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        env["WEBHOOKS_SQLITE_PATH"] = name
    else:
        env["WEBHOOKS_PG_NAME"] = name
    env.update(overrides)
    return env


def run_elsewhere(code: str) -> str:
    """Run ``code`` in a fresh Django process on this test's database; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=other_process_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Cluster:
    """A real ``manage.py qcluster`` on this test's database, in a process group of its
    own (a stalled cluster ignores SIGTERM: the whole group is killed)."""

    def __init__(self, workers: int = 1, name: str = "qcluster", **env: str) -> None:
        self.log_path = Path(settings.ARTIFACTS) / f"{name}.log"
        env = other_process_env(WEBHOOKS_Q_WORKERS=str(workers), Q_LOG_LEVEL="INFO", **env)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def worker_pids(self) -> list[int]:
        """Every worker the cluster started (dead ones and their replacements too)."""
        started = re.findall(r"ready for work at (\d+)", self.log_path.read_text())
        return [int(pid) for pid in started]

    def live_workers(self) -> list[int]:
        return [pid for pid in self.worker_pids() if Path(f"/proc/{pid}").exists()]

    def stop(self, timeout: float = 20) -> bool:
        """SIGTERM, then SIGKILL to the whole group; whether SIGTERM was enough."""
        if self.process.poll() is not None:
            return True
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextlib.contextmanager
def qcluster(workers: int = 1, name: str = "qcluster", **env: str) -> Iterator[Cluster]:
    cluster = Cluster(workers, name, **env)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def endpoints_not_known_yet():
    """What this process learnt of endpoints' speed is per webhook id, and test
    databases reuse ids: each test starts knowing none."""
    delivery.forget_endpoints()


@pytest.fixture(autouse=True)
def fresh_routing_map():
    """Each test starts with this process's routing map unread: a previous test's
    rolled-back webhooks must not decide whether this one's events are recorded."""
    from webhooks_app.routing import routing

    routing.invalidate()


@pytest.fixture
def project(db):
    from tests.testapp.models import Project

    return Project.objects.create(name="Web Platform", slug="web-platform")


@pytest.fixture
def other_project(db):
    from tests.testapp.models import Project

    return Project.objects.create(name="Mobile", slug="mobile")


@pytest.fixture
def make_webhook(db, project):
    def make(url: str, events=("items.*",), *, project=project, **fields) -> Webhook:
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
def make_item(project):
    """Save an item: ``items.store`` for every subscriber of the project."""

    from tests.testapp.models import Item

    def make(**fields) -> Item:
        fields.setdefault("title", "Write the release notes")
        fields.setdefault("project", project)
        return Item.objects.create(**fields)

    return make


def manager_of(project: Any, username: str = "manager") -> Any:
    """A user (with an e-mail address) the test host's rule lets manage ``project``."""
    from django.contrib.auth.models import Group, User

    from tests.testapp.rules import managers_group

    user = User.objects.create_user(username, f"{username}@example.com", "x")
    user.groups.add(Group.objects.get_or_create(name=managers_group(project))[0])
    return user


def run_in_threads(count: int, target: Callable[[], object]) -> None:
    """``target`` in ``count`` threads at once (workers, each on its own database
    connection), started together; the first error any of them raised is raised here."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            target()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def held_by_a_worker(limit: int = 10) -> list[Delivery]:
    """Claim as a worker would, and hold: the returned deliveries are in flight."""
    from django.db import transaction

    from webhooks_app.claims import claim

    with transaction.atomic():
        taken = claim(limit, timezone.now())
    return list(Delivery.objects.filter(pk__in=[c.id for c in taken]).order_by("pk"))


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

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
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from webhooks_app.engine import delivery
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


RUNNER = settings.WEBHOOKS.get("RUNNER", "django-q2")
only_on_django_q2 = pytest.mark.skipif(
    RUNNER != "django-q2", reason="django-q2 only (WEBHOOKS_RUNNER names another runner)"
)


def child_pids(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return found


class Cluster:
    """A real ``manage.py qcluster`` on this test's database, in a process group of its
    own (a stalled cluster ignores SIGTERM: the whole group is killed)."""

    def __init__(self, workers: int = 1, name: str = "qcluster", **env: str) -> None:
        self.log_path = Path(settings.ARTIFACTS) / f"{name}.log"
        env = other_process_env(WEBHOOKS_Q_WORKERS=str(workers), Q_LOG_LEVEL="INFO", **env)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                self.command(workers, name),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def command(self, workers: int, name: str) -> list[str]:
        return [sys.executable, "manage.py", "qcluster"]

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


RUNSERVER = [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks"]


class DjangoServer:
    """A real ``manage.py runserver`` on this test's database: another process, which a
    test kills to see what a restart keeps."""

    def __init__(self, port: int = 0, name: str = "runserver", **env: str) -> None:
        self.port = port or _free_port()
        self.log_path = Path(settings.ARTIFACTS) / f"{name}.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [*RUNSERVER, f"127.0.0.1:{self.port}"],
                cwd=ROOT,
                env=other_process_env(**env),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._wait_until_listening()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runserver exited: {self.log_path.read_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"runserver did not listen: {self.log_path.read_text()}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def django_server():
    """Start ``DjangoServer(port, **env)``; every one started is killed at the end."""
    started: list[DjangoServer] = []

    def start(port: int = 0, **env: str) -> DjangoServer:
        started.append(DjangoServer(port, f"runserver-{len(started)}", **env))
        return started[-1]

    yield start
    for server in started:
        server.kill()


class CeleryWorker(Cluster):
    """A real Celery worker (prefork pool, ``workers`` child processes) of the tests'
    Celery app (tests/celery_app.py), on the Redis broker WEBHOOKS_CELERY_BROKER names.
    Its parent process replaces a child that dies."""

    def command(self, workers: int, name: str) -> list[str]:
        return [
            *(sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker"),
            *("--pool", "prefork", "--concurrency", str(workers), "--loglevel", "INFO"),
            *("--hostname", f"{name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle"),
        ]

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)


class TasksWorkers(Cluster):
    """``workers`` real django-tasks-db worker processes (``manage.py db_worker``), each
    restarted when it dies, as the deployment's ``Restart=always`` does."""

    def __init__(self, workers: int = 1, name: str = "db_worker", **env: str) -> None:
        self.log_path = Path(settings.ARTIFACTS) / f"{name}.log"
        self.env = other_process_env(**env)
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed by stop)
        self.processes = [self._start() for _ in range(workers)]
        self.started = [p.pid for p in self.processes]
        self.stopping = threading.Event()
        self.supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.supervisor.start()
        self.process = self.processes[0]

    def _start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--verbosity", "1"]
        command += ["--interval", "0.1", "--no-startup-delay"]
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )

    def _supervise(self) -> None:
        while not self.stopping.wait(0.5):
            for index, process in enumerate(self.processes):
                if process.poll() is not None and not self.stopping.is_set():
                    self.processes[index] = self._start()
                    self.started.append(self.processes[index].pid)

    def worker_pids(self) -> list[int]:
        return list(self.started)

    def stop(self, timeout: float = 20) -> bool:
        self.stopping.set()
        self.supervisor.join()
        stopped = True
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                stopped = False
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.log.close()
        return stopped

    def kill(self) -> None:
        self.stopping.set()
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


WORKERS = {"django-q2": Cluster, "celery": CeleryWorker, "tasks": TasksWorkers}


@contextlib.contextmanager
def workers_running(workers: int = 1, name: str = "workers", **env: str) -> Iterator[Cluster]:
    """Real worker processes of the runner WEBHOOKS_RUNNER names, on this test's database:
    a qcluster with ``workers`` workers, a Celery worker with ``workers`` children, or
    ``workers`` Django Tasks database workers."""
    cluster = WORKERS[RUNNER](workers, name, **env)
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
    from webhooks_app.engine.routing import routing

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
def organization(db, project):
    """The organisation of ``project`` and of a second project, ``sibling``."""
    from tests.testapp.models import Organization, Project

    found = Organization.objects.create(name="Acme")
    project.organization = found
    project.save(update_fields=["organization"])
    Project.objects.create(name="Data", slug="data", organization=found)
    return found


@pytest.fixture
def sibling(organization):
    """Another project of ``organization``."""
    return organization.projects.get(slug="data")


@pytest.fixture
def other_organization(db, other_project):
    """Another organisation, which ``other_project`` belongs to."""
    from tests.testapp.models import Organization

    found = Organization.objects.create(name="Globex")
    other_project.organization = found
    other_project.save(update_fields=["organization"])
    return found


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

    from webhooks_app.engine.claims import claim

    with transaction.atomic():
        taken = claim(limit, timezone.now())
    return list(Delivery.objects.filter(pk__in=[c.id for c in taken]).order_by("pk"))


def answered(claimed: Any, now: Any, status: int = 200) -> Any:
    """An attempt at a claimed delivery that the receiver answered with ``status``."""
    from webhooks_app.engine.outcomes import Attempt
    from webhooks_app.engine.transport import Response

    return Attempt(claimed, delivery.attempt_id(), {}, Response(status=status), now)


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


@pytest.fixture(scope="session")
def node_verifiers():
    """octokit's and AgileTune's verifiers in Node, with the npm package installed once
    under test-artifacts/ (skipped, saying why, without node or the npm registry)."""
    from tests.verifiers import NodeVerifiers

    installed = NodeVerifiers.install(ROOT / "test-artifacts" / "node")
    if isinstance(installed, str):
        pytest.skip(installed)
    return installed


# The markers (pyproject: browser, slow) of whole modules, kept here rather than in each
# file: `-m "not browser"` on a machine without Chromium, `-m "not slow"` for a quick run.
MODULE_MARKERS = {
    "test_browser": "browser",
    "test_portal_browser": "browser",
    "test_workers": "slow",
    "test_recovery": "slow",
    "test_inbox_restart": "slow",
}


def pytest_collection_modifyitems(items):
    for item in items:
        marker = MODULE_MARKERS.get(item.module.__name__.rpartition(".")[2])
        if marker:
            item.add_marker(marker)

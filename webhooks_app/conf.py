"""The ``WEBHOOKS`` settings dict, with documented defaults.

Read lazily, on first use, and read again whenever Django reports the setting changed
(``override_settings`` in tests), so nothing is frozen at import time and the save path
pays a dictionary look-up, not a merge of dicts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from webhooks_app.exceptions import WebhookError


class WebhookConfigurationError(WebhookError, ImproperlyConfigured):
    """The ``WEBHOOKS`` setting, a model registration or a ``webhook_view`` is wrong."""


DEFAULTS: dict[str, Any] = {
    # "app_label.ModelName" of the host's project model. Webhooks belong to one project,
    # to one organisation (below), or to none: installation-wide webhooks, which receive
    # every project's events and are managed by staff in the admin only. Required.
    "PROJECT_MODEL": None,
    # "app_label.ModelName" of the host's organisation model (a company, a workspace: the
    # level above the project), set with PROJECT_ORGANIZATION_FIELD. An organisation's
    # webhooks receive the events of every project of that organisation and no other's.
    # None: no organisation scope. Set both before migrating webhooks_app to 0017: the
    # webhook's organisation column takes the type of this model's primary key.
    "ORGANIZATION_MODEL": None,
    # The name of the project model's foreign key to ORGANIZATION_MODEL (e.g. "company").
    "PROJECT_ORGANIZATION_FIELD": None,
    # Used to build the default User-Agent ("<name> Webhook") and X-Header ("<name>").
    "PRODUCT_NAME": "Webhooks",
    # Override the two headers above entirely (None: derived from PRODUCT_NAME).
    "USER_AGENT": None,
    "X_HEADER": None,
    # Seconds to wait for a receiver: connect, then the whole response. At most 30.
    "TIMEOUT": 30,
    # Seconds to wait before each retry after a failed attempt (1 min, 5 min, 30 min,
    # 2 h, 12 h). After the last one the delivery is given up.
    "RETRY_SCHEDULE": [60, 300, 1800, 7200, 43200],
    # Each retry delay is spread by +/- this fraction so failed receivers are not
    # hammered in lock-step when they come back.
    "RETRY_JITTER": 0.2,
    # A receiver's Retry-After is honoured up to this many seconds.
    "MAX_RETRY_AFTER": 43200,
    # Consecutive failed requests after which an endpoint is disabled.
    "FAILURE_THRESHOLD": 5,
    # Requests one worker process sends at once (its sending threads).
    "CONCURRENCY": 16,
    # Requests in flight to one endpoint, across every worker: an endpoint that hangs
    # holds only these.
    "ENDPOINT_CONCURRENCY": 4,
    # A delivery task claims nothing after this many seconds and leaves the rest to the
    # next task, so one task never runs into django-q2's timeout.
    "TASK_TIME_LIMIT": 60,
    # Bytes of a response body kept in the delivery log (Svix keeps 20,000).
    "RESPONSE_BODY_LIMIT": 20000,
    # Minutes between sweeps (a django-q2 Schedule, a celery beat entry, a Django task
    # that enqueues its successor) that send due retries and recover deliveries whose
    # task was lost or whose worker died; every worker's watchdog does as well.
    "SWEEP_INTERVAL": 1,
    # The host's event catalog: (name, description[, category]) tuples, or the dotted
    # path of such a list (e.g. "example_project.agile.gitscrum.EVENTS").
    "EVENTS": [],
    # The task runner that delivers: "django-q2" (manage.py qcluster), "celery" (a
    # Celery app the host defines; the [celery] extra) or "tasks" (Django's Tasks
    # framework, django.tasks or the django-tasks backport; the [tasks] extra).
    "RUNNER": "django-q2",
    # In autocommit mode an emitting save is two transactions (Django commits the row
    # before post_save runs). On PostgreSQL the event's own transaction does not wait for
    # the disk unless this is True (about 0.3 ms more per save); inside a transaction
    # the event always commits with the host's change.
    "DURABLE_AUTOCOMMIT": False,
    # Seconds between checks that this process's map of who subscribes to what is
    # current: a subscription change made anywhere is honoured by every event emitted
    # this long after it commits. At most 1.
    "SUBSCRIPTION_REFRESH": 0.5,
    # Days finished deliveries, their attempt logs and events nobody is owed any more
    # are kept (Svix keeps 90 days, 30 on its free plan). An hourly task (scheduled
    # by the runner) deletes what is older; None keeps everything. Pending deliveries
    # are never deleted.
    "RETENTION": 30,
    # Seconds during which an emit() with an idempotency_key already used for the same
    # event type records nothing (a retried host task); 24 hours, as Stripe's keys.
    "IDEMPOTENCY_WINDOW": 86400,
    # Seconds during which the previous secret keeps signing after a rotation.
    "SECRET_ROTATION_OVERLAP": 86400,
    # SSRF guard: refuse to connect to loopback, private, link-local, multicast and
    # reserved addresses, checked at connect time for every resolved address.
    "BLOCK_PRIVATE_ADDRESSES": True,
    # Networks (CIDR strings) allowed even though they are private, e.g. ["10.1.0.0/16"].
    "ALLOWED_NETWORKS": [],
    # django-q2 cluster name to enqueue delivery tasks on (None: the default cluster).
    "Q_CLUSTER_NAME": None,
    # Seconds a due delivery may wait with no worker holding it, or a delivery task may
    # wait for a worker, before the health report says delivery is stalled
    # (manage.py webhooks_health exits 1, its JSON view answers 503).
    "STALL_AFTER": 60,
    # A token monitors present (Authorization: Bearer ...) to read the health view;
    # None: staff only.
    "HEALTH_TOKEN": None,
    # Who is e-mailed when a webhook is disabled after failures or a 410: dotted path to
    # (webhook) -> list of addresses. The default asks MANAGE_PERMISSION about every
    # active user with an address; a host with many users gives its own query.
    "NOTIFY_RECIPIENTS": "webhooks_app.notifications.default_recipients",
    # Deliveries given up (their last retry failed) are mailed to the same people as a
    # digest: the first within a sweep, then at most one mail per webhook this often
    # (seconds).
    "GIVEN_UP_DIGEST_EVERY": 3600,
    # The site's address (e.g. "https://app.example.com"), for links in those e-mails to
    # the webhook settings pages. None: the links are paths.
    "BASE_URL": None,
    # --- the REST API (webhooks_app.api) ---
    # Who may see and change a project's webhooks: dotted path to a callable
    # (user, obj) -> bool, where obj is a project, an organisation (its webhooks) or
    # None (installation-wide ones). The default lets superusers and holders of the
    # webhooks_app.change_webhook permission manage every project and organisation.
    "MANAGE_PERMISSION": "webhooks_app.rules.default_can_manage",
    # Whether a project, or an organisation, may activate endpoints (a plan gate): dotted
    # path to a callable (obj) -> None to allow, or a message saying why not. Each
    # project an event belongs to is asked too, so a refused project's events reach no
    # organisation webhook either. Default: always allowed.
    "ACTIVATION_RULE": None,
    # How the API and the pages find the project in the URL they are mounted under.
    "PROJECT_URL_KWARG": "project_pk",
    "PROJECT_LOOKUP_FIELD": "pk",
    # ... and the organisation, under the organisation routes (organization_urls).
    "ORGANIZATION_URL_KWARG": "organization_pk",
    "ORGANIZATION_LOOKUP_FIELD": "pk",
    # Page size of delivery-log listings.
    "PAGE_SIZE": 50,
    # Test pings one "test all" (API) or "send test" (admin) sends while the user waits;
    # each may take up to TIMEOUT, so the rest are reported as not tested.
    "MAX_TESTS_PER_REQUEST": 10,
}


class WebhookSettings:
    """Attribute access to ``settings.WEBHOOKS`` falling back to :data:`DEFAULTS`."""

    def __init__(self) -> None:
        self._values: dict[str, Any] | None = None
        self._imported: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown WEBHOOKS setting {name!r}")
        return self.values()[name]

    def reload(self) -> None:
        self._values = None
        self._imported = {}

    def values(self) -> dict[str, Any]:
        """The merged settings (a new object after each change: a cache key)."""
        if self._values is None:
            user = getattr(settings, "WEBHOOKS", None)
            self._values = {**DEFAULTS, **(user if isinstance(user, dict) else {})}
        return self._values

    def imported(self, name: str) -> Any:
        """The object a dotted-path setting names, imported once (None stays None)."""
        imported = self._imported
        if name not in imported:
            path = getattr(self, name)
            imported[name] = import_string(path) if path else None
        return imported[name]

    @property
    def user_agent(self) -> str:
        return self.USER_AGENT or f"{self.PRODUCT_NAME} Webhook"

    @property
    def x_header(self) -> str:
        return self.X_HEADER or self.PRODUCT_NAME


webhook_settings = WebhookSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "WEBHOOKS":
        webhook_settings.reload()


setting_changed.connect(_reload, dispatch_uid="webhooks_app.conf")


# What the project foreign keys point to while PROJECT_MODEL is missing or malformed: a
# model that never exists, so the app still imports and ``manage.py check`` reports the
# setting (webhooks_app.E001) instead of a traceback.
UNCONFIGURED_PROJECT_MODEL = "webhooks_app.ProjectModelNotConfigured"


def _label(name: str) -> str | None:
    user = getattr(settings, "WEBHOOKS", None)
    label = user.get(name) if isinstance(user, dict) else None
    if isinstance(label, str) and label.count(".") == 1 and all(label.split(".")):
        return label
    return None


def project_model_label() -> str:
    """The project model label for the project foreign keys (read when models load)."""
    return _label("PROJECT_MODEL") or UNCONFIGURED_PROJECT_MODEL


def organization_model_label() -> str:
    """The target of ``Webhook.organization`` (read when models load). Without an
    organisation model it is the project model: a real model, so the app needs no model
    of its own to stand for "none", and a column of the host's usual key type, which
    stays empty (the operations refuse an organisation scope until it is configured)."""
    return _label("ORGANIZATION_MODEL") or project_model_label()

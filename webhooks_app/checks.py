"""System checks: every configuration mistake is reported by ``manage.py check`` with a
stable id and a hint naming the setting, rather than as a traceback or a silent failure.

========  ==================================================================
E000      ``WEBHOOKS`` is not a dict
E001      ``PROJECT_MODEL`` missing, malformed, or not an installed model
E002      ``TIMEOUT`` not seconds in (0, 30]
E003      ``RETRY_SCHEDULE`` / ``RETRY_JITTER``
E004      a setting that must be a positive number
E005      ``EVENTS`` (the catalog)
E006      a model registration (fields, serializer)
E007      a model registration emits an event not in the catalog
E008      ``ALLOWED_NETWORKS``
E009      ``RETENTION``
E010      ``SUBSCRIPTION_REFRESH``
E011      ``django_q`` is not installed while it is the runner: nothing would be delivered
E012      ``MANAGE_PERMISSION`` / ``ACTIVATION_RULE`` / ``NOTIFY_RECIPIENTS`` cannot be
          imported or called
E013      a setting that must be True or False
E014      ``TASK_TIME_LIMIT`` not at least twice ``TIMEOUT``
E015      ``Q_CLUSTER`` missing, or naming no broker this host can reach
E016      ``RUNNER`` names no runner webhooks_app knows
E017      ``RUNNER`` names a runner whose package is not installed
E018      ``RUNNER`` is "celery" and no Celery app is defined
E019      ``RUNNER`` is "tasks" and ``TASKS`` has no backend that runs them
E020      a stored webhook signs with ed25519, and ``cryptography`` is not installed
W001      an unknown key in ``WEBHOOKS`` (with the nearest setting's name)
W002/3    ``Q_CLUSTER`` timeouts too short for a delivery task
W004      a stored webhook sends form bodies with Standard Webhooks signatures, which
          the ``standardwebhooks`` library refuses (saved before that was refused)
E021      the API's urls are mounted and ``rest_framework`` is not in ``INSTALLED_APPS``
E022      ``ORGANIZATION_MODEL`` malformed, or not an installed model
E023      ``PROJECT_ORGANIZATION_FIELD`` is not a foreign key of the project model to
          ``ORGANIZATION_MODEL``
E024      one of ``ORGANIZATION_MODEL`` / ``PROJECT_ORGANIZATION_FIELD`` set without the other
W005      a SQLite database without WAL, ``IMMEDIATE`` transactions and a timeout
W006      stored webhooks point at loopback while ``DEBUG`` is off and
          ``ALLOWED_NETWORKS`` admits loopback
========  ==================================================================

E020, W004 and W006 read the webhooks table: they run where database checks run
(``manage.py check --database default``, ``migrate``, the test runner).
"""

from __future__ import annotations

import difflib
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, router
from django.db.models import Q

from webhooks_app.conf import DEFAULTS, WebhookConfigurationError, webhook_settings
from webhooks_app.signing import ED25519, ed25519_available
from webhooks_app.validators import body_format_refusal

_POSITIVE_INTS = (
    "FAILURE_THRESHOLD",
    "IDEMPOTENCY_WINDOW",
    "CONCURRENCY",
    "ENDPOINT_CONCURRENCY",
    "RESPONSE_BODY_LIMIT",
    "SWEEP_INTERVAL",
    "TASK_TIME_LIMIT",
    "SECRET_ROTATION_OVERLAP",
    "MAX_RETRY_AFTER",
    "PAGE_SIZE",
    "MAX_TESTS_PER_REQUEST",
    "STALL_AFTER",
)
_BOOLEANS = ("BLOCK_PRIVATE_ADDRESSES", "DURABLE_AUTOCOMMIT")
_CALLABLES = {
    "MANAGE_PERMISSION": "a callable (user, project) -> bool",
    "ACTIVATION_RULE": "a callable (project) -> None, or a message saying why not",
    "NOTIFY_RECIPIENTS": "a callable (webhook) -> list of e-mail addresses",
}


def _error(msg: str, id_: str, hint: str | None = None) -> checks.Error:
    return checks.Error(msg, hint=hint, obj="settings.WEBHOOKS", id=id_)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    user = getattr(settings, "WEBHOOKS", None)
    if user is not None and not isinstance(user, dict):
        return [_error("WEBHOOKS must be a dict.", "webhooks_app.E000")]
    errors: list[checks.CheckMessage] = [
        _unknown_key(key) for key in (user or {}) if key not in DEFAULTS
    ]
    for check in (
        _project_model,
        _organization_model,
        _timeouts_and_retries,
        _numbers,
        _catalog,
        _networks,
        _retention,
        _dotted_paths,
        _runner,
    ):
        errors.extend(check())
    return errors


def _unknown_key(key: Any) -> checks.CheckMessage:
    near = difflib.get_close_matches(str(key).upper(), DEFAULTS, n=1, cutoff=0.6)
    hint = f"Did you mean {near[0]!r}? " if near else ""
    return checks.Warning(
        f"WEBHOOKS[{key!r}] is not a setting of webhooks_app; it is ignored.",
        hint=hint + "Known settings: " + ", ".join(sorted(DEFAULTS)),
        obj="settings.WEBHOOKS",
        id="webhooks_app.W001",
    )


def _project_model() -> list[checks.CheckMessage]:
    label = webhook_settings.PROJECT_MODEL
    try:
        apps.get_model(label)
    except (LookupError, ValueError, TypeError, AttributeError):
        return [
            _error(
                f"WEBHOOKS['PROJECT_MODEL'] = {label!r} does not name an installed model.",
                "webhooks_app.E001",
                hint="Set it to 'app_label.ModelName' of the model webhooks belong to, as "
                "AUTH_USER_MODEL names the user model.",
            )
        ]
    return []


def _organization_model() -> list[checks.CheckMessage]:
    label = webhook_settings.ORGANIZATION_MODEL
    name = webhook_settings.PROJECT_ORGANIZATION_FIELD
    if label is None and name is None:
        return []
    if label is None or name is None:
        given, missing = (
            ("ORGANIZATION_MODEL", "PROJECT_ORGANIZATION_FIELD")
            if name is None
            else ("PROJECT_ORGANIZATION_FIELD", "ORGANIZATION_MODEL")
        )
        return [
            _error(
                f"WEBHOOKS[{given!r}] is set and WEBHOOKS[{missing!r}] is not: organisation "
                "webhooks need both.",
                "webhooks_app.E024",
                hint="e.g. 'ORGANIZATION_MODEL': 'accounts.Company' and "
                "'PROJECT_ORGANIZATION_FIELD': 'company' (the project's foreign key to it); "
                "leave both out for no organisation scope.",
            )
        ]
    try:
        organization = apps.get_model(label)
    except (LookupError, ValueError, TypeError, AttributeError):
        return [
            _error(
                f"WEBHOOKS['ORGANIZATION_MODEL'] = {label!r} does not name an installed model.",
                "webhooks_app.E022",
                hint="Set it to 'app_label.ModelName' of the model above the project "
                "(a company, a workspace), or None for no organisation scope.",
            )
        ]
    return _organization_field(organization, name)


def _organization_field(organization: Any, name: Any) -> list[checks.CheckMessage]:
    try:
        project = apps.get_model(webhook_settings.PROJECT_MODEL)
    except (LookupError, ValueError, TypeError, AttributeError):
        return []  # webhooks_app.E001
    try:
        field = project._meta.get_field(name) if isinstance(name, str) else None
    except FieldDoesNotExist:
        field = None
    if field is not None and field.many_to_one and field.related_model is organization:
        return []
    return [
        _error(
            f"WEBHOOKS['PROJECT_ORGANIZATION_FIELD'] = {name!r} is not a foreign key of "
            f"{project._meta.label} to {organization._meta.label} "
            "(WEBHOOKS['ORGANIZATION_MODEL']).",
            "webhooks_app.E023",
            hint="The name of the project model's ForeignKey to ORGANIZATION_MODEL, "
            "e.g. 'company'.",
        )
    ]


def _timeouts_and_retries() -> list[checks.CheckMessage]:
    errors = []
    timeout = webhook_settings.TIMEOUT
    if not _is_number(timeout) or not 0 < timeout <= 30:
        errors.append(
            _error(
                f"WEBHOOKS['TIMEOUT'] = {timeout!r} must be a number of seconds in (0, 30].",
                "webhooks_app.E002",
                hint="Receivers are asked to answer within 30 seconds.",
            )
        )
    schedule = webhook_settings.RETRY_SCHEDULE
    if not isinstance(schedule, (list, tuple)) or not all(
        _is_number(s) and s > 0 for s in schedule
    ):
        errors.append(
            _error(
                f"WEBHOOKS['RETRY_SCHEDULE'] = {schedule!r} must be a list of positive seconds.",
                "webhooks_app.E003",
                hint="e.g. [60, 300, 1800, 7200, 43200]; [] means never retry.",
            )
        )
    jitter = webhook_settings.RETRY_JITTER
    if not _is_number(jitter) or not 0 <= jitter < 1:
        errors.append(
            _error(f"WEBHOOKS['RETRY_JITTER'] = {jitter!r} must be in [0, 1).", "webhooks_app.E003")
        )
    return errors


def _numbers() -> list[checks.CheckMessage]:
    errors = []
    for name in _POSITIVE_INTS:
        value = getattr(webhook_settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(
                _error(
                    f"WEBHOOKS[{name!r}] = {value!r} must be a positive integer.",
                    "webhooks_app.E004",
                )
            )
    for name in _BOOLEANS:
        value = getattr(webhook_settings, name)
        if not isinstance(value, bool):
            errors.append(
                _error(
                    f"WEBHOOKS[{name!r}] = {value!r} must be True or False.", "webhooks_app.E013"
                )
            )
    refresh = webhook_settings.SUBSCRIPTION_REFRESH
    if not _is_number(refresh) or not 0 <= refresh <= 1:
        errors.append(
            _error(
                f"WEBHOOKS['SUBSCRIPTION_REFRESH'] = {refresh!r} must be seconds in [0, 1].",
                "webhooks_app.E010",
                hint="A subscription change is honoured by every process this long after "
                "it commits; 0 checks on every event.",
            )
        )
    return errors


def _catalog() -> list[checks.CheckMessage]:
    from webhooks_app.events import configured_events
    from webhooks_app.registry import registry

    try:
        configured_events()
    except (WebhookConfigurationError, ImportError) as exc:
        problem = str(exc)
        if isinstance(exc, ImportError):
            problem = (
                f"WEBHOOKS['EVENTS'] = {webhook_settings.EVENTS!r} cannot be imported ({exc})."
            )
        return [
            _error(
                problem,
                "webhooks_app.E005",
                hint="e.g. [('orders.paid', 'Order paid', 'Orders')], or "
                "'example_project.agile.gitscrum.EVENTS'.",
            )
        ]
    return [
        checks.Error(message, obj=model._meta.label, id=id_)
        for model, problems in registry.rejected.items()
        for id_, message in problems
    ]


def _networks() -> list[checks.CheckMessage]:
    networks = webhook_settings.ALLOWED_NETWORKS
    hint = "A list of CIDR strings, such as ['10.0.0.0/8']."
    if isinstance(networks, str) or not isinstance(networks, (list, tuple)):
        return [
            _error(
                f"WEBHOOKS['ALLOWED_NETWORKS'] = {networks!r} must be a list of networks.",
                "webhooks_app.E008",
                hint=hint,
            )
        ]
    errors = []
    for net in networks:
        try:
            ipaddress.ip_network(net, strict=False)
        except (TypeError, ValueError):
            errors.append(
                _error(
                    f"WEBHOOKS['ALLOWED_NETWORKS'] has {net!r}, which is not a network.",
                    "webhooks_app.E008",
                    hint=hint,
                )
            )
    return errors


def _retention() -> list[checks.CheckMessage]:
    retention = webhook_settings.RETENTION
    if retention is not None and (
        not isinstance(retention, int) or isinstance(retention, bool) or retention < 1
    ):
        return [
            _error(
                f"WEBHOOKS['RETENTION'] = {retention!r} must be a number of days, or None.",
                "webhooks_app.E009",
                hint="e.g. 30; None keeps the delivery history forever.",
            )
        ]
    return []


def _dotted_paths() -> list[checks.CheckMessage]:
    errors = []
    for name, expected in _CALLABLES.items():
        path = getattr(webhook_settings, name)
        if path is None and name == "ACTIVATION_RULE":
            continue
        try:
            found = webhook_settings.imported(name) if isinstance(path, str) else None
        except ImportError as exc:
            found, problem = None, f"cannot be imported ({exc})"
        else:
            problem = "is not callable"
        if not callable(found):
            errors.append(
                _error(
                    f"WEBHOOKS[{name!r}] = {path!r} {problem}.",
                    "webhooks_app.E012",
                    hint=f"The dotted path of {expected}.",
                )
            )
    return errors


def _runner() -> list[checks.CheckMessage]:
    from webhooks_app.runners import RUNNERS, runner_class

    name = webhook_settings.RUNNER
    try:
        runner = runner_class(name)()
    except WebhookConfigurationError as exc:
        return [
            _error(
                str(exc),
                "webhooks_app.E016",
                hint="'django-q2' (the default), 'celery' or 'tasks' (Django's Tasks).",
            )
        ]
    except ImportError as exc:
        extra = {"celery": "celery", "tasks": "tasks"}.get(name)
        return [
            _error(
                f"WEBHOOKS['RUNNER'] = {name!r} needs a package that is not installed ({exc}).",
                "webhooks_app.E017",
                hint=f"pip install 'django-webhooks-app[{extra}]'"
                if extra
                else f"Install the runner's package ({RUNNERS[name]}).",
            )
        ]
    return runner.configuration_problems() + _time_limit()


def _time_limit() -> list[checks.CheckMessage]:
    limit, timeout = webhook_settings.TASK_TIME_LIMIT, webhook_settings.TIMEOUT
    if not (_is_number(limit) and _is_number(timeout)) or limit >= 2 * timeout:
        return []  # a number that is not one is reported above
    return [
        _error(
            f"WEBHOOKS['TASK_TIME_LIMIT'] ({limit}s) must be at least twice "
            f"WEBHOOKS['TIMEOUT'] ({timeout}s).",
            "webhooks_app.E014",
            hint="A delivery task stops claiming at its limit and waits up to TIMEOUT "
            "for its last requests; a limit close to TIMEOUT spends its time waiting.",
        )
    ]


@checks.register(checks.Tags.database)
def check_stored_webhooks(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Webhooks whose stored configuration cannot be sent, or verified, as it is."""
    problems: list[checks.CheckMessage] = []
    for alias in databases or ():
        try:
            problems += _ed25519_without_cryptography(alias) + _form_with_standard(alias)
        except DatabaseError:
            continue  # not migrated yet, or not this app's database
    return problems


def _ed25519_without_cryptography(alias: str) -> list[checks.CheckMessage]:
    if ed25519_available():
        return []
    webhook = apps.get_model("webhooks_app", "Webhook")
    # Every webhook that ever signed with ed25519 has a key pair.
    rows = webhook._default_manager.using(alias).exclude(signing_key="")
    using = [pk for pk, schemes in rows.values_list("pk", "signatures") if ED25519 in schemes]
    if not using:
        return []
    return [
        checks.Error(
            f"{len(using)} webhook(s) sign with ed25519 (ids {_ids(using)}), but the "
            "cryptography package is not installed: their deliveries fail.",
            hint="pip install 'django-webhooks-app[ed25519]'",
            obj="webhooks_app.Webhook",
            id="webhooks_app.E020",
        )
    ]


def _form_with_standard(alias: str) -> list[checks.CheckMessage]:
    webhook = apps.get_model("webhooks_app", "Webhook")
    rows = webhook._default_manager.using(alias).filter(content_type="form")
    clashing = [
        pk
        for pk, schemes in rows.values_list("pk", "signatures")
        if body_format_refusal(schemes, "form")
    ]
    if not clashing:
        return []
    return [
        checks.Warning(
            f"{len(clashing)} webhook(s) send form bodies signed with Standard Webhooks "
            f"(ids {_ids(clashing)}): the standardwebhooks library refuses every such "
            "delivery. They are still sent as before, so receivers that verify them "
            "otherwise keep working.",
            hint="Give each of them JSON bodies, or signatures other than standard and "
            "ed25519, once its receiver is ready for the change.",
            obj="webhooks_app.Webhook",
            id="webhooks_app.W004",
        )
    ]


def _ids(pks: list[Any]) -> str:
    shown = ", ".join(str(pk) for pk in pks[:10])
    return shown + (", …" if len(pks) > 10 else "")


@checks.register(checks.Tags.urls)
def check_api_mounted(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The API's views render through DRF: mounted without it, every request is a 500."""
    if apps.is_installed("rest_framework"):
        return []
    from django.urls import get_resolver

    if not _mounts_api(get_resolver().url_patterns):
        return []
    return [
        checks.Error(
            "webhooks_app.api's urls are mounted, but 'rest_framework' is not in "
            "INSTALLED_APPS: every request to them would fail with a 500.",
            hint="pip install 'django-webhooks-app[api]' and add 'rest_framework' to "
            "INSTALLED_APPS, or remove the include('webhooks_app.api.urls').",
            obj="settings.ROOT_URLCONF",
            id="webhooks_app.E021",
        )
    ]


def _mounts_api(patterns: Any) -> bool:
    for pattern in patterns:
        module = getattr(pattern, "urlconf_module", None) or getattr(pattern, "callback", None)
        if getattr(module, "__name__", "").startswith("webhooks_app.api") or getattr(
            module, "__module__", ""
        ).startswith("webhooks_app.api"):
            return True
        if _mounts_api(getattr(pattern, "url_patterns", ())):
            return True
    return False


# What the docs' Databases section asks of SQLite, by OPTIONS key: without them web
# processes and workers writing one file get "database is locked".
_SQLITE_OPTIONS = {
    "init_command": ("PRAGMA journal_mode=WAL;", lambda v: "journal_mode=wal" in str(v).lower()),
    "transaction_mode": ('"IMMEDIATE"', lambda v: str(v).upper() == "IMMEDIATE"),
    "timeout": ("30", lambda v: isinstance(v, (int, float)) and v >= 5),
}


@checks.register()
def check_sqlite_options(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return sqlite_problems(settings.DATABASES)


def sqlite_problems(databases: dict[str, dict[str, Any]]) -> list[checks.CheckMessage]:
    return [
        message
        for alias, db in databases.items()
        if db.get("ENGINE", "").endswith("sqlite3") and str(db.get("NAME")) != ":memory:"
        for message in _sqlite_problem(alias, db.get("OPTIONS") or {})
    ]


def _sqlite_problem(alias: str, options: dict[str, Any]) -> list[checks.CheckMessage]:
    missing = [key for key, (_, good) in _SQLITE_OPTIONS.items() if not good(options.get(key))]
    if not missing:
        return []
    wanted = ", ".join(f"{key!r}: {_SQLITE_OPTIONS[key][0]}" for key in missing)
    return [
        checks.Warning(
            f"DATABASES[{alias!r}] is SQLite without OPTIONS {', '.join(map(repr, missing))}: "
            "web processes and webhook workers writing one file will get "
            "'database is locked'.",
            hint=f"Add to DATABASES[{alias!r}]['OPTIONS']: {wanted} (init_command also "
            "'PRAGMA synchronous=NORMAL;').",
            obj=f"settings.DATABASES[{alias!r}]",
            id="webhooks_app.W005",
        )
    ]


@checks.register(checks.Tags.database)
def check_loopback_webhooks(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """In production a loopback URL lets any project manager make the server post to its
    own services; ALLOWED_NETWORKS admitting loopback is meant for development."""
    if not databases or settings.DEBUG or not _loopback_admitted():
        return []
    from webhooks_app.models import Webhook

    found: list[str] = []
    for alias in databases:
        if router.allow_migrate_model(alias, Webhook):
            found += _loopback_urls(Webhook.objects.using(alias))
    if not found:
        return []
    shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    return [
        checks.Warning(
            f"{len(found)} webhook(s) point at this machine ({shown}) while DEBUG is False "
            "and WEBHOOKS['ALLOWED_NETWORKS'] (or BLOCK_PRIVATE_ADDRESSES=False) admits "
            "loopback addresses.",
            hint="Point them at their receivers, and remove loopback (127.0.0.0/8, ::1) "
            "from WEBHOOKS['ALLOWED_NETWORKS'] in production.",
            obj="settings.WEBHOOKS",
            id="webhooks_app.W006",
        )
    ]


def _loopback_admitted() -> bool:
    from webhooks_app.engine.addresses import blocked_reason

    try:
        return blocked_reason("127.0.0.1") is None or blocked_reason("::1") is None
    except (TypeError, ValueError):  # malformed networks: webhooks_app.E008
        return False


def _loopback_urls(webhooks: Any) -> list[str]:
    from webhooks_app.engine.addresses import ip_literal

    near = Q(url__icontains="localhost") | Q(url__contains="127.") | Q(url__contains="[")
    try:
        urls = list(webhooks.filter(near).values_list("url", flat=True)[:1000])
    except DatabaseError:  # not migrated yet
        return []
    found = []
    for url in urls:
        host = (urlsplit(url).hostname or "").lower()
        address = ip_literal(host)
        if host == "localhost" or host.endswith(".localhost") or (address and address.is_loopback):
            found.append(url)
    return found

"""System checks for the WEBHOOKS setting, with stable ids."""

from __future__ import annotations

import ipaddress

from django.apps import apps
from django.core import checks

from webhooks_app.conf import DEFAULTS, webhook_settings

_POSITIVE_INTS = {
    "FAILURE_THRESHOLD": "webhooks_app.E004",
    "CONCURRENCY": "webhooks_app.E004",
    "ENDPOINT_CONCURRENCY": "webhooks_app.E004",
    "RESPONSE_BODY_LIMIT": "webhooks_app.E004",
    "SWEEP_INTERVAL": "webhooks_app.E004",
    "TASK_TIME_LIMIT": "webhooks_app.E004",
    "SECRET_ROTATION_OVERLAP": "webhooks_app.E004",
    "MAX_RETRY_AFTER": "webhooks_app.E004",
    "PAGE_SIZE": "webhooks_app.E004",
    "MAX_TESTS_PER_REQUEST": "webhooks_app.E004",
    "STALL_AFTER": "webhooks_app.E004",
}


def _error(msg: str, id_: str, hint: str | None = None) -> checks.Error:
    return checks.Error(msg, hint=hint, obj="settings.WEBHOOKS", id=id_)


@checks.register()
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from django.conf import settings

    errors: list[checks.CheckMessage] = []
    user = getattr(settings, "WEBHOOKS", None)
    if user is None:
        user = {}
    if not isinstance(user, dict):
        return [_error("WEBHOOKS must be a dict.", "webhooks_app.E000")]
    for key in user:
        if key not in DEFAULTS:
            errors.append(
                checks.Warning(
                    f"WEBHOOKS[{key!r}] is not a setting of webhooks_app; it is ignored.",
                    hint="Known settings: " + ", ".join(sorted(DEFAULTS)),
                    obj="settings.WEBHOOKS",
                    id="webhooks_app.W001",
                )
            )

    label = webhook_settings.PROJECT_MODEL
    try:
        apps.get_model(label)
    except (LookupError, ValueError, TypeError, AttributeError):
        errors.append(
            _error(
                f"WEBHOOKS['PROJECT_MODEL'] = {label!r} does not name an installed model.",
                "webhooks_app.E001",
                hint="Use 'app_label.ModelName' of the model webhooks are scoped to.",
            )
        )

    timeout = webhook_settings.TIMEOUT
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 30:
        errors.append(
            _error(
                f"WEBHOOKS['TIMEOUT'] = {timeout!r} must be a number of seconds in (0, 30].",
                "webhooks_app.E002",
                hint="Receivers are asked to answer within 30 seconds.",
            )
        )

    schedule = webhook_settings.RETRY_SCHEDULE
    if not isinstance(schedule, (list, tuple)) or not all(
        isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in schedule
    ):
        errors.append(
            _error(
                f"WEBHOOKS['RETRY_SCHEDULE'] = {schedule!r} must be a list of positive seconds.",
                "webhooks_app.E003",
                hint="e.g. [60, 300, 1800, 7200, 43200]; [] means never retry.",
            )
        )
    jitter = webhook_settings.RETRY_JITTER
    if not isinstance(jitter, (int, float)) or not 0 <= jitter < 1:
        errors.append(
            _error(f"WEBHOOKS['RETRY_JITTER'] = {jitter!r} must be in [0, 1).", "webhooks_app.E003")
        )

    for name, id_ in _POSITIVE_INTS.items():
        value = getattr(webhook_settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(
                _error(f"WEBHOOKS[{name!r}] = {value!r} must be a positive integer.", id_)
            )

    try:
        from webhooks_app.events import catalog

        len(catalog)
    except Exception as exc:
        errors.append(_error(str(exc), "webhooks_app.E005"))

    for net in webhook_settings.ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(net, strict=False)
        except (TypeError, ValueError):
            errors.append(
                _error(
                    f"WEBHOOKS['ALLOWED_NETWORKS'] has {net!r}, which is not a network.",
                    "webhooks_app.E008",
                    hint="Use CIDR strings such as '10.0.0.0/8'.",
                )
            )

    retention = webhook_settings.RETENTION
    if retention is not None and (
        not isinstance(retention, int) or isinstance(retention, bool) or retention < 1
    ):
        errors.append(
            _error(
                f"WEBHOOKS['RETENTION'] = {retention!r} must be a number of days, or None.",
                "webhooks_app.E009",
                hint="e.g. 30; None keeps the delivery history forever.",
            )
        )

    refresh = webhook_settings.SUBSCRIPTION_REFRESH
    if (
        not isinstance(refresh, (int, float))
        or isinstance(refresh, bool)
        or not 0 <= refresh <= 1
    ):
        errors.append(
            _error(
                f"WEBHOOKS['SUBSCRIPTION_REFRESH'] = {refresh!r} must be seconds in [0, 1].",
                "webhooks_app.E010",
                hint="A subscription change is honoured by every process this long after "
                "it commits; 0 checks on every event.",
            )
        )

    errors.extend(_check_queue_timeouts())
    return errors


def _check_queue_timeouts() -> list[checks.CheckMessage]:
    from django_q.conf import Conf

    limit, timeout = webhook_settings.TASK_TIME_LIMIT, webhook_settings.TIMEOUT
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (limit, timeout)):
        return []  # already reported above
    needed = limit + timeout
    problems = []
    if Conf.TIMEOUT is not None and Conf.TIMEOUT < needed:
        problems.append(
            checks.Warning(
                f"Q_CLUSTER['timeout'] ({Conf.TIMEOUT}s) is shorter than a delivery task may "
                f"run (TASK_TIME_LIMIT + TIMEOUT = {needed}s).",
                hint="Raise Q_CLUSTER['timeout'] or lower WEBHOOKS['TASK_TIME_LIMIT'].",
                obj="settings.Q_CLUSTER",
                id="webhooks_app.W002",
            )
        )
    if Conf.RETRY is not None and Conf.TIMEOUT is not None and Conf.RETRY <= Conf.TIMEOUT:
        problems.append(
            checks.Warning(
                "Q_CLUSTER['retry'] must exceed Q_CLUSTER['timeout'], or tasks run twice.",
                obj="settings.Q_CLUSTER",
                id="webhooks_app.W003",
            )
        )
    return problems

"""E-mail to a project's (or an organisation's) managers when one of its webhooks stops
receiving: disabled
after consecutive failures, or after the endpoint answered 410 Gone. (Disabling by hand
needs no e-mail: whoever did it knows.) And a digest of the deliveries given up (their
last retry failed): one mail per webhook at most every ``GIVEN_UP_DIGEST_EVERY``,
however many were given up, sent by the periodic sweep.

Recipients come from ``WEBHOOKS["NOTIFY_RECIPIENTS"]``, a dotted path to
``(webhook) -> list of addresses``. The default asks ``MANAGE_PERMISSION`` about every
active user with an address, which suits a small site; a host with many users points
it at its own query (the example project's returns the project's Product Owners and
Scrum Masters).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.models import Delivery, Webhook, WebhookStatus
from webhooks_app.rules import can_manage
from webhooks_app.signals import webhook_disabled

logger = logging.getLogger(__name__)

NOTIFIED = (WebhookStatus.AUTO_DISABLED, WebhookStatus.GONE)


def default_recipients(webhook: Webhook) -> list[str]:
    """Every active user with an e-mail address who may manage the webhook's project, or
    its organisation (installation-wide webhooks: MANAGE_PERMISSION is asked about None)."""
    users = get_user_model()._default_manager.filter(is_active=True).exclude(email="")
    owner = webhook.owner
    return [user.email for user in users if can_manage(user, owner)]


def settings_page_url(webhook: Webhook) -> str | None:
    """The project's (or organisation's) webhook settings page, when the host mounts it
    (absolute when ``WEBHOOKS["BASE_URL"]`` is set)."""
    if webhook.organization_id is not None:
        owner, namespace = webhook.organization, "webhooks_org_portal"
        kwarg = webhook_settings.ORGANIZATION_URL_KWARG
        lookup = webhook_settings.ORGANIZATION_LOOKUP_FIELD
    elif webhook.project_id is not None:
        owner, namespace = webhook.project, "webhooks_portal"
        kwarg, lookup = webhook_settings.PROJECT_URL_KWARG, webhook_settings.PROJECT_LOOKUP_FIELD
    else:
        return None
    try:
        path = reverse(f"{namespace}:webhooks", kwargs={kwarg: getattr(owner, lookup)})
    except NoReverseMatch:
        return None
    return (webhook_settings.BASE_URL or "").rstrip("/") + path


def notify_disabled(sender: Any, webhook: Webhook, reason: str, detail: str, **kwargs: Any) -> None:
    if reason not in NOTIFIED:
        return
    context = {
        "webhook": webhook,
        "gone": reason == WebhookStatus.GONE,
        "detail": detail,
        "url": settings_page_url(webhook),
        "product": webhook_settings.PRODUCT_NAME,
    }
    _mail("disabled", context, webhook)


def send_given_up_digests(now: datetime | None = None) -> int:
    """Mail each webhook's managers what was given up since they were last told, if that
    was at least GIVEN_UP_DIGEST_EVERY ago; returns how many mails were sent."""
    now = now or timezone.now()
    quiet_since = now - timedelta(seconds=webhook_settings.GIVEN_UP_DIGEST_EVERY)
    due = Webhook.objects.filter(
        Q(given_up_reported_at__isnull=True) | Q(given_up_reported_at__lte=quiet_since),
        given_up_unreported__gt=0,
    ).select_related("project", "organization")
    return sum(_send_digest(webhook, now) for webhook in due)


def _send_digest(webhook: Webhook, now: datetime) -> int:
    count = webhook.given_up_unreported or 0
    # Several sweeps may run at once: the one whose update takes the count mails it.
    # What is given up meanwhile adds to the cleared count, for the next digest.
    taken = Webhook.objects.filter(pk=webhook.pk, given_up_unreported=count).update(
        given_up_unreported=0, given_up_reported_at=now
    )
    if not taken:
        return 0
    latest = (
        Delivery.objects.filter(webhook=webhook, status=Delivery.Status.FAILED)
        .select_related("event")
        .order_by("-created_at")[:5]
    )
    context = {
        "webhook": webhook,
        "count": count,
        "latest": list(latest),
        "url": settings_page_url(webhook),
        "product": webhook_settings.PRODUCT_NAME,
        "every": _duration(webhook_settings.GIVEN_UP_DIGEST_EVERY),
    }
    return _mail("given_up", context, webhook)


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def _mail(template: str, context: dict[str, Any], webhook: Webhook) -> int:
    # Sent by a worker after its transaction committed: a mail server that is down must
    # not stop deliveries, so a failure is logged, not raised.
    try:
        recipients = webhook_settings.imported("NOTIFY_RECIPIENTS")(webhook)
        if not recipients:
            return 0
        subject = render_to_string(f"webhooks_app/email/{template}_subject.txt", context)
        body = render_to_string(f"webhooks_app/email/{template}.txt", context)
        send_mail(" ".join(subject.split()), body, None, recipients)
    except Exception:
        logger.exception("Could not mail %s about webhook %s", template, webhook.pk)
        return 0
    return 1


def connect() -> None:
    webhook_disabled.connect(notify_disabled, dispatch_uid="webhooks_app.notifications")

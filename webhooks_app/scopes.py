"""Where the API and the settings pages work: one project's webhooks, or one
organisation's (``WEBHOOKS["ORGANIZATION_MODEL"]``). The same views serve both; what
differs (which webhooks, which log rows, what the URL names) is answered here, once.

Installation-wide webhooks (neither a project nor an organisation) have no scope here:
only staff manage them, in the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from webhooks_app.conf import webhook_settings
from webhooks_app.models import DeliveryLog, Webhook, WebhookQuerySet
from webhooks_app.rules import organization_in_url, project_in_url

PROJECT = "project"
ORGANIZATION = "organization"


@dataclass(frozen=True)
class Scope:
    kind: str  # PROJECT or ORGANIZATION
    owner: Any  # the project or organisation instance

    @property
    def is_organization(self) -> bool:
        return self.kind == ORGANIZATION

    @property
    def fields(self) -> dict[str, Any]:
        """A webhook's scope fields, for the operations (``create_webhook(**fields)``)."""
        return {self.kind: self.owner}

    def owns(self, webhook: Webhook) -> bool:
        return bool(getattr(webhook, f"{self.kind}_id") == self.owner.pk)

    def webhooks(self) -> WebhookQuerySet:
        return Webhook.objects.filter(**self.fields)

    def logs(self) -> QuerySet[DeliveryLog]:
        """The attempts of this scope's webhooks. A project's are read by the log's own
        project column (one index however large the table); an organisation's through
        its webhooks (an organisation has few)."""
        if self.is_organization:
            return DeliveryLog.objects.filter(webhook__organization=self.owner)
        return DeliveryLog.objects.filter(project=self.owner)

    @property
    def url_kwargs(self) -> dict[str, Any]:
        """What the URL of this scope's pages names."""
        if self.is_organization:
            kwarg, lookup = (
                webhook_settings.ORGANIZATION_URL_KWARG,
                webhook_settings.ORGANIZATION_LOOKUP_FIELD,
            )
        else:
            kwarg, lookup = (
                webhook_settings.PROJECT_URL_KWARG,
                webhook_settings.PROJECT_LOOKUP_FIELD,
            )
        return {kwarg: getattr(self.owner, lookup)}

    @property
    def noun(self) -> str:
        return "organisation" if self.is_organization else "project"


def scope_in_url(kwargs: dict[str, Any]) -> Scope:
    """The scope a URL names: an organisation under the organisation routes
    (``ORGANIZATION_URL_KWARG`` in the URL), else a project. 404 when it does not exist."""
    if webhook_settings.ORGANIZATION_URL_KWARG in kwargs:
        return Scope(ORGANIZATION, organization_in_url(kwargs))
    return Scope(PROJECT, project_in_url(kwargs))


def url_kwarg_names() -> tuple[str, str]:
    """The URL kwargs that name a scope (views drop them before their own kwargs)."""
    return webhook_settings.PROJECT_URL_KWARG, webhook_settings.ORGANIZATION_URL_KWARG

"""Forms of the webhooks admin: choosing events, and choosing what to redeliver."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.admin import widgets
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webhooks_app import operations
from webhooks_app.conf import webhook_settings
from webhooks_app.events import PING, WILDCARD, catalog
from webhooks_app.models import Subscription, Webhook
from webhooks_app.signing import DEFAULT_SCHEMES, SCHEMES
from webhooks_app.validators import (
    body_format_refusal,
    validate_https_only,
    validate_signature_schemes,
)


def event_choices() -> list:
    """The subscribable patterns, grouped by category for a ``<select>``.

    Each category starts with its families (``orders.*``), which also cover events added
    to the catalog later, then lists its events with their descriptions.
    """
    families: dict[str, list[str]] = {}
    for event in catalog:
        families.setdefault(event.prefix, []).append(event.name)
    choices: list = [
        ("", "---------"),
        (_("Everything"), [(WILDCARD, _("* — All events, including ones added later"))]),
    ]
    listed: set[str] = set()
    for category, events in catalog.by_category().items():
        options = []
        for event in events:
            if event.prefix not in listed:
                listed.add(event.prefix)
                label = gettext(
                    "%(pattern)s — Every “%(stem)s” event (%(count)d, and any added later)"
                ) % {
                    "pattern": event.prefix,
                    "stem": event.prefix[:-1],
                    "count": len(families[event.prefix]),
                }
                options.append((event.prefix, label))
        options += [(event.name, f"{event.name} — {event.description}") for event in events]
        choices.append((category, options))
    return choices


def describe_pattern(pattern: str) -> str:
    """What a subscription pattern selects, in words."""
    if pattern == WILDCARD:
        return str(_("All events"))
    matching = catalog.events_matching(pattern)
    if pattern in catalog and len(matching) == 1:
        return matching[0].description
    if not matching:
        return str(_("No event in the catalog"))
    return ", ".join(e.description for e in matching)


class SubscriptionForm(forms.ModelForm):
    event_type = forms.CharField(
        label=_("event"),
        max_length=100,
        widget=forms.Select,
        help_text=_(
            "An event, a whole family such as “orders.*” (also covers events added later), "
            "or “*” for every event."
        ),
    )

    class Meta:
        model = Subscription
        fields = ["event_type"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = event_choices()
        current = self.instance.event_type if self.instance.pk else ""
        # A stored pattern the select does not offer (a nested family such as
        # "orders.coupons.*", or an event since removed from the catalog) must still show
        # as selected, or saving the page would silently replace it.
        offered = {value for _group, options in choices[1:] for value, _label in options}
        if current and current not in offered:
            choices.append((_("Other"), [(current, current)]))
        self.fields["event_type"].widget.choices = choices

    def clean_event_type(self) -> str:
        value = self.cleaned_data["event_type"].strip()
        if self.instance.pk and value == self.instance.event_type:
            return value
        if value == PING:
            raise forms.ValidationError(
                _("“ping” is sent only by the “Send a test ping” action; it cannot be chosen."),
                code="ping",
            )
        if not catalog.is_valid_pattern(value):
            raise forms.ValidationError(
                _(
                    "“%(value)s” is not a known event. Choose one from the list: an event, "
                    "a family such as “orders.*”, or “*” for all events."
                ),
                code="unknown_event",
                params={"value": value},
            )
        return value


class RedeliverFailedForm(forms.Form):
    """When to redeliver from: a recent period, or a date and time."""

    PERIODS = {
        "1h": timedelta(hours=1),
        "24h": timedelta(hours=24),
        "7d": timedelta(days=7),
        "30d": timedelta(days=30),
    }

    period = forms.ChoiceField(
        label=_("Failed deliveries of events from"),
        choices=[
            ("1h", _("the last hour")),
            ("24h", _("the last 24 hours")),
            ("7d", _("the last 7 days")),
            ("30d", _("the last 30 days")),
            ("since", _("a date and time of my choice (below)")),
        ],
        initial="24h",
        widget=forms.RadioSelect,
    )
    since = forms.SplitDateTimeField(
        label=_("Since"),
        required=False,
        widget=widgets.AdminSplitDateTime,
        help_text=_("Used when “a date and time of my choice” is selected."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["since"].initial = timezone.now() - self.PERIODS["24h"]

    def clean(self):
        cleaned = super().clean()
        period = cleaned.get("period")
        if period == "since":
            if not cleaned.get("since"):
                self.add_error("since", _("Enter the date and time to redeliver from."))
            else:
                cleaned["start"] = cleaned["since"]
        elif period in self.PERIODS:
            cleaned["start"] = timezone.now() - self.PERIODS[period]
        return cleaned


# A webhook's fields beside its project, name, URL and status, in the order shown.
WEBHOOK_SETTINGS = [
    "verify_tls",
    "https_only",
    "rate_limit",
    "signatures",
    "extra_headers",
    "content_type",
]


class WebhookForm(forms.ModelForm):
    """The webhook change form. ``enabled`` stands for the status; activating (by
    ticking it, or by moving an active webhook to another project) passes the host's
    activation rule here, so the refusal shows beside the field."""

    url = forms.URLField(
        label=_("payload URL"),
        max_length=2000,
        assume_scheme="https",
        validators=Webhook.url_validators(),
    )
    enabled = forms.BooleanField(
        label=_("enabled"),
        required=False,
        initial=True,
        help_text=_(
            "Untick to disable the webhook by hand. Ticking it enables it again and sends "
            "the events held while it was disabled after failures."
        ),
    )

    signatures = forms.MultipleChoiceField(
        label=_("signatures"),
        choices=[(scheme, scheme) for scheme in SCHEMES],
        initial=list(DEFAULT_SCHEMES),
        widget=forms.CheckboxSelectMultiple,
        validators=[validate_signature_schemes],
        help_text=Webhook._meta.get_field("signatures").help_text,
    )

    class Meta:
        model = Webhook
        # The project field is added per form: built at import, it would fail while
        # WEBHOOKS["PROJECT_MODEL"] is wrong, before the system check can say so.
        fields = [
            "name",
            "url",
            "verify_tls",
            "https_only",
            "rate_limit",
            "signatures",
            "extra_headers",
            "content_type",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"] = self._project_field()
        scope = ["project"]
        if webhook_settings.ORGANIZATION_MODEL:
            self.fields["organization"] = self._organization_field()
            scope.append("organization")
        if self.instance.pk:
            self.initial.setdefault("project", self.instance.project_id)
            self.initial.setdefault("organization", self.instance.organization_id)
            self.initial.setdefault("enabled", self.instance.is_active)
        self.order_fields([*scope, "name", "url", "enabled", *WEBHOOK_SETTINGS])

    def clean_extra_headers(self) -> Any:
        # A JSON field left empty reads as null; "no extra headers" is an empty object.
        value = self.cleaned_data.get("extra_headers")
        return {} if value is None else value

    def _project_field(self) -> forms.ModelChoiceField:
        return _scope_field(
            webhook_settings.PROJECT_MODEL,
            _("project"),
            _(
                "With neither a project nor an organisation the webhook is installation-wide "
                "(staff only): it gets every project's events, of every organisation."
            ),
        )

    def _organization_field(self) -> forms.ModelChoiceField:
        return _scope_field(
            webhook_settings.ORGANIZATION_MODEL,
            _("organisation"),
            _("It gets the events of every project of this organisation."),
        )

    def scope(self, cleaned: dict[str, Any]) -> tuple[Any, Any]:
        return cleaned.get("project"), cleaned.get("organization")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        project, organization = self.scope(cleaned)
        try:
            operations.check_scope(project, organization)
        except forms.ValidationError as refused:
            self.add_error(None, refused)
            return cleaned
        refusal = operations.activation_refusal_for(
            self.instance, project, bool(cleaned.get("enabled")), organization
        )
        if refusal:
            moved = bool(self.instance.pk) and (
                project.pk if project else None,
                organization.pk if organization else None,
            ) != (self.instance.project_id, self.instance.organization_id)
            where = "organization" if organization is not None else "project"
            self.add_error(where if moved and self.instance.is_active else "enabled", refusal)
        self._check_body_format(cleaned)
        if cleaned.get("url") and "url" not in self.errors:
            try:
                validate_https_only(cleaned["url"], bool(cleaned.get("https_only")))
            except forms.ValidationError as refused:
                self.add_error("url", refused)
        return cleaned

    def _check_body_format(self, cleaned: dict[str, Any]) -> None:
        """Only when either field changes: a webhook stored before the rule stays
        editable (and keeps being sent as it is)."""
        if self.instance.pk and not {"signatures", "content_type"} & set(self.changed_data):
            return
        refusal = body_format_refusal(cleaned.get("signatures"), cleaned.get("content_type"))
        if refusal and "content_type" not in self.errors:
            self.add_error("content_type", refusal)


def _scope_field(label: str, verbose: Any, help_text: Any) -> forms.ModelChoiceField:
    """An optional choice of the host's project or organisation (``label``: its model)."""
    return forms.ModelChoiceField(
        queryset=apps.get_model(label)._default_manager.all(),
        required=False,
        label=verbose,
        empty_label=gettext("None"),
        help_text=help_text,
    )

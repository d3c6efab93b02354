"""The forms of the settings pages. They validate; saving goes through the operations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks_app.events import PING, WILDCARD, catalog
from webhooks_app.models import BodyFormat, DeliveryLog, Webhook
from webhooks_app.signing import DEFAULT_SCHEMES, SCHEMES
from webhooks_app.validators import (
    body_format_refusal,
    validate_extra_headers,
    validate_https_only,
    validate_secret,
    validate_signature_schemes,
)

ALL = "*"
LOCAL_TIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class MomentField(forms.DateTimeField):
    """A date and time the database can compare: in UTC, so a moment at the calendar's
    edge (year 9999 with an offset west of UTC) is an error here, not an overflow in
    the query."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None or moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(_("That date is out of range."), code="range") from None


# What each signature scheme is, for the people who choose them.
SCHEME_LABELS = {
    "standard": _("Standard Webhooks (webhook-signature, with replay protection)"),
    "ed25519": _("Standard Webhooks v1a, ed25519 (verified with a public key)"),
    "hex": _("Hex HMAC-SHA256 (X-Webhook-Signature-256)"),
    "github": _("GitHub style (X-Hub-Signature-256)"),
    "agiletune": _("AgileTune style (X-AgileTune-Signature)"),
    "icescrum": _("iceScrum style (x-icescrum-signature, HMAC-SHA1)"),
}


class HeadersField(forms.CharField):
    """Extra headers as the manager types them: one ``Name: value`` a line."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "X-Team: builds"})

    def to_python(self, value: Any) -> dict[str, str]:
        headers: dict[str, str] = {}
        for number, line in enumerate(str(value or "").splitlines(), 1):
            if not line.strip():
                continue
            name, colon, header_value = line.partition(":")
            if not colon or not name.strip():
                raise forms.ValidationError(
                    _("Line %(n)d is not “Name: value”."), code="headers", params={"n": number}
                )
            headers[name.strip()] = header_value.strip()
        return headers

    def validate(self, value: Any) -> None:
        validate_extra_headers(value)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, dict):
            return "\n".join(f"{name}: {v}" for name, v in value.items())
        return str(value or "")


class WebhookForm(forms.Form):
    """A webhook, what it receives (single events, whole categories, or everything) and
    how its requests are made."""

    url = forms.CharField(
        label=_("Payload URL"),
        max_length=2000,
        validators=Webhook.url_validators(),
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks"}),
    )
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    enabled = forms.BooleanField(label=_("Active"), required=False, initial=True)
    https_only = forms.BooleanField(
        label=_("HTTPS only"),
        required=False,
        help_text=_("Refuse http:// URLs for this webhook, now and on every later edit."),
    )
    verify_tls = forms.BooleanField(
        label=_("Verify the TLS certificate"), required=False, initial=True
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        max_length=120,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        validators=[validate_secret],
        help_text=_(
            "Leave empty and a strong one is made for you. Or enter your own: whsec_ and "
            "the base64 of 24 to 64 random bytes, or 32 to 100 characters, varied, no spaces."
        ),
    )
    # None ticked (no scheme signs nothing) keeps what the webhook has, or the defaults.
    signatures = forms.MultipleChoiceField(
        label=_("Signatures"),
        required=False,
        choices=[(scheme, SCHEME_LABELS.get(scheme, scheme)) for scheme in SCHEMES],
        initial=list(DEFAULT_SCHEMES),
        widget=forms.CheckboxSelectMultiple,
    )
    content_type = forms.ChoiceField(
        label=_("Content type"),
        required=False,
        choices=BodyFormat.choices,
        initial=BodyFormat.JSON,
    )
    extra_headers = HeadersField(
        label=_("Extra headers"),
        required=False,
        help_text=_("Sent with every request, one “Name: value” a line."),
    )
    rate_limit = forms.IntegerField(
        label=_("Rate limit"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Most deliveries per second to this endpoint. Empty: no limit."),
    )
    all_events = forms.BooleanField(label=_("All events"), required=False)
    categories = forms.MultipleChoiceField(
        label=_("Whole categories"), required=False, widget=forms.CheckboxSelectMultiple
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), required=False, widget=forms.CheckboxSelectMultiple
    )
    # Patterns the checkboxes cannot show (a family such as "orders.*"), kept as they are.
    kept = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, refusal: str | None = None, editing: bool = False, **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if editing:  # a new secret is the rotation's (with its confirmation and overlap)
            del self.fields["secret"]
        grouped = catalog.by_category()
        self.fields["categories"].choices = [(name, name) for name in grouped]
        self.fields["events"].choices = [
            (event.name, event.description) for events in grouped.values() for event in events
        ]
        self.grouped = grouped
        self.refusal = refusal
        if refusal:
            # The plan refuses activation: the webhook can be prepared, disabled.
            self.fields["enabled"].disabled = True
            self.fields["enabled"].initial = False
            self.fields["enabled"].help_text = refusal

    @classmethod
    def initial_for(cls, webhook: Webhook) -> dict[str, Any]:
        patterns = list(webhook.subscriptions.values_list("event_type", flat=True))
        categories, rest = whole_categories(patterns)
        events = {event.name for event in catalog if event.name != PING}
        return {
            "url": webhook.url,
            "name": webhook.name,
            "enabled": webhook.is_active,
            "https_only": webhook.https_only,
            "verify_tls": webhook.verify_tls,
            "signatures": list(webhook.signatures or ()),
            "content_type": webhook.content_type,
            "extra_headers": dict(webhook.extra_headers or {}),
            "rate_limit": webhook.rate_limit,
            "all_events": ALL in patterns,
            "categories": categories,
            "events": [p for p in rest if p in events],
            "kept": " ".join(p for p in rest if p != ALL and p not in events),
        }

    def clean_signatures(self) -> list[str]:
        chosen = self.cleaned_data["signatures"] or list(
            self.initial.get("signatures") or DEFAULT_SCHEMES
        )
        validate_signature_schemes(chosen)
        return chosen

    def clean_content_type(self) -> str:
        return self.cleaned_data["content_type"] or self.initial.get(
            "content_type", BodyFormat.JSON
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "signatures" in data and "content_type" in data:
            refusal = body_format_refusal(data["signatures"], data["content_type"])
            if refusal:
                self.add_error("content_type", refusal)
        if "url" in data:
            try:
                validate_https_only(data["url"], bool(data.get("https_only")))
            except forms.ValidationError as refused:
                self.add_error("url", refused)
        return data

    def options(self) -> dict[str, Any]:
        """How the webhook's requests are made, as the operations take them."""
        data = self.cleaned_data
        names = ("https_only", "verify_tls", "signatures", "content_type", "extra_headers")
        return {**{name: data[name] for name in names}, "rate_limit": data["rate_limit"]}

    def clean_kept(self) -> str:
        """Patterns the page kept as they were: stored ones, or families of the catalog.
        The field is hidden, so anything else was not typed by the manager; it is refused
        by name rather than subscribed."""
        stored = set(self.initial.get("kept", "").split())
        patterns = self.cleaned_data["kept"].split()
        unknown = [
            p
            for p in patterns
            if p not in stored and (p == PING or not catalog.is_valid_pattern(p))
        ]
        if unknown:
            raise forms.ValidationError(
                _("Not an event of the catalog: %(patterns)s."),
                code="unknown_event",
                params={"patterns": ", ".join(unknown)},
            )
        return " ".join(patterns)

    def patterns(self) -> list[str]:
        """What the webhook is to receive, as subscription patterns."""
        data = self.cleaned_data
        if data["all_events"]:
            return [ALL]
        chosen = [p for name in data["categories"] for p in catalog.category_patterns(name)]
        chosen += data["events"]
        chosen += data["kept"].split()
        return list(dict.fromkeys(chosen))

    def categories_with_events(self) -> list[tuple[str, Any, list[Any], bool]]:
        """Per category: its name, its "whole category" checkbox, its events' boxes, and
        whether events added to it later arrive too (it is saved as families)."""
        boxes = {box.data["value"]: box for box in self["events"]}
        wholes = {box.data["value"]: box for box in self["categories"]}
        return [
            (
                name,
                wholes[name],
                [boxes[event.name] for event in events],
                all(p.endswith(".*") for p in catalog.category_patterns(name)),
            )
            for name, events in self.grouped.items()
        ]


def whole_categories(patterns: list[str]) -> tuple[list[str], list[str]]:
    """The categories whose every pattern is among ``patterns``, and the patterns left."""
    rest = list(patterns)
    whole = []
    for category in catalog.by_category():
        wanted = catalog.category_patterns(category)
        if all(p in rest for p in wanted):
            whole.append(category)
            rest = [p for p in rest if p not in wanted]
    return whole, rest


def subscription_words(patterns: list[str]) -> list[str]:
    """What a webhook receives, in words: "All events", whole categories by name, single
    events by description, other families as such."""
    if WILDCARD in patterns:
        return [str(_("All events"))]
    categories, rest = whole_categories(patterns)
    words = list(categories)
    for pattern in rest:
        if pattern in catalog and pattern != PING:
            words.append(catalog.get(pattern).description)
        elif pattern.endswith(".*"):
            words.append(str(_("Every “%s” event")) % pattern[:-2])
        else:
            words.append(pattern)
    return words


class LogFilterForm(forms.Form):
    webhook = forms.ChoiceField(label=_("Webhook"), required=False)
    event = forms.ChoiceField(label=_("Event"), required=False)
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Any outcome")), *DeliveryLog.Outcome.choices],
    )
    since = MomentField(
        label=_("Since"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = MomentField(
        label=_("Until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, webhooks: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["webhook"].choices = [("", _("Any webhook"))] + [
            (str(hook.uuid), str(hook)) for hook in webhooks
        ]
        self.fields["event"].choices = [("", _("Any event"))] + [
            (event.name, event.description) for event in catalog
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("Must not be earlier than “since”."))
        return data


class RotateForm(forms.Form):
    secret = forms.CharField(
        label=_("New secret (optional)"),
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        validators=[validate_secret],
        help_text=WebhookForm.base_fields["secret"].help_text,
    )


class ExampleForm(forms.Form):
    """Send an example of one event to one of the project's webhooks."""

    event = forms.CharField(widget=forms.HiddenInput)
    webhook = forms.ChoiceField(label=_("Webhook"))

    def __init__(self, *args: Any, webhooks: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["webhook"].choices = [(str(hook.uuid), str(hook)) for hook in webhooks]

    def clean_event(self) -> str:
        name = self.cleaned_data["event"]
        if name == PING or name not in catalog:
            raise forms.ValidationError(_("Not an event of the catalog."), code="unknown_event")
        return name


class RedeliverFailedForm(forms.Form):
    since = MomentField(
        label=_("Redeliver every failed delivery since"),
        widget=LOCAL_TIME,
    )


class GridRowForm(forms.Form):
    event = forms.CharField(widget=forms.HiddenInput)
    url = forms.CharField(
        label=_("URL"), max_length=2000, required=False, validators=Webhook.url_validators()
    )

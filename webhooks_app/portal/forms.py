"""The forms of the settings pages. They validate; saving goes through the operations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks_app.events import PING, catalog
from webhooks_app.models import DeliveryLog, Webhook
from webhooks_app.validators import validate_endpoint_url

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


class WebhookForm(forms.Form):
    """A webhook and what it receives: single events, whole categories, or everything."""

    url = forms.CharField(
        label=_("Payload URL"),
        max_length=2000,
        validators=[validate_endpoint_url],
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks"}),
    )
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    enabled = forms.BooleanField(label=_("Active"), required=False, initial=True)
    verify_tls = forms.BooleanField(
        label=_("Verify the TLS certificate"), required=False, initial=True
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

    def __init__(self, *args: Any, refusal: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
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
        events = {event.name for event in catalog if event.name != PING}
        return {
            "url": webhook.url,
            "name": webhook.name,
            "enabled": webhook.is_active,
            "verify_tls": webhook.verify_tls,
            "all_events": ALL in patterns,
            "events": [p for p in patterns if p in events],
            "kept": " ".join(p for p in patterns if p != ALL and p not in events),
        }

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
        chosen = [event.name for name in data["categories"] for event in self.grouped.get(name, [])]
        chosen += data["events"]
        chosen += data["kept"].split()
        return list(dict.fromkeys(chosen))

    def categories_with_events(self) -> list[tuple[str, Any, list[Any]]]:
        """Per category: its name, its "whole category" checkbox and its events' boxes."""
        boxes = {box.data["value"]: box for box in self["events"]}
        wholes = {box.data["value"]: box for box in self["categories"]}
        return [
            (name, wholes[name], [boxes[event.name] for event in events])
            for name, events in self.grouped.items()
        ]


class LogFilterForm(forms.Form):
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [("", _("Any event"))] + [
            (event.name, event.name) for event in catalog
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("Must not be earlier than “since”."))
        return data


class RedeliverFailedForm(forms.Form):
    since = MomentField(
        label=_("Redeliver every failed delivery since"),
        widget=LOCAL_TIME,
    )


class GridRowForm(forms.Form):
    event = forms.CharField(widget=forms.HiddenInput)
    url = forms.CharField(
        label=_("URL"), max_length=2000, required=False, validators=[validate_endpoint_url]
    )

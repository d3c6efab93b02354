"""The settings pages. Each view is for the managers of one project, or of one
organisation (the same views, mounted by ``organization_urls``), only; every change goes
through :mod:`webhooks_app.operations`, and refusals come back as messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property, wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from webhooks_app import grid, health, operations, schemas
from webhooks_app.conf import webhook_settings
from webhooks_app.events import catalog
from webhooks_app.exceptions import ActivationRefused, DeliveryInFlight
from webhooks_app.models import Delivery, DeliveryLog, Webhook
from webhooks_app.portal import activity, bodies
from webhooks_app.portal.forms import (
    ExampleForm,
    GridRowForm,
    LogFilterForm,
    RedeliverFailedForm,
    RotateForm,
    WebhookForm,
    subscription_words,
)
from webhooks_app.rules import can_manage
from webhooks_app.scopes import Scope, scope_in_url, url_kwarg_names

SECRET_KEY = "webhooks_portal_secret"  # session: the webhook whose secret is shown once

View = Callable[..., HttpResponse]


def for_managers(view: View) -> View:
    """Signed-in managers of the project (or organisation) in the URL; anyone else gets
    a 403 that says nothing of it (and a missing one is a 404, as in the API)."""

    @wraps(view)
    def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        scope = scope_in_url(kwargs)
        if not can_manage(request.user, scope.owner):
            raise PermissionDenied
        for name in url_kwarg_names():
            kwargs.pop(name, None)
        return view(request, Page(request, scope), **kwargs)

    return wrapper


class Page:
    """What every page knows: the project or organisation, its URLs, and the plan's
    refusal if any."""

    def __init__(self, request: HttpRequest, scope: Scope) -> None:
        self.request = request
        self.scope = scope
        self.project = scope.owner  # the project or the organisation, for templates
        self.refusal = operations.plan_refusal(scope.owner)
        self.url_kwargs = scope.url_kwargs
        # The namespace the pages were reached by: the project's or the organisation's.
        match = request.resolver_match
        self.namespace = (match.namespace if match else "") or "webhooks_portal"

    def url(self, name: str, *args: Any) -> str:
        kwargs = self.url_kwargs
        if args:  # a webhook's or an attempt's page
            key = "log_id" if name == "attempt" else "webhook_id"
            kwargs = {**kwargs, key: args[0]}
        return reverse(f"{self.namespace}:{name}", kwargs=kwargs)

    @cached_property
    def urls(self) -> dict[str, str]:
        """The scope's pages, for templates."""
        names = ("webhooks", "add", "test-all", "grid", "log", "events", "send-example")
        return {name.replace("-", "_"): self.url(name) for name in names}

    def webhook(self, webhook_id: Any) -> Webhook:
        return get_object_or_404(self.scope.webhooks(), uuid=webhook_id)

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
        return render(
            self.request,
            f"webhooks_app/portal/{template}",
            {
                "page": self,
                "project": self.project,
                "scope": self.scope,
                "refusal": self.refusal,
                **context,
            },
            status=status,
        )

    def home(self) -> HttpResponse:
        return redirect(self.url("webhooks"))


def _link(page: Page, webhook: Webhook) -> dict[str, str]:
    """A webhook's pages, for templates."""
    names = (
        "webhook",
        "edit",
        "test",
        "enable",
        "disable",
        "delete",
        "rotate",
        "switch-secret",
        "redeliver-failed",
    )
    links = {name.replace("-", "_"): page.url(name, webhook.uuid) for name in names}
    links["log"] = f"{page.url('log')}?webhook={webhook.uuid}"
    return links


def _back(request: HttpRequest, page: Page, webhook: Webhook) -> HttpResponse:
    """Back to the list when the action was taken there, else to the webhook's page."""
    if request.POST.get("back") == "list":
        return page.home()
    return redirect(page.url("webhook", webhook.uuid))


# -- the list ---------------------------------------------------------------------------


@for_managers
def webhooks(request: HttpRequest, page: Page) -> HttpResponse:
    latest = DeliveryLog.objects.filter(webhook=OuterRef("pk")).order_by("-created_at", "-id")
    hooks = (
        page.scope.webhooks()
        .prefetch_related("subscriptions")
        .annotate(
            last_outcome=Subquery(latest.values("outcome")[:1]),
            last_status=Subquery(latest.values("response_status")[:1]),
            last_at=Subquery(latest.values("created_at")[:1]),
            last_trigger=Subquery(latest.values("trigger")[:1]),
        )
    )
    hooks = list(hooks)
    waits = health.waits(hooks)
    rows = [
        {
            "webhook": hook,
            "links": _link(page, hook),
            "events": subscription_words([s.event_type for s in hook.subscriptions.all()]),
            "wait": waits.get(str(hook.uuid)),
        }
        for hook in hooks
    ]
    return page.render("webhooks.html", {"rows": rows})


@for_managers
@require_POST
def test_all(request: HttpRequest, page: Page) -> HttpResponse:
    outcomes = operations.test_all(page.scope.webhooks())
    return page.render("tested.html", {"outcomes": outcomes})


# -- one webhook ------------------------------------------------------------------------


@for_managers
def add(request: HttpRequest, page: Page) -> HttpResponse:
    form = WebhookForm(request.POST or None, refusal=page.refusal)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            webhook = operations.create_webhook(
                url=data["url"],
                name=data["name"],
                **page.scope.fields,
                events=form.patterns(),
                active=bool(data["enabled"]) and not page.refusal,
                secret=data["secret"],
                **form.options(),
            )
        except ActivationRefused as refused:
            form.add_error("enabled", str(refused))
        except ValidationError as invalid:
            _form_errors(form, invalid)
        else:
            request.session[SECRET_KEY] = str(webhook.uuid)
            return redirect(page.url("secret", webhook.uuid))
    return page.render("form.html", {"form": form, "webhook": None})


@for_managers
def webhook_page(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    """One webhook: its status and why, its last 24 hours, what waits, its last attempts
    and every action on it."""
    webhook = page.webhook(webhook_id)
    recent = webhook.delivery_logs.order_by("-created_at", "-id")[:10]
    return page.render(
        "webhook.html",
        {
            "webhook": webhook,
            "links": _link(page, webhook),
            "events": subscription_words(
                list(webhook.subscriptions.values_list("event_type", flat=True))
            ),
            "wait": health.waits([webhook]).get(str(webhook.uuid)),
            "day": activity.last_day(webhook),
            "chart": {"width": activity.WIDTH, "height": activity.HEIGHT},
            "recent": [(entry, page.url("attempt", entry.uuid)) for entry in recent],
        },
    )


@for_managers
def edit(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    webhook = page.webhook(webhook_id)
    initial = WebhookForm.initial_for(webhook)
    form = WebhookForm(request.POST or None, initial=initial, refusal=page.refusal, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            operations.update_webhook(
                webhook,
                url=data["url"],
                name=data["name"],
                events=form.patterns(),
                **form.options(),
            )
        except ValidationError as invalid:
            _form_errors(form, invalid)
        else:
            if not page.refusal and data["enabled"] != webhook.is_active:
                _switch(request, webhook, on=data["enabled"])
            messages.success(request, _("Webhook saved."))
            return redirect(page.url("webhook", webhook.uuid))
    return page.render(
        "form.html", {"form": form, "webhook": webhook, "links": _link(page, webhook)}
    )


def _form_errors(form: Any, invalid: ValidationError) -> None:
    """An operation's refusal, beside the field it names."""
    for field, problems in invalid.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@never_cache  # the secret is shown once: no browser or proxy cache may keep the page
@for_managers
def secret(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    webhook = page.webhook(webhook_id)
    if request.session.pop(SECRET_KEY, None) != str(webhook.uuid):
        messages.info(request, _("A secret is shown only once, when it is made."))
        return page.home()
    return page.render("secret.html", {"webhook": webhook})


@for_managers
def rotate(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    """Asks first (a rotation changes what every receiver must hold), then rotates, to an
    entered secret or a generated one."""
    webhook = page.webhook(webhook_id)
    form = RotateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            operations.rotate_secret(webhook, form.cleaned_data["secret"])
        except ValidationError as invalid:
            _form_errors(form, invalid)
        else:
            request.session[SECRET_KEY] = str(webhook.uuid)
            return redirect(page.url("secret", webhook.uuid))
    return page.render(
        "rotate.html", {"webhook": webhook, "form": form, "links": _link(page, webhook)}
    )


@for_managers
@require_POST
def switch_secret(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    webhook = page.webhook(webhook_id)
    if operations.switch_secret(webhook):
        messages.success(
            request,
            _(
                "Switched: every header of “%s” is now signed with the new secret "
                "(webhook-signature carries the previous one's too until the overlap ends)."
            )
            % webhook,
        )
    else:
        messages.info(request, _("No rotation of “%s” is waiting for a switch.") % webhook)
    return redirect(page.url("webhook", webhook.uuid))


@for_managers
@require_POST
def test(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    webhook = page.webhook(webhook_id)
    outcome = operations.TestOutcome(webhook, operations.send_test(webhook))
    back = None if request.POST.get("back") == "list" else page.url("webhook", webhook.uuid)
    return page.render("tested.html", {"outcomes": [outcome], "back": back})


@for_managers
@require_POST
def enable(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    webhook = page.webhook(webhook_id)
    _switch(request, webhook, on=True)
    return _back(request, page, webhook)


@for_managers
@require_POST
def disable(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    webhook = page.webhook(webhook_id)
    _switch(request, webhook, on=False)
    return _back(request, page, webhook)


def _switch(request: HttpRequest, webhook: Webhook, *, on: bool) -> None:
    if not on:
        operations.disable(webhook)
        messages.success(request, _("“%s” is disabled: its events are no longer sent.") % webhook)
        return
    try:
        resumed = operations.enable(webhook)
    except ActivationRefused as refused:
        messages.error(request, str(refused))
        return
    if not resumed:
        messages.success(request, _("“%s” is active; no delivery was held.") % webhook)
        return
    messages.success(
        request,
        ngettext(
            "“%(hook)s” is active; %(n)d held delivery is on its way.",
            "“%(hook)s” is active; %(n)d held deliveries are on their way.",
            resumed,
        )
        % {"hook": webhook, "n": resumed},
    )


@for_managers
def delete(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    webhook = page.webhook(webhook_id)
    if request.method == "POST":
        operations.delete_webhook(webhook)
        messages.success(request, _("“%s” is deleted.") % webhook)
        return page.home()
    return page.render("delete.html", {"webhook": webhook})


@for_managers
@require_POST
def redeliver_failed(request: HttpRequest, page: Page, webhook_id: Any) -> HttpResponse:
    webhook = page.webhook(webhook_id)
    form = RedeliverFailedForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a valid date and time to redeliver from."))
    else:
        queued = operations.redeliver_failed(webhook, form.cleaned_data["since"])
        messages.success(
            request,
            _("%(n)d failed deliveries of “%(hook)s” are queued again.")
            % {"n": queued, "hook": webhook},
        )
    return redirect(page.url("log"))


# -- the per-event grid -----------------------------------------------------------------


@for_managers
def grid_view(request: HttpRequest, page: Page) -> HttpResponse:
    form = GridRowForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid() and grid.is_row(form.cleaned_data["event"]):
            event, url = form.cleaned_data["event"], form.cleaned_data["url"]
            try:
                change = grid.set_url(page.scope, event, url) if url else None
            except ActivationRefused as refused:
                messages.error(request, str(refused))
                return redirect(page.url("grid"))
            if change is None:
                grid.clear(page.scope, event)
            elif change.created:
                request.session[SECRET_KEY] = str(change.webhook.uuid)
                return redirect(page.url("secret", change.webhook.uuid))
            messages.success(request, _("%s saved.") % event)
            return redirect(page.url("grid"))
        problems = [m for ms in form.errors.values() for m in ms]
        messages.error(request, "; ".join(problems) or _("That is not an event of the catalog."))
    return page.render("grid.html", {"rows": grid.rows(page.scope)})


# -- the delivery log -------------------------------------------------------------------


@for_managers
def log(request: HttpRequest, page: Page) -> HttpResponse:
    webhooks_ = list(page.scope.webhooks())
    filters = LogFilterForm(request.GET or None, webhooks=webhooks_)
    attempts = page.scope.logs().select_related("webhook")
    chosen = webhooks_
    if filters.is_valid():
        f = filters.cleaned_data
        if f["webhook"]:
            chosen = [hook for hook in webhooks_ if str(hook.uuid) == f["webhook"]]
            attempts = attempts.filter(webhook__in=chosen)
        if f["event"]:
            attempts = attempts.filter(event_type=f["event"])
        if f["outcome"]:
            attempts = attempts.filter(outcome=f["outcome"])
        if f["since"]:
            attempts = attempts.filter(created_at__gte=f["since"])
        if f["until"]:
            attempts = attempts.filter(created_at__lte=f["until"])
    elif filters.is_bound:
        attempts = attempts.none()
    cursor = _cursor(request.GET.get("before", ""))
    if cursor is BAD_CURSOR:
        messages.error(request, _("That page link is not valid; here are the newest attempts."))
    rows, more = _keyset_page(attempts, cursor)
    next_query = None
    if more:
        query = request.GET.copy()
        query["before"] = f"{rows[-1].created_at.isoformat()}|{rows[-1].pk}"
        next_query = query.urlencode()
    waits = health.waits(chosen)
    return page.render(
        "log.html",
        {
            "filters": filters,
            "waiting": _waiting(chosen),
            "warnings": [
                (hook, waits[str(hook.uuid)])
                for hook in chosen
                if str(hook.uuid) in waits and waits[str(hook.uuid)].reason
            ],
            "rows": [(entry, page.url("attempt", entry.uuid)) for entry in rows],
            "next_query": next_query,
            "redeliver": [(hook, _link(page, hook)) for hook in webhooks_],
            "redeliver_form": RedeliverFailedForm(),
        },
        status=400 if cursor is BAD_CURSOR else 200,
    )


WAITING_SHOWN = 20


def _waiting(webhooks: list[Webhook]) -> list[Delivery]:
    """Deliveries not done yet (due, waiting for a retry, or held), oldest due first:
    the log shows what has not been attempted as well as what has."""
    return list(
        Delivery.objects.filter(webhook__in=webhooks, status=Delivery.Status.PENDING)
        .select_related("webhook", "event")
        .order_by("next_attempt_at", "pk")[:WAITING_SHOWN]
    )


Cursor = tuple[datetime, int]
BAD_CURSOR: Cursor = (datetime.min.replace(tzinfo=UTC), 0)  # a link that was tampered with
_CURSOR = re.compile(r"(?P<when>[^|]{1,64})\|(?P<pk>[0-9]{1,18})")


def _cursor(before: str) -> Cursor | None:
    """The ``before`` link of the next page: ``<created_at>|<id>`` of the last row seen,
    as the page wrote it. None when absent, BAD_CURSOR when it is not one."""
    if not before:
        return None
    match = _CURSOR.fullmatch(before)
    try:
        moment = parse_datetime(match["when"]) if match else None
        if moment is None:
            return BAD_CURSOR
        if moment.tzinfo is not None:  # as the page writes it with USE_TZ
            moment = moment.astimezone(UTC)
        return moment, int(match["pk"])  # type: ignore[index]
    except (ValueError, OverflowError):  # 2024-02-30, hour 25, an offset past year 9999
        return BAD_CURSOR


def _keyset_page(attempts: Any, cursor: Cursor | None) -> tuple[list[DeliveryLog], bool]:
    """One page, newest first, read from the (project, created_at, id) index however
    deep it is: no OFFSET, and no count of the whole history."""
    size = webhook_settings.PAGE_SIZE
    if cursor is not None and cursor is not BAD_CURSOR:
        moment, pk = cursor
        attempts = attempts.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk))
    rows = list(attempts.order_by("-created_at", "-id")[: size + 1])
    return rows[:size], len(rows) > size


@for_managers
def attempt(request: HttpRequest, page: Page, log_id: Any) -> HttpResponse:
    entry = get_object_or_404(page.scope.logs().select_related("webhook", "delivery"), uuid=log_id)
    if request.method == "POST":
        try:
            again = operations.redeliver(entry.delivery, now=True)
        except DeliveryInFlight as busy:
            messages.error(request, str(busy))
        else:
            if again is None:
                messages.info(request, _("Queued: the webhook is not active, so it is held."))
            else:
                messages.success(request, _("Redelivered: attempt #%d.") % again.attempt)
                return redirect(page.url("attempt", again.uuid))
        return redirect(page.url("attempt", entry.uuid))
    return page.render(
        "attempt.html",
        {
            "entry": entry,
            "active": entry.webhook.is_active,
            "webhook_url": page.url("webhook", entry.webhook.uuid),
            "request_body": bodies.pretty(entry.request_body),
            "response_body": bodies.pretty(entry.response_body),
        },
    )


# -- the event catalog ------------------------------------------------------------------


@for_managers
def events(request: HttpRequest, page: Page) -> HttpResponse:
    """Every event: what it means, its JSON Schema and an example, and a form that sends
    the example to one of the scope's webhooks."""
    hooks = list(page.scope.webhooks())
    grouped: dict[str, list[dict[str, Any]]] = {}
    for found in schemas.contracts():
        grouped.setdefault(found.event.category, []).append(
            {
                "event": found.event,
                "schema": bodies.dumps(schemas.envelope_schema(found)),
                "example": bodies.dumps(schemas.example_envelope(found)),
                "form": ExampleForm(initial={"event": found.event.name}, webhooks=hooks),
            }
        )
    categories = [(name, catalog.category_patterns(name), rows) for name, rows in grouped.items()]
    return page.render("events.html", {"categories": categories, "hooks": hooks})


@for_managers
@require_POST
def send_example(request: HttpRequest, page: Page) -> HttpResponse:
    hooks = list(page.scope.webhooks())
    form = ExampleForm(request.POST, webhooks=hooks)
    if not form.is_valid():
        problems = [m for ms in form.errors.values() for m in ms]
        messages.error(request, "; ".join(problems))
        return redirect(page.url("events"))
    webhook = page.webhook(form.cleaned_data["webhook"])
    log = operations.send_example(webhook, form.cleaned_data["event"])
    outcome = operations.TestOutcome(webhook, log)
    return page.render("tested.html", {"outcomes": [outcome], "back": page.url("events")})

"""The backend of a project's "Settings -> Webhooks" screen, and of an organisation's.

Mounted under a host route that names the project (``WEBHOOKS["PROJECT_URL_KWARG"]``),
or the organisation (``WEBHOOKS["ORGANIZATION_URL_KWARG"]``, the same urls); every
scoped view resolves that project or organisation first and checks the manage rule
against it, so a user sees nothing of projects or organisations they do not manage.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from webhooks_app import grid, operations
from webhooks_app.api import serializers as s
from webhooks_app.api.parsers import PARSER_CLASSES
from webhooks_app.api.permissions import CanManageProjectWebhooks
from webhooks_app.api.schema import (
    NO_BODY,
    GridRowUpdatedSerializer,
    QueuedSerializer,
    documented,
    documented_view,
    path_parameter,
)
from webhooks_app.conf import webhook_settings
from webhooks_app.events import catalog
from webhooks_app.exceptions import ActivationRefused
from webhooks_app.models import RotationStage, Webhook
from webhooks_app.scopes import Scope, scope_in_url


class ProjectScopedMixin(GenericAPIView):
    permission_classes = [IsAuthenticated, CanManageProjectWebhooks]
    parser_classes = PARSER_CLASSES
    # Actions documented with no request body (``documented(request=NO_BODY)``): a body
    # with anything in it is refused, naming what was sent, rather than ignored.
    bodiless_actions: frozenset[str] = frozenset()

    @cached_property
    def scope(self) -> Scope:
        return scope_in_url(self.kwargs)

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "scope": self.scope}

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if getattr(self, "action", None) in self.bodiless_actions:
            s.refuse_body(request.data)

    def finalize_response(self, request, response, *args, **kwargs) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # A secret is shown once: no cache or proxy on the way may keep a copy.
        if isinstance(response.data, dict) and "secret" in response.data:
            add_never_cache_headers(response)
        return response

    def handle_exception(self, exc: Exception) -> Response:
        # What the operations refuse, as HTTP: the plan gate is a permission, a delivery
        # a worker is sending is a conflict.
        if isinstance(exc, ActivationRefused):
            exc = PermissionDenied(str(exc))
        elif isinstance(exc, Webhook.DoesNotExist):  # deleted by someone else meanwhile
            exc = NotFound("No such webhook: it was deleted.")
        elif isinstance(exc, operations.DeliveryInFlight):
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    def project_webhooks(self):
        return self.scope.webhooks().prefetch_related("subscriptions")


@documented_view(get=documented({200: s.CategorySerializer(many=True)}, bad_input=False))
class EventCatalogView(GenericAPIView):
    """The event catalog, grouped by category."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.CategorySerializer
    pagination_class = None

    def get(self, request, **kwargs) -> Response:
        categories = [
            {"name": name, "events": events} for name, events in catalog.by_category().items()
        ]
        return Response(s.CategorySerializer(categories, many=True).data)


@documented_view(
    # Classes, not instances: the serializer reads the catalog when it is built.
    list=documented({200: s.WebhookSerializer}, bad_input=False),
    create=documented({201: s.WebhookWithSecretSerializer}, request=s.WebhookSerializer),
    retrieve=documented({200: s.WebhookSerializer}, bad_input=False),
    update=documented({200: s.WebhookSerializer}),
    partial_update=documented({200: s.WebhookSerializer}),
    destroy=documented({204: None}, bad_input=False),
)
class WebhookViewSet(ProjectScopedMixin, viewsets.ModelViewSet):
    """Webhooks of one project (or organisation): list, create, read, update, delete,
    and their actions."""

    serializer_class = s.WebhookSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "webhook_id"
    bodiless_actions = frozenset(
        {"enable", "disable", "rotate_secret", "switch_secret", "test", "test_all"}
    )
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        return self.project_webhooks()

    def get_serializer_class(self):
        if self.action == "create":
            return s.WebhookWithSecretSerializer
        if self.action == "subscriptions":
            return s.SubscriptionSerializer
        if self.action == "redeliver_failed":
            return s.RedeliverFailedSerializer
        return super().get_serializer_class()

    def perform_destroy(self, instance: Webhook) -> None:
        operations.delete_webhook(instance)

    @documented({200: s.WebhookSerializer}, request=NO_BODY)
    @action(detail=True, methods=["post"])
    def enable(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        operations.enable(webhook)
        return Response(s.WebhookSerializer(webhook).data)

    @documented({200: s.WebhookSerializer}, request=NO_BODY)
    @action(detail=True, methods=["post"])
    def disable(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        operations.disable(webhook)
        return Response(s.WebhookSerializer(webhook).data)

    @documented(
        {200: s.SecretSerializer},
        request=NO_BODY,
        description=(
            "A new secret, shown once in this answer. Until previous_secret_expires_at, "
            "webhook-signature carries the new and the previous secret's signatures; the "
            "headers that hold one signature stay with the previous secret until "
            "switch-secret/ (or that time), so their receivers move when you switch."
        ),
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        operations.rotate_secret(webhook)
        return Response(s.SecretSerializer(webhook).data)

    @documented(
        {200: s.WebhookSerializer},
        request=NO_BODY,
        conflict=True,
        description=(
            "During a rotation's overlap, sign the headers that hold one signature (hex, "
            "github, agiletune, icescrum) with the new secret from now on; "
            "webhook-signature keeps carrying both until the overlap ends. Answers the "
            "webhook (see its rotation); a switch already made answers it too, and 409 "
            "means no rotation is in its overlap."
        ),
    )
    @action(detail=True, methods=["post"], url_path="switch-secret")
    def switch_secret(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        switched = operations.switch_secret(webhook)
        if not switched and webhook.rotation_stage() != RotationStage.SWITCHED:
            return Response(
                {"detail": "No rotation is in its overlap: there is nothing to switch."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(s.WebhookSerializer(webhook).data)

    @documented({200: s.TestOutcomeSerializer}, request=NO_BODY)
    @action(detail=True, methods=["post"])
    def test(self, request, **kwargs) -> Response:
        """Send a ``ping`` now and answer with its attempt."""
        webhook = self.get_object()
        outcome = operations.TestOutcome(webhook, operations.send_test(webhook))
        return Response(s.TestOutcomeSerializer(outcome).data)

    @documented({200: s.TestOutcomeSerializer(many=True)}, request=NO_BODY)
    @action(detail=False, methods=["post"], url_path="test-all")
    def test_all(self, request, **kwargs) -> Response:
        """Ping every webhook of the project, up to ``MAX_TESTS_PER_REQUEST`` of them
        (each may take up to TIMEOUT while the user waits); the rest answer "skipped"."""
        outcomes = operations.test_all(self.get_queryset())
        return Response(s.TestOutcomeSerializer(outcomes, many=True).data)

    @documented({202: QueuedSerializer}, request=s.RedeliverFailedSerializer)
    @action(detail=True, methods=["post"], url_path="redeliver-failed")
    def redeliver_failed(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        queued = operations.redeliver_failed(webhook, serializer.validated_data["since"])
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)

    @documented({201: s.WebhookSerializer}, request=s.SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def subscriptions(self, request, **kwargs) -> Response:
        """Add one event (or family, or '*') to this webhook's subscriptions."""
        webhook = self.get_object()
        serializer = s.SubscriptionSerializer(data=request.data, context={"webhook": webhook})
        serializer.is_valid(raise_exception=True)
        operations.subscribe(webhook, serializer.validated_data["event"])
        return Response(s.WebhookSerializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    @documented(
        {204: None},
        bad_input=False,
        parameters=path_parameter("event", "The subscribed event, family or '*'."),
    )
    @action(detail=True, methods=["delete"], url_path=r"subscriptions/(?P<event>[^/]+)")
    def unsubscribe(self, request, event: str, **kwargs) -> Response:
        if not operations.unsubscribe(self.get_object(), event):
            raise Http404("This webhook is not subscribed to that event.")
        return Response(status=status.HTTP_204_NO_CONTENT)


@documented_view(get=documented({200: s.GridRowSerializer(many=True)}, bad_input=False))
class SubscriptionGridView(ProjectScopedMixin, GenericAPIView):
    """The per-event grid (as GitScrum shows it): one endpoint URL per event, set or
    cleared row by row."""

    serializer_class = s.GridRowSerializer
    pagination_class = None

    def get(self, request, **kwargs) -> Response:
        return Response(s.GridRowSerializer(grid.rows(self.scope), many=True).data)


GRID_EVENT = path_parameter("event", "An event of the catalog (404 for any other).")


@documented_view(
    put=documented(
        {200: GridRowUpdatedSerializer, 201: GridRowUpdatedSerializer},
        request=s.GridUpdateSerializer,
        parameters=GRID_EVENT,
    ),
    delete=documented({204: None}, bad_input=False, parameters=GRID_EVENT),
)
class SubscriptionGridRowView(ProjectScopedMixin, GenericAPIView):
    serializer_class = s.GridUpdateSerializer

    def _event(self, event: str) -> str:
        if not grid.is_row(event):
            raise Http404(f"No grid row for {event!r}: not an event of the catalog.")
        return event

    def get_object(self) -> str:
        """The row, named by its event (what OPTIONS asks for before describing PUT)."""
        return self._event(self.kwargs["event"])

    def put(self, request, event: str, **kwargs) -> Response:
        event = self._event(event)
        serializer = s.GridUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = serializer.validated_data["url"]
        change = grid.set_url(self.scope, event, url)
        body = {"event": event, "url": url, "webhook": change.webhook.uuid}
        if change.created:
            body["secret"] = change.webhook.secret  # shown once: this is its creation
        return Response(body, status=status.HTTP_201_CREATED if change.created else 200)

    def delete(self, request, event: str, **kwargs) -> Response:
        grid.clear(self.scope, self._event(event))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryLogPagination(CursorPagination):
    """Keyset pages, newest first: each page is read from an index however deep it is,
    and nothing counts the whole history. ``next`` and ``previous`` carry the cursor."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        self.page_size = webhook_settings.PAGE_SIZE
        asked = request.query_params.get(self.page_size_query_param)
        most = self.max_page_size
        if asked is not None and not (_WHOLE.fullmatch(asked) and 1 <= int(asked) <= most):
            raise ValidationError({self.page_size_query_param: [f"A whole number, 1 to {most}."]})
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


_WHOLE = re.compile(r"[0-9]{1,6}")


@documented_view(
    list=documented(
        {200: s.DeliveryLogSerializer(many=True)}, parameters=[s.DeliveryLogFilterSerializer]
    ),
    retrieve=documented({200: s.DeliveryLogDetailSerializer}, bad_input=False),
)
class DeliveryLogViewSet(
    ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Delivery attempts of the project's (or organisation's) webhooks, newest first."""

    serializer_class = s.DeliveryLogSerializer
    pagination_class = DeliveryLogPagination
    lookup_field = "uuid"
    lookup_url_kwarg = "log_id"
    bodiless_actions = frozenset({"redeliver"})
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_serializer_class(self):
        if self.action in ("retrieve", "redeliver"):
            return s.DeliveryLogDetailSerializer
        return super().get_serializer_class()

    def get_queryset(self):
        logs = self.scope.logs().select_related("webhook", "event")
        if self.action != "list":
            return logs
        # A plain dict: as a form, DRF would read an empty filter (`?webhook=`) as absent.
        filters = s.DeliveryLogFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        if "event" in f:
            logs = logs.filter(event_type=f["event"])
        if "outcome" in f:
            logs = logs.filter(outcome=f["outcome"])
        if "webhook" in f:
            logs = logs.filter(webhook__uuid=f["webhook"])
        if "since" in f:
            logs = logs.filter(created_at__gte=f["since"])
        if "until" in f:
            logs = logs.filter(created_at__lte=f["until"])
        return logs

    @documented({201: s.DeliveryLogDetailSerializer}, request=NO_BODY, conflict=True)
    @action(detail=True, methods=["post"])
    def redeliver(self, request, **kwargs) -> Response:
        """Send this attempt's delivery again now (same message id); answer with the new
        attempt."""
        log = self.get_object()
        if not log.webhook.is_active:
            return Response(
                {"detail": "The webhook is disabled; enable it before redelivering."},
                status=status.HTTP_409_CONFLICT,
            )
        attempt = operations.redeliver(log.delivery, now=True)
        return Response(s.DeliveryLogDetailSerializer(attempt).data, status=status.HTTP_201_CREATED)


@csrf_exempt  # it changes nothing: any method gets its answer, not Django's CSRF page
def not_found(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """Any other path under the API: a JSON 404, as the schema documents, never Django's
    HTML page. A path the API has but for its trailing slash is redirected there for
    GET and HEAD, and named for other methods (a redirect would drop their body)."""
    slashed = request.path_info + "/"
    if settings.APPEND_SLASH and not request.path_info.endswith("/") and _routed(slashed):
        target = request.get_full_path(force_append_slash=True)
        if request.method in ("GET", "HEAD"):
            response = JsonResponse({"detail": f"Moved to {target}."}, status=301)
            response["Location"] = target
            return response
        return JsonResponse({"detail": f"Not found. Did you mean {target}?"}, status=404)
    return JsonResponse({"detail": "Not found."}, status=404)


def _routed(path: str) -> bool:
    try:
        return resolve(path).func is not not_found
    except Resolver404:
        return False

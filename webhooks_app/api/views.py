"""The backend of a project's "Settings -> Webhooks" screen.

Mounted under a host route that names the project (``WEBHOOKS["PROJECT_URL_KWARG"]``);
every project-scoped view resolves that project first and checks the manage rule
against it, so a user
sees nothing of projects they do not manage.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from webhooks_app import operations
from webhooks_app.api import serializers as s
from webhooks_app.api.parsers import PARSER_CLASSES
from webhooks_app.api.permissions import CanManageProjectWebhooks
from webhooks_app.api.schema import (
    GridRowUpdatedSerializer,
    QueuedSerializer,
    documented,
    documented_view,
    path_parameter,
)
from webhooks_app.conf import webhook_settings
from webhooks_app.events import PING, catalog, patterns_for
from webhooks_app.exceptions import ActivationRefused
from webhooks_app.models import RECEIVING, DeliveryLog, Subscription, Webhook
from webhooks_app.routing import project_gate


class ProjectScopedMixin(GenericAPIView):
    permission_classes = [IsAuthenticated, CanManageProjectWebhooks]
    parser_classes = PARSER_CLASSES

    @cached_property
    def project(self) -> Any:
        model = apps.get_model(webhook_settings.PROJECT_MODEL)
        value = self.kwargs.get(webhook_settings.PROJECT_URL_KWARG)
        if value is None:
            raise Http404("No project in the URL.")
        try:
            return model._default_manager.get(**{webhook_settings.PROJECT_LOOKUP_FIELD: value})
        except (model.DoesNotExist, ValueError, TypeError):
            # A project that does not exist is a 404; one that exists but is not the
            # user's to manage is a 403 from the permission check, with nothing of it.
            raise Http404("No such project.") from None

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "project": self.project}

    def handle_exception(self, exc: Exception) -> Response:
        # What the operations refuse, as HTTP: the plan gate is a permission, a delivery
        # a worker is sending is a conflict.
        if isinstance(exc, ActivationRefused):
            exc = PermissionDenied(str(exc))
        elif isinstance(exc, operations.DeliveryInFlight):
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    def project_webhooks(self):
        return Webhook.objects.filter(project=self.project).prefetch_related("subscriptions")


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
    """Webhooks of one project: list, create, read, update, delete, and their actions."""

    serializer_class = s.WebhookSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "webhook_id"
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

    @documented({200: s.WebhookSerializer}, request=None, bad_input=False)
    @action(detail=True, methods=["post"])
    def enable(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        operations.enable(webhook)
        return Response(s.WebhookSerializer(webhook).data)

    @documented({200: s.WebhookSerializer}, request=None, bad_input=False)
    @action(detail=True, methods=["post"])
    def disable(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        operations.disable(webhook)
        return Response(s.WebhookSerializer(webhook).data)

    @documented({200: s.SecretSerializer}, request=None, bad_input=False)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        operations.rotate_secret(webhook)
        return Response(s.SecretSerializer(webhook).data)

    @documented({200: s.TestOutcomeSerializer}, request=None, bad_input=False)
    @action(detail=True, methods=["post"])
    def test(self, request, **kwargs) -> Response:
        """Send a ``ping`` now and answer with its attempt."""
        webhook = self.get_object()
        outcome = operations.TestOutcome(webhook, operations.send_test(webhook))
        return Response(s.TestOutcomeSerializer(outcome).data)

    @documented({200: s.TestOutcomeSerializer(many=True)}, request=None, bad_input=False)
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

    def rows(self) -> list[dict]:
        own: dict[str, list[Subscription]] = {}
        receiving: dict[str, list[Subscription]] = {}
        for sub in self._subscriptions():
            if sub.webhook.project_id is not None:
                own.setdefault(sub.event_type, []).append(sub)
            if sub.webhook.status in RECEIVING:
                receiving.setdefault(sub.event_type, []).append(sub)
        # A project the activation rule refuses gets nothing, organisation-wide included.
        if not project_gate.allowed([self.project]):
            receiving = {}
        rows = []
        for event in catalog:
            exact = own.get(event.name, [])
            receivers = [
                {"webhook": sub.webhook, "pattern": pattern}
                for pattern in patterns_for(event.name)
                for sub in receiving.get(pattern, [])
            ]
            rows.append(
                {
                    "event": event.name,
                    "description": event.description,
                    "category": event.category,
                    "url": exact[0].webhook.url if exact else None,
                    "webhook": exact[0].webhook.uuid if exact else None,
                    "receivers": receivers,
                }
            )
        return rows

    def _subscriptions(self) -> Any:
        """The subscriptions of this project's webhooks and of organisation-wide ones."""
        mine = Q(webhook__project=self.project) | Q(webhook__project__isnull=True)
        return (
            Subscription.objects.filter(mine)
            .select_related("webhook")
            .order_by("webhook__created_at", "webhook_id")
        )

    def get(self, request, **kwargs) -> Response:
        return Response(s.GridRowSerializer(self.rows(), many=True).data)


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
        if event not in catalog or event == PING:
            raise Http404(f"No grid row for {event!r}: not an event of the catalog.")
        return event

    def put(self, request, event: str, **kwargs) -> Response:
        event = self._event(event)
        serializer = s.GridUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = serializer.validated_data["url"]
        with transaction.atomic():
            for sub in Subscription.objects.filter(
                webhook__project=self.project, event_type=event
            ).select_related("webhook"):
                operations.unsubscribe(sub.webhook, event)
            webhook = Webhook.objects.filter(project=self.project, url=url).first()
            created = webhook is None
            if created:
                webhook = operations.create_webhook(project=self.project, url=url, events=[event])
            else:
                operations.subscribe(webhook, event)
        body = {"event": event, "url": url, "webhook": webhook.uuid}
        if created:
            body["secret"] = webhook.secret  # shown once: this is the webhook's creation
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def delete(self, request, event: str, **kwargs) -> Response:
        event = self._event(event)
        for sub in Subscription.objects.filter(
            webhook__project=self.project, event_type=event
        ).select_related("webhook"):
            operations.unsubscribe(sub.webhook, event)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryLogPagination(CursorPagination):
    """Keyset pages, newest first: each page is read from an index however deep it is,
    and nothing counts the whole history. ``next`` and ``previous`` carry the cursor."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        self.page_size = webhook_settings.PAGE_SIZE
        return super().get_page_size(request)


@documented_view(
    list=documented(
        {200: s.DeliveryLogSerializer(many=True)}, parameters=[s.DeliveryLogFilterSerializer]
    ),
    retrieve=documented({200: s.DeliveryLogDetailSerializer}, bad_input=False),
)
class DeliveryLogViewSet(
    ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Delivery attempts of the project's webhooks, newest first."""

    serializer_class = s.DeliveryLogSerializer
    pagination_class = DeliveryLogPagination
    lookup_field = "uuid"
    lookup_url_kwarg = "log_id"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_serializer_class(self):
        if self.action in ("retrieve", "redeliver"):
            return s.DeliveryLogDetailSerializer
        return super().get_serializer_class()

    def get_queryset(self):
        # By the log's own project column, so one index serves every page and filter.
        logs = DeliveryLog.objects.filter(project=self.project).select_related("webhook", "event")
        if self.action != "list":
            return logs
        filters = s.DeliveryLogFilterSerializer(data=self.request.query_params)
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

    @documented({201: s.DeliveryLogDetailSerializer}, request=None, bad_input=False, conflict=True)
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

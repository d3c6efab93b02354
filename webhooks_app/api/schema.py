"""OpenAPI annotations of the API, for drf-spectacular when the host uses it.

drf-spectacular is optional: without it the decorators here change nothing. With it,
every operation documents what it really answers: its success body, a 400 for bad
input, 401/403 for who may not, 404 for what does not exist, 409 for what a worker
holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

try:
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import (
        OpenApiParameter,
        OpenApiResponse,
        extend_schema,
        extend_schema_view,
    )
except ImportError:  # pragma: no cover - exercised by hosts without drf-spectacular
    extend_schema = extend_schema_view = None  # type: ignore[assignment]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


NO_BODY = object()
"""``documented(request=NO_BODY)``: the operation takes no request body (an empty JSON
object is accepted too, anything else is a 400 naming what was sent)."""


def documented(
    ok: dict[int, Any],
    *,
    request: Any = None,
    parameters: list | None = None,
    bad_input: bool = True,
    conflict: bool = False,
    description: str | None = None,
) -> Callable[[Any], Any]:
    """``extend_schema`` with the errors every operation here can answer."""
    if extend_schema is None:
        return lambda view: view
    responses: dict[int, Any] = dict(ok)
    if bad_input:
        responses[400] = OpenApiResponse(
            OpenApiTypes.OBJECT, description="Bad input: the offending fields, with messages."
        )
    responses[401] = OpenApiResponse(ErrorSerializer, description="Not authenticated.")
    responses[403] = OpenApiResponse(
        ErrorSerializer,
        description="Not a manager of this project (or organisation), or refused by its plan.",
    )
    responses[404] = OpenApiResponse(
        ErrorSerializer, description="No such project, organisation or object."
    )
    if conflict:
        responses[409] = OpenApiResponse(
            ErrorSerializer, description="A worker holds it, or its webhook is disabled."
        )
    kwargs: dict[str, Any] = {"responses": responses, "parameters": parameters or []}
    if request is NO_BODY:
        kwargs["request"] = None  # drf-spectacular's "no request body"
    elif request is not None:
        kwargs["request"] = request
    if description is not None:
        kwargs["description"] = description
    return extend_schema(**kwargs)


def path_parameter(name: str, description: str) -> list:
    if extend_schema is None:
        return []
    return [OpenApiParameter(name, str, OpenApiParameter.PATH, description=description)]


def documented_view(**actions: Any) -> Callable[[Any], Any]:
    """``extend_schema_view``: a ``documented(...)`` per action of a viewset."""
    if extend_schema_view is None:
        return lambda view: view
    return extend_schema_view(**actions)


class QueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Deliveries made due again.")


class GridRowUpdatedSerializer(serializers.Serializer):
    event = serializers.CharField()
    url = serializers.CharField()
    webhook = serializers.UUIDField()
    secret = serializers.CharField(
        required=False, help_text="Only when the URL created its webhook: shown once."
    )

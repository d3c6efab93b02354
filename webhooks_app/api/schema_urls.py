"""The OpenAPI 3.1 document of every webhook event, for the host to mount, e.g.::

    path("webhooks/schema.json", include("webhooks_app.api.schema_urls"))

It describes payloads, never an account's data, so it is served to anyone; wrap the view
(``login_required``) to restrict it. :func:`webhooks_app.schemas.merge_into` adds it to
the API's own document instead.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from webhooks_app.schemas import openapi_document

app_name = "webhooks_schema"


@require_GET
def webhooks_schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"ensure_ascii": False})


urlpatterns = [path("", webhooks_schema, name="document")]

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from tests.testapp import receivers
from webhooks_app.api.views import not_found
from webhooks_app.health import health_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("webhooks/health/", health_view, name="webhooks-health"),
    path("api/projects/<int:project_pk>/", include("webhooks_app.api.urls")),
    path(
        "api/organizations/<int:organization_pk>/",
        include("webhooks_app.api.organization_urls"),
    ),
    path(
        "organizations/<int:organization_pk>/settings/webhooks/",
        include("webhooks_app.portal.organization_urls"),
    ),
    path(
        "projects/<int:project_pk>/settings/webhooks/",
        include("webhooks_app.portal.urls"),
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("receive/items/", receivers.items, name="receive-items"),
    path("webhooks/schema.json", include("webhooks_app.api.schema_urls")),
    path("hooks/receive/", receivers.receive, name="receive"),
    # Last: any other path under api/ answers a JSON 404, as the API's own do.
    re_path(r"^api/", not_found),
]

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from example_project.agile.downloads import download_attachment
from webhooks_app.api.views import not_found
from webhooks_app.health import health_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("webhooks/health/", health_view, name="webhooks-health"),
    path(
        "attachments/<uuid:uuid>/download/",
        download_attachment,
        name="agile-attachment-download",
    ),
    path("api/projects/<int:project_pk>/", include("webhooks_app.api.urls")),
    path(
        "projects/<int:project_pk>/settings/webhooks/",
        include("webhooks_app.portal.urls"),
    ),
    # AgileTune's Organization Settings → Webhooks: a company's own webhooks.
    path("api/organizations/<int:organization_pk>/", include("webhooks_app.api.organization_urls")),
    path(
        "organizations/<int:organization_pk>/settings/webhooks/",
        include("webhooks_app.portal.organization_urls"),
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("webhooks/schema.json", include("webhooks_app.api.schema_urls")),
    path("api/schema/ui/", SpectacularSwaggerView.as_view(url_name="schema"), name="schema-ui"),
    # Last: any other path under api/ answers a JSON 404, as the API's own do.
    re_path(r"^api/", not_found),
]

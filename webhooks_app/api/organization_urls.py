"""The same API for an organisation's webhooks. Mount under a route that names the
organisation (``WEBHOOKS["ORGANIZATION_URL_KWARG"]``), e.g.::

path("api/organizations/<int:organization_pk>/", include("webhooks_app.api.organization_urls"))

Its own namespace (``webhooks_org_api``): the project routes keep theirs.
"""

from webhooks_app.api.urls import urlpatterns

app_name = "webhooks_org_api"

__all__ = ["app_name", "urlpatterns"]

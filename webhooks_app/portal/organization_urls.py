"""Organization Settings → Webhooks: the same pages for an organisation's webhooks,
which receive the events of every project of the organisation. Mount under a route that
names the organisation (``WEBHOOKS["ORGANIZATION_URL_KWARG"]``), behind the host's
login, e.g.::

path("organizations/<int:organization_pk>/settings/webhooks/",
     include("webhooks_app.portal.organization_urls"))

Its own namespace (``webhooks_org_portal``): the project pages keep theirs.
"""

from webhooks_app.portal.urls import urlpatterns

app_name = "webhooks_org_portal"

__all__ = ["app_name", "urlpatterns"]

"""Mount under a route that names the project, e.g.::

path("api/projects/<int:project_pk>/", include("webhooks_app.api.urls"))
"""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from webhooks_app.api import views

app_name = "webhooks_api"

router = SimpleRouter()
router.register("webhooks", views.WebhookViewSet, basename="webhook")
router.register("deliveries", views.DeliveryLogViewSet, basename="delivery")

urlpatterns = [
    path("events/", views.EventCatalogView.as_view(), name="events"),
    path("subscriptions/grid/", views.SubscriptionGridView.as_view(), name="grid"),
    path(
        "subscriptions/grid/<str:event>/",
        views.SubscriptionGridRowView.as_view(),
        name="grid-row",
    ),
    *router.urls,
    # Last: every other path under the API answers a JSON 404, not Django's HTML one.
    re_path(r"^.*$", views.not_found, name="not-found"),
]

"""Mount under a route that names the project, e.g.::

path("projects/<int:project_pk>/settings/webhooks/", include("webhooks_app.portal.urls"))
"""

from django.urls import path

from webhooks_app.portal import views

app_name = "webhooks_portal"

urlpatterns = [
    path("", views.webhooks, name="webhooks"),
    path("add/", views.add, name="add"),
    path("test-all/", views.test_all, name="test-all"),
    path("grid/", views.grid_view, name="grid"),
    path("log/", views.log, name="log"),
    path("log/<uuid:log_id>/", views.attempt, name="attempt"),
    path("events/", views.events, name="events"),
    path("events/send-example/", views.send_example, name="send-example"),
    path("<uuid:webhook_id>/", views.webhook_page, name="webhook"),
    path("<uuid:webhook_id>/edit/", views.edit, name="edit"),
    path("<uuid:webhook_id>/secret/", views.secret, name="secret"),
    path("<uuid:webhook_id>/rotate/", views.rotate, name="rotate"),
    path("<uuid:webhook_id>/switch-secret/", views.switch_secret, name="switch-secret"),
    path("<uuid:webhook_id>/test/", views.test, name="test"),
    path("<uuid:webhook_id>/enable/", views.enable, name="enable"),
    path("<uuid:webhook_id>/disable/", views.disable, name="disable"),
    path("<uuid:webhook_id>/delete/", views.delete, name="delete"),
    path("<uuid:webhook_id>/redeliver-failed/", views.redeliver_failed, name="redeliver-failed"),
]

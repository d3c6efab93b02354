"""The receive-only host's URLs: the admin, and one inbox view (its handler writes a
group, a table of Django's own)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import path

from webhooks_app.receiving import webhook_view

SECRET = "whsec_cmVjZWl2ZXItb25seS10ZXN0cy1ub3Qtc2VjcmV0"


@webhook_view(secret=SECRET, inbox="receiver.groups")
def groups(request, payload):
    Group.objects.create(name=payload["name"])


urlpatterns = [
    path("admin/", admin.site.urls),
    path("hook/", groups),
]

"""Project Settings → Webhooks: server-rendered pages on which a project's own managers
(not site staff) manage its endpoints, test them and read their delivery log.

Mount under a route that names the project, behind the host's login::

    path("projects/<int:project_pk>/settings/webhooks/", include("webhooks_app.portal.urls"))

Every change goes through :mod:`webhooks_app.operations`; who may open the pages is
``WEBHOOKS["MANAGE_PERMISSION"]``. Templates live in ``webhooks_app/portal/`` and
extend ``webhooks_app/portal/base.html``: override that one to put the pages in the
host's layout, or any page's blocks.
"""

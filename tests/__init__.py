import os

if os.environ.get("WEBHOOKS_RUNNER") == "celery":
    # As a host's project package does: the Celery app exists whenever Django runs.
    from tests.celery_app import app as celery_app  # noqa: F401

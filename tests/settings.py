"""Test settings: the example project, with databases a real qcluster can share."""

import os

from example_project.settings import *  # noqa: F403
from example_project.settings import BASE_DIR, DATABASES, Q_CLUSTER, WEBHOOKS

ARTIFACTS = BASE_DIR / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not pytest-django's in-memory default: a qcluster subprocess must see it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("WEBHOOKS_TEST_SQLITE", str(ARTIFACTS / "test-db.sqlite3"))
    }
else:
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("WEBHOOKS_PG_TEST_NAME", "test_webhooks_app")
    }

Q_CLUSTER["name"] = os.environ.get("WEBHOOKS_Q_NAME", "webhooks-test")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A real qcluster started by a test reads these settings too: let the test size them.
WEBHOOKS["CONCURRENCY"] = int(os.environ.get("WEBHOOKS_CONCURRENCY", "16"))

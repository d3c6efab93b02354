"""The API against its own OpenAPI schema, as ``schemathesis run --checks all`` sees it.

The schemathesis CLI drives a live server with every phase (examples, coverage, fuzzing,
stateful) and every check but one: positive_data_acceptance expects a 2xx for any input
the schema allows, and no schema can say which URLs the SSRF policy and the host's
ALLOWED_NETWORKS refuse, or that `since` must not be later than `until`. Those refusals
are 400s naming the field, tested one by one in test_api.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import manager_of

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 12  # per operation and phase: bounded, so the run takes under a minute
PASSWORD = "schemathesis-password"


# The project's routes, and the same API mounted for an organisation's webhooks.
ROUTES = {
    "project": ("/api/projects/", "project_pk"),
    "organization": ("/api/organizations/", "organization_pk"),
}


def schema_for(owner, scope: str = "project") -> dict:
    """The API's schema with the host's route filled in: the project (or organisation)
    in the path belongs to the host's URLconf, not to the API. (The host's schema view,
    drf-spectacular's own, is left out.)"""
    prefix, kwarg = ROUTES[scope]
    document = SchemaGenerator().get_schema(request=None, public=True)
    paths = {}
    for path, item in document["paths"].items():
        if not path.startswith(prefix):
            continue
        for operation in item.values():
            operation["parameters"] = [
                p for p in operation.get("parameters", []) if p["name"] != kwarg
            ]
        paths[path.replace("{" + kwarg + "}", str(owner.pk))] = item
    document["paths"] = paths
    return document


@pytest.mark.parametrize("scope", list(ROUTES))
def test_every_answer_matches_the_schema_under_every_check(
    live_server, project, organization, make_webhook, tmp_path, scope
):
    owner = organization if scope == "organization" else project
    make_webhook(
        "https://example.com/hook",
        project=project if scope == "project" else None,
        organization=organization if scope == "organization" else None,
    )
    user = manager_of(owner)
    user.set_password(PASSWORD)
    user.save()
    schema = tmp_path / "openapi.json"
    document = schema_for(owner, scope)
    assert document["paths"], "no route of this scope in the schema"
    schema.write_text(json.dumps(document))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(schema),
            "--url",
            live_server.url,
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            str(EXAMPLES),
            "--auth",
            f"{user.username}:{PASSWORD}",
            "--workers",
            "1",
            # A connection per request: kept alive, each answer waited ~40 ms for a
            # delayed ACK (the test server writes headers and body separately).
            "--header",
            "Connection: close",
            "--seed",
            "18",
            "--generation-database",
            "none",
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "60",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # its cache of past failures, replayed by later runs, stays out
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]

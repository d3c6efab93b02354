"""The API against its own OpenAPI schema: schemathesis generates requests from the
schema (valid and invalid ones), sends them through Django, and checks every answer
against it: no 500, every status, header and body documented."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import manager_of

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 15  # per operation: bounded, so the suite stays fast
# Every default check runs but one: positive_data_acceptance expects a 2xx for any input
# the schema allows, and no schema can say which URLs the SSRF policy and the host's
# ALLOWED_NETWORKS refuse, or that `since` must not be later than `until`. Those refusals
# are 400s naming the field, tested one by one in test_api.py.


@pytest.fixture
def api_schema(project, make_webhook):
    make_webhook("https://example.com/hook")
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = get_wsgi_application()
    return loaded


def test_every_answer_matches_the_schema(api_schema, project):
    user = manager_of(project)
    user.set_password("secret")
    user.save()
    auth = "Basic " + base64.b64encode(f"{user.username}:secret".encode()).decode()
    failures: dict[str, str] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.path_parameters = {**(case.path_parameters or {}), "project_pk": project.pk}
            # Signed in with Basic auth, not with a generated (invalid) session cookie.
            case.cookies = {}
            case.call_and_validate(
                headers={"Authorization": auth}, excluded_checks=[positive_data_acceptance]
            )

        try:
            check()
        except BaseException as exc:  # every operation's failures, not just the first
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())

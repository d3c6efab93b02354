#!/usr/bin/env python
"""Tables at scale (PostgreSQL): claims, the API's log pages and the admin changelist
with a million delivered rows.

    WEBHOOKS_DB=postgres .venv/bin/python bench/scale.py [--rows 1000000]

Seeds, with ``generate_series`` in a throwaway database: ``--rows`` delivered
deliveries with one attempt log each (fan-out ten: a tenth as many events), across ten
webhooks of one project, 26 event types, 5 % failures, spread over 30 days; plus 2,000
pending deliveries due now, across the same webhooks. Then times, as medians:

- a claim of 16 (what a worker with 16 free slots takes), rolled back each time;
- the API's delivery log: the first page, a page 100,000 rows deep, and the first page
  filtered by outcome, event, webhook and time range;
- the admin's delivery-log changelist, unfiltered and filtered.

Targets (issue: the host pays almost nothing): a claim <= 15 ms, every API page
<= 50 ms, the admin changelist <= 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from common import setup_django, throwaway_database

TARGETS = {"claim": 15.0, "api": 50.0, "admin": 150.0}  # ms

SEED = """
INSERT INTO webhooks_app_event (uuid, event_type, project_id, body, created_at)
SELECT md5(e::text)::uuid, (%(types)s::text[])[1 + e %% 26], %(project)s,
       '{"event":"x","data":{"n":' || e || '}}', %(start)s + e * %(step)s
FROM generate_series(1, %(events)s) AS e;

INSERT INTO webhooks_app_delivery (webhook_id, event_id, status, "trigger", attempts,
    round_offset, next_attempt_at, last_attempt_at, last_status_code, created_at, updated_at)
SELECT w.id, e.id, CASE WHEN e.id %% 20 = 0 THEN 'failed' ELSE 'succeeded' END, 'event', 1,
       0, NULL, e.created_at, CASE WHEN e.id %% 20 = 0 THEN 500 ELSE 200 END,
       e.created_at, e.created_at
FROM webhooks_app_event e CROSS JOIN (SELECT id FROM webhooks_app_webhook) w;

INSERT INTO webhooks_app_deliverylog (uuid, delivery_id, webhook_id, project_id, event_id,
    event_type, attempt, "trigger", url, request_headers, response_status, response_headers,
    response_body, duration_ms, error, outcome, next_attempt_at, created_at)
SELECT md5('log' || d.id)::uuid, d.id, d.webhook_id, %(project)s, d.event_id, e.event_type,
       1, 'event', 'https://example.com/hook',
       '{"Content-Type": "application/json", "webhook-id": "msg_x"}'::jsonb,
       d.last_status_code, '{"Content-Type": "text/plain"}'::jsonb, 'ok', 12.5, '',
       CASE WHEN d.status = 'failed' THEN 'failure' ELSE 'success' END, NULL, d.created_at
FROM webhooks_app_delivery d JOIN webhooks_app_event e ON e.id = d.event_id;

INSERT INTO webhooks_app_delivery (webhook_id, event_id, status, "trigger", attempts,
    round_offset, next_attempt_at, created_at, updated_at)
SELECT (SELECT id FROM webhooks_app_webhook ORDER BY id OFFSET (n %% 10) LIMIT 1),
       (SELECT max(id) FROM webhooks_app_event), 'pending', 'event', 0, 0, now(), now(), now()
FROM generate_series(1, 2000) AS n;

ANALYZE;
"""


def median_ms(fn: Callable[[], object], repeat: int = 15) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def seed(rows: int):
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from example_project.agile.models import Project
    from webhooks_app.events import catalog
    from webhooks_app.models import Webhook

    project = Project.objects.create(name="Scale", slug="scale")
    for i in range(10):
        Webhook.objects.create(project=project, url=f"https://example.com/hook/{i}")
    events = rows // 10
    start = timezone.now() - timedelta(days=30)
    with connection.cursor() as cursor:
        cursor.execute(
            SEED,
            {
                "types": [e.name for e in catalog][:26],
                "project": project.pk,
                "events": events,
                "start": start,
                "step": timedelta(days=30) / events,
            },
        )
    return project


def time_claim() -> float:
    from django.db import transaction
    from django.utils import timezone

    from webhooks_app.engine.claims import claim

    def one() -> None:
        with transaction.atomic():
            assert claim(16, timezone.now())
            transaction.set_rollback(True)

    return median_ms(one)


def time_api(project) -> dict[str, float]:
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from webhooks_app.models import DeliveryLog, Webhook

    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("bench", "b@example.com", "x"))
    base = f"/api/projects/{project.pk}/deliveries/"
    depth = min(100_000, DeliveryLog.objects.count() - 100)
    deep = DeliveryLog.objects.order_by("-created_at", "-id").values_list("created_at", flat=True)[
        depth
    ]
    webhook = Webhook.objects.order_by("pk").first()
    some_day = deep.date().isoformat()
    pages = {
        "first page": {},
        f"{depth:,} rows deep": {"cursor": _cursor(deep)},
        "outcome=failure": {"outcome": "failure"},
        "event=sprints.store": {"event": "sprints.store"},
        "webhook=<one of ten>": {"webhook": str(webhook.uuid)},
        "since/until one day": {"since": f"{some_day}T00:00:00Z", "until": f"{some_day}T23:59Z"},
    }

    def fetch(params):
        def run() -> None:
            response = client.get(base, params)
            assert response.status_code == 200 and response.json()["results"], response.json()

        return run

    return {label: median_ms(fetch(params)) for label, params in pages.items()}


def _cursor(position) -> str:
    """The API's own cursor for a page that starts at ``position``."""
    from rest_framework.pagination import Cursor
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from webhooks_app.api.views import DeliveryLogPagination

    paginator = DeliveryLogPagination()
    paginator.base_url = "http://testserver/"
    paginator.request = Request(APIRequestFactory().get("/"))
    url = paginator.encode_cursor(Cursor(offset=0, reverse=False, position=str(position)))
    return url.split("cursor=", 1)[1].split("&", 1)[0].replace("%3D", "=")


def time_admin() -> dict[str, float]:
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username="bench"))
    base = "/admin/webhooks_app/deliverylog/"
    views = {"changelist": "", "outcome=failure": "?outcome__exact=failure"}

    def fetch(query):
        def run() -> None:
            assert client.get(base + query).status_code == 200

        return run

    return {label: median_ms(fetch(query), repeat=7) for label, query in views.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="delivered rows (1,000,000)")
    args = parser.parse_args(argv)
    with throwaway_database("scale") as info:
        if info["db"] != "postgres":
            print("bench/scale.py needs PostgreSQL: run it with WEBHOOKS_DB=postgres.")
            return 2
        setup_django()
        started = time.monotonic()
        project = seed(args.rows)
        print(f"seeded {args.rows:,} delivered rows in {time.monotonic() - started:.0f} s")
        claim = time_claim()
        api = time_api(project)
        admin = time_admin()
    failed = []
    print(f"--- at {args.rows:,} delivered rows (median ms)")
    print(f"  claim of 16 due deliveries:        {claim:7.1f} ms (target <= {TARGETS['claim']:g})")
    failed += ["claim"] if claim > TARGETS["claim"] else []
    for label, ms in api.items():
        print(f"  API log, {label:26s} {ms:7.1f} ms (target <= {TARGETS['api']:g})")
        failed += [label] if ms > TARGETS["api"] else []
    for label, ms in admin.items():
        print(f"  admin {label:29s} {ms:7.1f} ms (target <= {TARGETS['admin']:g})")
        failed += [label] if ms > TARGETS["admin"] else []
    print("targets: " + ("all met" if not failed else "NOT met: " + ", ".join(failed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

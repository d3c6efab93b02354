"""`make demo`: real actions -> signed webhooks -> a real qcluster -> a local receiver.

One product action per catalogued event (see example_project/agile/scenario.py), all 26
delivered to a receiver that verifies every signature.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.urls import reverse

from example_project.agile import scenario, services
from webhooks_app.events import catalog
from webhooks_app.models import Delivery, DeliveryLog, Subscription, Webhook
from webhooks_app.testing import Receiver, wait_until


class Command(BaseCommand):
    help = "Run the webhooks pipeline end to end against a local verifying receiver."

    def add_arguments(self, parser):
        parser.add_argument("--dump", help="Write each received request to DIR/<event>.json.")
        parser.add_argument("--timeout", type=float, default=90, help="Seconds to wait.")

    def handle(self, *args, dump=None, timeout=90, **options):
        call_command("migrate", verbosity=0)
        with Receiver() as receiver:
            tag = f"-{os.getpid()}"  # the demo may run again on the same database
            company = services.create_company("Acme Corp", slug=f"acme{tag}")
            project = services.create_project(company, "Web Platform", slug=f"web{tag}")
            # Set up before the webhook exists, so only the 26 actions below send events.
            stage = scenario.set_the_stage(project, tag=tag)
            webhook = Webhook.objects.create(
                project=project, url=receiver.url, name="Demo receiver"
            )
            Subscription.objects.create(webhook=webhook, event_type="*")
            receiver.secret = webhook.secret
            self.stdout.write(f"Receiver on {receiver.url}, verifying with webhooks_app.verify()")

            actions = scenario.act(stage)
            expected = Delivery.objects.filter(webhook=webhook).count()
            self.stdout.write(f"{expected} deliveries pending; starting a qcluster worker...")
            self.run_worker(webhook, timeout)
            self.report(webhook, receiver, actions, expected, dump)

    def run_worker(self, webhook: Webhook, timeout: float) -> None:
        with tempfile.NamedTemporaryFile(
            "w+", prefix="demo-qcluster-", suffix=".log", delete=False
        ) as log:
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=settings.BASE_DIR,
                env=os.environ.copy(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            pending = Delivery.objects.filter(webhook=webhook, status=Delivery.Status.PENDING)
            try:
                wait_until(lambda: not pending.exists(), timeout=timeout, interval=0.2)
            except AssertionError:
                log.seek(0)
                raise CommandError(
                    f"Deliveries still pending after {timeout}s; qcluster log:\n"
                    f"{log.read()[-3000:]}"
                ) from None
            finally:
                worker.terminate()
                worker.wait(timeout=30)
                Path(log.name).unlink(missing_ok=True)

    def report(
        self,
        webhook: Webhook,
        receiver: Receiver,
        actions: dict[str, str],
        expected: int,
        dump: str | None,
    ) -> None:
        by_attempt = {r.headers.get("X-Webhook-Delivery"): r for r in receiver.requests}
        rows = []
        delivered = set()
        deliveries = webhook.deliveries.select_related("event").order_by("event__created_at", "pk")
        for delivery in deliveries:
            event_type = delivery.event.event_type
            logs = list(DeliveryLog.objects.filter(delivery=delivery).order_by("attempt"))
            last = logs[-1] if logs else None
            request = by_attempt.get(str(last.uuid)) if last else None
            duration = sum(log.duration_ms for log in logs)
            ok = str(delivery.last_status_code or "").startswith("2")
            verified = request is not None and request.verified
            if ok and verified:
                delivered.add(event_type)
            rows.append(
                (
                    event_type,
                    actions.get(event_type, "-"),
                    str(delivery.last_status_code or "-"),
                    str(delivery.attempts),
                    f"{duration:.1f} ms",
                    "yes" if verified else "NO",
                )
            )
            if dump and request is not None:
                folder = Path(dump)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{event_type}.json").write_text(
                    json.dumps({"headers": request.headers, "body": request.json()}, indent=2)
                )
        header = ("event", "action", "status", "attempts", "duration", "signature verified")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        self.stdout.write("")
        self.stdout.write(line.format(*header).rstrip())
        self.stdout.write(line.format(*("-" * w for w in widths)))
        for row in rows:
            self.stdout.write(line.format(*row).rstrip())
        ok = sum(1 for r in rows if r[2].startswith("2") and r[5] == "yes")
        total = DeliveryLog.objects.filter(webhook=webhook).aggregate(t=Sum("duration_ms"))["t"]
        self.stdout.write("")
        self.stdout.write(
            f"{ok} of {expected} delivered with verified signatures "
            f"({total or 0:.1f} ms on the wire)."
        )
        if dump:
            self.stdout.write(f"Requests written to {dump}/<event>.json")
        page = reverse("webhooks_portal:webhooks", kwargs={"project_pk": webhook.project_id})
        database = settings.DATABASES["default"]["NAME"]
        self.stdout.write(
            f"The project's webhook settings page: {page}. To open it: "
            f"export WEBHOOKS_SQLITE_PATH={database}; .venv/bin/python manage.py "
            "createsuperuser; .venv/bin/python manage.py runserver; then sign in there."
        )
        missing = sorted({e.name for e in catalog} - delivered)
        if missing:
            raise CommandError(f"Events not delivered: {', '.join(missing)}.")
        if ok != expected:
            raise CommandError("Some deliveries failed or did not verify.")

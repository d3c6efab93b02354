from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from webhooks_app.health import Report, report


class Command(BaseCommand):
    help = (
        "Report whether webhook delivery keeps up: the oldest due delivery, the backlog "
        "per endpoint, failing and disabled endpoints, the last recorded attempt. Exits 1 "
        "when the oldest due delivery is older than --stall-after (for cron, monitors, "
        "liveness probes)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--stall-after",
            type=float,
            default=None,
            help="Seconds a due delivery may wait before delivery counts as stalled "
            "(default: WEBHOOKS['STALL_AFTER']).",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, stall_after: float | None, **options: Any) -> None:
        current = report(stall_after=stall_after)
        if options["json"]:
            self.stdout.write(json.dumps(current.as_json(), cls=DjangoJSONEncoder, indent=2))
        else:
            self._print(current)
        if current.stalled:
            raise SystemExit(1)

    def _print(self, current: Report) -> None:
        write = self.stdout.write
        age = current.oldest_due_age
        if age is None:
            write("Nothing is due.")
        else:
            verdict = (
                self.style.ERROR(f"STALLED: older than {current.stall_after:g} s")
                if current.stalled
                else "within bounds"
            )
            write(f"Oldest due delivery: {age:.0f} s old ({verdict}).")
        last = current.last_attempt_at
        write(f"Last recorded attempt: {last.isoformat(timespec='seconds') if last else 'none'}.")
        for row in current.backlog:
            paused = f", paused until {row.paused_until:%H:%M:%S}" if row.paused_until else ""
            write(
                f"  {row.name}: {row.due} due, {row.waiting_for_retry} waiting for a retry, "
                f"{row.held} held ({row.status}, {row.consecutive_failures} failures{paused})"
            )
        write(f"Failing endpoints: {len(current.failing)}; disabled: {len(current.disabled)}.")
        if current.stalled:
            write(
                "Due deliveries are not being claimed: check that a qcluster runs for "
                "this project's Q_CLUSTER; if one runs, restart it (see README, "
                "'When workers stall')."
            )

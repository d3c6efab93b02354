from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from webhooks_app.health import Report, report


class Command(BaseCommand):
    help = (
        "Report whether webhook delivery keeps up: due deliveries that no worker holds, "
        "delivery tasks that no worker starts, the backlog per endpoint, failing and "
        "disabled endpoints, the last recorded attempt. Exits 1 when either has waited "
        "longer than --stall-after (for cron, monitors, liveness probes)."
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
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing unless delivery is stalled."
        )

    def handle(self, *args: Any, stall_after: float | None, **options: Any) -> None:
        current = report(stall_after=stall_after)
        if options["quiet"] and not current.stalled:
            return
        if options["json"]:
            self.stdout.write(json.dumps(current.as_json(), cls=DjangoJSONEncoder, indent=2))
        else:
            self._print(current)
        if current.stalled:
            raise SystemExit(1)

    def _print(self, current: Report) -> None:
        write = self.stdout.write
        age, unworked = current.oldest_due_age, current.oldest_unworked_age
        if age is None:
            write("Nothing is due.")
        else:
            write(f"Oldest due delivery: {age:.0f} s old.")
        if unworked is not None:
            verdict = (
                self.style.ERROR(f"STALLED: older than {current.stall_after:g} s")
                if current.frozen_endpoints
                else "within bounds"
            )
            write(f"Oldest due delivery that no worker holds: {unworked:.0f} s old ({verdict}).")
        waiting = current.queue_waiting_since
        if waiting is not None:
            waited = (current.checked_at - waiting).total_seconds()
            verdict = self.style.ERROR("STALLED") if current.queue_frozen else "within bounds"
            write(f"A delivery task has waited {waited:.0f} s for a worker ({verdict}).")
        if current.runner_problem:
            write(self.style.ERROR(f"Runner {current.runner}: {current.runner_problem}"))
        last = current.last_attempt_at
        write(f"Last recorded attempt: {last.isoformat(timespec='seconds') if last else 'none'}.")
        for row in current.backlog:
            paused = f", paused until {row.paused_until:%H:%M:%S}" if row.paused_until else ""
            frozen = ", FROZEN: no worker holds it" if row.frozen else ""
            write(
                f"  {row.name}: {row.due} due, {row.in_flight} in flight, "
                f"{row.waiting_for_retry} waiting for a retry, {row.held} held "
                f"({row.status}, {row.consecutive_failures} failures{paused}{frozen})"
            )
        write(f"Failing endpoints: {len(current.failing)}; disabled: {len(current.disabled)}.")
        if current.stalled:
            write(STALLED_HELP.format(runner=current.runner, start=current.runner_start))


STALLED_HELP = (
    "Deliveries are due that no worker holds, or the queue takes no delivery task: check "
    "that {runner} workers run for this project (`{start}`); if they run, restart them "
    "(docs: Operating and deployment, 'When workers stall')."
)

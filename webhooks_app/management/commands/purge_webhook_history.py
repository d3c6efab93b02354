from __future__ import annotations

import argparse
from datetime import date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from webhooks_app.engine.retention import (
    BATCH_SIZE,
    Purged,
    count_purgeable,
    purge,
    retention_cutoff,
)


def moment(value: str) -> datetime:
    """An ISO date (midnight, in the current time zone) or date-time."""
    parsed: date | datetime | None = parse_datetime(value) or parse_date(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date or date-time.")
    if not isinstance(parsed, datetime):
        parsed = datetime.combine(parsed, time.min)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = (
        "Delete finished webhook deliveries, their attempt logs, and events no delivery is "
        "owed for any more, that are older than WEBHOOKS['RETENTION'] days (or --before). "
        "Pending and held deliveries are never deleted."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--before",
            type=moment,
            help="Purge what finished before this ISO date or date-time "
            "(default: WEBHOOKS['RETENTION'] days ago).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Events per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, before: datetime | None, dry_run: bool, **options: Any) -> None:
        before = before or retention_cutoff()
        if before is None:
            raise CommandError("WEBHOOKS['RETENTION'] is None (keep everything): pass --before.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be positive.")
        when = before.isoformat(timespec="seconds")
        if dry_run:
            self.stdout.write(
                f"Would delete, for what finished before {when}: "
                + self._describe(count_purgeable(before))
            )
            return
        self.stdout.write(f"Purging what finished before {when}…")
        total = purge(before, batch_size=options["batch_size"], progress=self._progress)
        if self.stdout.isatty():
            self.stdout.write("")  # end the progress line
        self.stdout.write(self.style.SUCCESS("Deleted " + self._describe(total)))

    def _progress(self, total: Purged) -> None:
        # On a terminal, one line rewritten in place; in a log, nothing until the end.
        if self.stdout.isatty():
            self.stdout.write("\r  " + self._describe(total), ending="")
            self.stdout.flush()

    @staticmethod
    def _describe(purged: Purged) -> str:
        return (
            f"{purged.deliveries:,} deliveries, {purged.attempts:,} attempt logs "
            f"and {purged.events:,} events."
        )

"""A webhook's last 24 hours: attempts, success rate and latency per hour, and the small
server-rendered SVG charts of them on its page (no script, no chart library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from webhooks_app.models import DeliveryLog, Webhook

HOURS = 24
# The charts' drawing box (the SVG scales to its container).
WIDTH, HEIGHT, GAP = 240, 60, 2


@dataclass(frozen=True)
class Hour:
    start: datetime
    attempts: int
    successes: int
    latency_ms: float | None  # the mean duration of its attempts

    @property
    def failures(self) -> int:
        return self.attempts - self.successes


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    ok_y: float
    ok_height: float
    failed_height: float  # drawn from the top of the box
    title: str


@dataclass(frozen=True)
class Activity:
    hours: list[Hour]

    @property
    def attempts(self) -> int:
        return sum(hour.attempts for hour in self.hours)

    @property
    def successes(self) -> int:
        return sum(hour.successes for hour in self.hours)

    @property
    def success_rate(self) -> float | None:
        """Percent of the day's attempts that succeeded (None: no attempt)."""
        return 100 * self.successes / self.attempts if self.attempts else None

    @property
    def latency_ms(self) -> float | None:
        timed = [(hour.latency_ms or 0) * hour.attempts for hour in self.hours]
        return sum(timed) / self.attempts if self.attempts else None

    @property
    def slowest_ms(self) -> float:
        return max((hour.latency_ms or 0 for hour in self.hours), default=0)

    def rate_bars(self) -> list[Bar]:
        """One bar per hour with attempts: its successes' share in green from the
        bottom, its failures' in red from the top."""
        step = WIDTH / HOURS
        bars = []
        for index, hour in enumerate(self.hours):
            if not hour.attempts:
                continue
            ok = HEIGHT * hour.successes / hour.attempts
            bars.append(
                Bar(
                    x=round(index * step + GAP / 2, 2),
                    width=round(step - GAP, 2),
                    ok_y=round(HEIGHT - ok, 2),
                    ok_height=round(ok, 2),
                    failed_height=round(HEIGHT - ok, 2),
                    title=f"{hour.successes}/{hour.attempts}",
                )
            )
        return bars

    def latency_dots(self) -> list[tuple[float, float]]:
        """Each hour's mean latency as a point, scaled to the slowest hour (a dot each,
        so that one lone hour shows too)."""
        top = self.slowest_ms or 1
        step = WIDTH / HOURS
        return [
            (
                round(index * step + step / 2, 1),
                round(HEIGHT - (HEIGHT - 4) * hour.latency_ms / top, 1),
            )
            for index, hour in enumerate(self.hours)
            if hour.latency_ms is not None
        ]

    def latency_points(self) -> str:
        """The polyline through the dots."""
        return " ".join(f"{x},{y}" for x, y in self.latency_dots())


def last_day(webhook: Webhook, now: datetime | None = None) -> Activity:
    """The webhook's attempts over the last 24 hours, per hour of the current timezone,
    counted by the database (the log may hold many)."""
    now = timezone.localtime(now or timezone.now())
    current = now.replace(minute=0, second=0, microsecond=0)
    starts = [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    rows = (
        DeliveryLog.objects.filter(webhook=webhook, created_at__gte=starts[0])
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(
            attempts=Count("pk"),
            successes=Count("pk", filter=Q(outcome=DeliveryLog.Outcome.SUCCESS)),
            latency=Avg("duration_ms"),
        )
        .order_by()
    )
    found = {row["hour"]: row for row in rows}
    return Activity(
        [
            Hour(
                start,
                found[start]["attempts"] if start in found else 0,
                found[start]["successes"] if start in found else 0,
                found[start]["latency"] if start in found else None,
            )
            for start in starts
        ]
    )

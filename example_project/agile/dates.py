"""Date objects and durations as the resources show them.

GitScrum documents two forms of date object: ``{date_for_humans, timezone}`` (payload
format page) and ``{date_for_humans, iso8601, timestamp}`` (SprintResource). Every date
object here is the superset of both, so a receiver written against either page works.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

# Largest unit first; months and years are the usual 30 and 365 day approximations.
_UNITS = (
    ("year", 365 * 86400),
    ("month", 30 * 86400),
    ("week", 7 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
)


def for_humans(value: dt.datetime, now: dt.datetime | None = None) -> str:
    """A relative time: "Just now", "5 minutes ago", "1 year ago", "in 2 days"."""
    seconds = ((now or timezone.now()) - value).total_seconds()
    past = seconds >= 0
    seconds = abs(seconds)
    for unit, size in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"{text} ago" if past else f"in {text}"
    return "Just now"


def date_object(value: dt.date | dt.datetime, now: dt.datetime | None = None) -> dict[str, Any]:
    """``{date_for_humans, iso8601, timestamp, timezone}`` for a datetime or a date.

    A moment reads relative ("2 hours ago"); a calendar date, such as a sprint's start,
    reads as the date itself ("Feb 10, 2026"), as in the SprintResource's timebox.
    """
    zone = timezone.get_current_timezone()
    if isinstance(value, dt.datetime):
        moment = timezone.localtime(value, zone)
        humans = for_humans(value, now)
    else:
        moment = dt.datetime.combine(value, dt.time.min, tzinfo=zone)
        humans = f"{value:%b} {value.day}, {value.year}"
    return {
        "date_for_humans": humans,
        "iso8601": moment.isoformat(timespec="seconds"),
        "timestamp": int(moment.timestamp()),
        "timezone": str(zone),
    }


def utc_iso(value: dt.datetime) -> str:
    """``2025-01-10T09:00:00Z``: the time-tracking resource's timestamps."""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_datetime(value: dt.datetime) -> str:
    """``2025-01-10 09:00:00`` (UTC): the form of GitScrum's timer events' ``time``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def hms(duration: dt.timedelta | None) -> str:
    """``02:30:00``; hours keep counting past a day (``26:00:00``)."""
    total = int(duration.total_seconds()) if duration else 0
    hours, rest = divmod(max(total, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"

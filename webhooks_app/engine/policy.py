"""What an attempt's answer means: for the delivery (done, retry when, give up) and for
its endpoint (count a failure, pause it, disable it). Pure: no database, no HTTP.

The default schedule is 1 min, 5 min, 30 min, 2 h, 12 h (+/- 20 %
jitter); a receiver's ``Retry-After`` is honoured up to a cap; a redirect is a failure
(following it could bounce signed payloads elsewhere); ``410 Gone`` disables the
endpoint; the ``FAILURE_THRESHOLD``-th consecutive failure disables it until someone
enables it again. A test ping neither counts towards nor resets the failure count.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from webhooks_app.conf import webhook_settings

# Answers that say the endpoint cannot take more now (down, overloaded, asked to slow
# down): its other deliveries wait for its next retry instead of piling up failures.
OVERLOADED = frozenset({408, 429})


def stops_endpoint(status: int | None, transport_failure: bool) -> bool:
    """Whether an answer says the endpoint should get nothing more now: it is gone, down
    or overloaded (refused, timed out, 5xx, 408, 429)."""
    return (
        transport_failure
        or status == 410
        or status in OVERLOADED
        or (status is not None and status >= 500)
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class Verdict:
    """What to do with a delivery after one attempt."""

    succeeded: bool
    retry_at: datetime | None = None  # None with succeeded=False: given up
    # The endpoint should get nothing more until then (None: no pause).
    pause_until: datetime | None = None
    gone: bool = False  # 410: disable the endpoint
    counts: bool = True  # whether it moves the consecutive-failure count

    @property
    def gave_up(self) -> bool:
        return not self.succeeded and self.retry_at is None


# Most attempts succeed: their verdicts are shared (frozen, so nothing can change them).
SUCCEEDED = Verdict(succeeded=True)
SUCCEEDED_TEST = Verdict(succeeded=True, counts=False)


@dataclass(frozen=True)
class RetryPolicy:
    schedule: Sequence[float] = (60, 300, 1800, 7200, 43200)
    jitter: float = 0.2
    max_retry_after: float = 43200
    failure_threshold: int = 5

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        s = webhook_settings
        return cls(
            schedule=tuple(float(x) for x in s.RETRY_SCHEDULE),
            jitter=float(s.RETRY_JITTER),
            max_retry_after=float(s.MAX_RETRY_AFTER),
            failure_threshold=int(s.FAILURE_THRESHOLD),
        )

    def delay(self, round_attempt: int, retry_after: str | None = None) -> float | None:
        """Seconds before retrying after the ``round_attempt``-th failed attempt of a
        retry round, or None when the schedule is exhausted."""
        if round_attempt > len(self.schedule):
            return None
        delay = self.schedule[round_attempt - 1] * (1 + random.uniform(-self.jitter, self.jitter))
        asked = parse_retry_after(retry_after)
        if asked is not None:
            delay = max(delay, min(asked, self.max_retry_after))
        return delay

    def judge(
        self,
        *,
        status: int | None,
        transport_failure: bool,
        retry_after: str | None,
        round_attempt: int,
        test: bool,
        now: datetime,
    ) -> Verdict:
        """The verdict on an attempt that was the ``round_attempt``-th of its round."""
        if status is not None and 200 <= status < 300:
            return SUCCEEDED_TEST if test else SUCCEEDED
        if status == 410:
            return Verdict(succeeded=False, gone=True, counts=not test)
        delay = None if test else self.delay(round_attempt, retry_after)
        retry_at = None if delay is None else now + timedelta(seconds=delay)
        # Until this delivery's retry: the endpoint's other deliveries wait for it too.
        pause_until = retry_at if stops_endpoint(status, transport_failure) else None
        return Verdict(succeeded=False, retry_at=retry_at, pause_until=pause_until, counts=not test)


@dataclass
class EndpointTally:
    """What one group of attempts did to one endpoint, folded in the order they ended.

    ``trailing`` failures since the last success in the group; with a success in the
    group the count restarts from there, otherwise it adds to the stored count (in SQL,
    never read-modify-write: several workers may record for one endpoint at once). The
    endpoint is paused until its latest failure's retry, if that failure said it is down
    or overloaded.
    """

    had_success: bool = False
    trailing: int = 0
    counted: bool = False
    gone: bool = False
    pause_until: datetime | None = None
    retry_at: datetime | None = None  # the latest failure's retry, if it has one
    given_up: int = 0  # deliveries whose last retry failed (test pings aside)
    last_error: str = ""

    def add(self, verdict: Verdict, error: str) -> None:
        if verdict.gone:
            self.gone = True
        if not verdict.counts:
            return
        self.counted = True
        if verdict.succeeded:
            self.had_success, self.trailing, self.pause_until = True, 0, None
            return
        self.trailing += 1
        self.last_error = error
        self.retry_at = verdict.retry_at
        if verdict.retry_at is None and not verdict.gone:
            self.given_up += 1
        self.pause_until = verdict.pause_until  # the latest failure's retry

    def describe(self, threshold: int) -> str:
        return f"{threshold} consecutive failed deliveries; last: {self.last_error}"

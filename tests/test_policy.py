"""The retry and auto-disable policy, on its own: no database, no HTTP."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest

from webhooks_app.engine.policy import EndpointTally, RetryPolicy, Verdict, parse_retry_after

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(schedule=(60, 300), jitter=0.2, max_retry_after=3600, failure_threshold=5)


def judge(status, *, transport_failure=False, retry_after=None, round_attempt=1, test=False):
    return POLICY.judge(
        status=status,
        transport_failure=transport_failure,
        retry_after=retry_after,
        round_attempt=round_attempt,
        test=test,
        now=NOW,
    )


def seconds_until(moment: datetime | None) -> float:
    assert moment is not None
    return (moment - NOW).total_seconds()


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_succeeds(status):
    assert judge(status) == Verdict(succeeded=True)


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_a_down_or_overloaded_endpoint_is_retried_and_paused_until_then(status):
    verdict = judge(status)

    assert not verdict.succeeded and not verdict.gave_up
    assert 48 <= seconds_until(verdict.retry_at) <= 72  # 60 s +/- 20 %
    assert verdict.pause_until == verdict.retry_at


def test_a_refused_connection_or_timeout_pauses_the_endpoint_too():
    verdict = judge(None, transport_failure=True)

    assert verdict.pause_until == verdict.retry_at is not None


@pytest.mark.parametrize("status", [301, 302, 400, 404, 422])
def test_an_answer_that_is_not_about_load_is_retried_without_pausing(status):
    verdict = judge(status)

    assert verdict.retry_at is not None and verdict.pause_until is None


def test_the_schedule_grows_and_then_the_delivery_is_given_up():
    assert 240 <= seconds_until(judge(500, round_attempt=2).retry_at) <= 360
    assert judge(500, round_attempt=3).gave_up


def test_gone_disables_the_endpoint_and_is_not_retried():
    verdict = judge(410)

    assert verdict.gone and verdict.gave_up and verdict.counts


def test_retry_after_is_honoured_up_to_the_cap_and_never_shortens_the_schedule():
    assert seconds_until(judge(429, retry_after="900").retry_at) == 900
    assert seconds_until(judge(429, retry_after="999999").retry_at) == 3600
    assert 48 <= seconds_until(judge(429, retry_after="1").retry_at) <= 72


def test_retry_after_may_be_an_http_date():
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=600), usegmt=True)

    assert 590 <= parse_retry_after(later) <= 600
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_a_test_ping_is_never_retried_and_never_counts():
    failed, passed = judge(500, test=True), judge(200, test=True)

    assert failed.gave_up and not failed.counts
    assert passed.succeeded and not passed.counts


def test_the_tally_counts_failures_since_the_last_success_in_order():
    tally = EndpointTally()
    for verdict, error in [
        (judge(500), "HTTP 500"),
        (judge(200), ""),
        (judge(503), "HTTP 503"),
        (judge(502), "HTTP 502"),
    ]:
        tally.add(verdict, error)

    assert (tally.had_success, tally.trailing, tally.last_error) == (True, 2, "HTTP 502")
    assert tally.pause_until is not None
    assert tally.describe(5) == "5 consecutive failed deliveries; last: HTTP 502"


def test_the_tally_ignores_test_pings_and_remembers_a_gone_answer():
    tally = EndpointTally()
    tally.add(judge(500, test=True), "HTTP 500")
    assert not tally.counted

    tally.add(judge(410), "HTTP 410")
    assert tally.gone and tally.trailing == 1


def test_the_policy_is_read_from_the_settings(webhooks_settings):
    webhooks_settings(RETRY_SCHEDULE=[1, 2, 3], RETRY_JITTER=0, FAILURE_THRESHOLD=2)

    policy = RetryPolicy.from_settings()

    assert (policy.schedule, policy.jitter, policy.failure_threshold) == ((1, 2, 3), 0, 2)

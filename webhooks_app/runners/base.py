"""What webhooks_app asks of a task runner, whichever it is.

The database holds the deliveries and the marker that says whether a task covers new
commits (:mod:`webhooks_app.engine.queue`); a runner only carries the order "drain what is due",
runs the sweep and the purge on a schedule, starts a watchdog in every worker process
(:mod:`webhooks_app.engine.watchdog`), and says whether it can take tasks now. Nothing else in
the app speaks to a runner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django.core import checks


class Runner(ABC):
    """One task runner. Subclasses import their package lazily or at module level: the
    module is imported only when ``WEBHOOKS["RUNNER"]`` names it, and a failed import is
    reported as a system check (webhooks_app.E017), not a traceback."""

    name: ClassVar[str]
    # The pip extra that brings the runner's packages (pip install django-webhooks-app[x]).
    extra: ClassVar[str | None] = None
    # The command that starts a worker, for messages and checks.
    start_command: ClassVar[str]

    @abstractmethod
    def install(self) -> None:
        """At app start (AppConfig.ready): start a watchdog in every worker process this
        runner starts, and register what runs the sweep and the purge."""

    @abstractmethod
    def ensure_schedules(self, using: str) -> None:
        """After migrate: create or update what makes the sweep and the purge run."""

    @abstractmethod
    def enqueue_drain(self) -> None:
        """Put one "deliver what is due" task on the queue. May raise: the caller
        (:mod:`webhooks_app.engine.queue`) logs it, and the watchdogs and the sweep send."""

    def is_sync(self) -> bool:
        """Whether a task runs in the enqueuing process, at once (no worker)."""
        return False

    def configuration_problems(self) -> list[checks.CheckMessage]:
        """System checks for this runner's settings (its package imports)."""
        return []

    def health_problem(self) -> str | None:
        """Why this runner cannot take a task now (its broker is unreachable); None when
        it can. Asked by the health report."""
        return None

    def queued(self) -> int | None:
        """How many delivery tasks wait in the queue (None: the runner cannot tell)."""
        return None

    @abstractmethod
    def drop_queued(self) -> None:
        """Drop the delivery tasks waiting in the queue, as a broker that loses them
        would (tests, and an operator emptying a queue of stale tasks)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start_command}

"""A watchdog in every worker process, so that delivery never waits on the queue alone.

django-q2 hands tasks to its workers through one pipe they share, and a worker killed
while it waits there keeps the pipe's lock for ever: that cluster runs no task again
(the docs' "When workers stall"). A worker killed while it sends leaves claims behind
that no commit will enqueue a task for. So every worker process also runs this thread:
every ``WATCH_EVERY`` seconds it looks for deliveries due for ``UNWORKED_AFTER`` seconds
that no live worker holds (their endpoint is not leased, or its lease has run out), and
drains them itself. It asks the queue for a task as well: one that never starts is how
the health report tells a queue that takes no tasks.

The first look is at once, so a new cluster sends what is due before any schedule
comes round, and asks for a task if one was still waiting when the last cluster died.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime

from django.db import connection
from django.utils import timezone

from webhooks_app.engine import claims, delivery, queue

logger = logging.getLogger(__name__)

WATCH_EVERY = 2.0  # seconds between looks (spread by +/- a quarter across workers)
UNWORKED_AFTER = 2.0  # seconds a delivery may wait unclaimed before a watchdog takes it

_thread: threading.Thread | None = None


def start() -> None:
    """Start this process's watchdog (a daemon thread: it never holds a worker's exit)."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    _thread = threading.Thread(target=watch, name="webhooks-watchdog", daemon=True)
    _thread.start()


def watch() -> None:
    if queue.task_waiting():
        queue.ask_for_help()  # left by a dead cluster: show this one takes tasks
    while True:
        try:
            look()
        except Exception:
            # A database that is down now may be back at the next look.
            logger.exception("Webhook watchdog could not look for unworked deliveries")
            connection.close()
        time.sleep(WATCH_EVERY * random.uniform(0.75, 1.25))


def look(now: datetime | None = None) -> int:
    """Drain here whatever has waited too long with nobody working on it; returns how
    many attempts were made."""
    now = now or timezone.now()
    oldest = claims.oldest_unworked(now)
    if oldest is None or (now - oldest).total_seconds() < UNWORKED_AFTER:
        return 0
    logger.info("Webhook watchdog: deliveries due since %s with no worker on them", oldest)
    queue.ask_for_help()
    return delivery.drain()

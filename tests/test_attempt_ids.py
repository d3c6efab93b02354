"""Attempt ids: random version 4 UUIDs, unique across forked workers too."""

from __future__ import annotations

import multiprocessing
import random
import uuid

from webhooks_app.engine.delivery import attempt_id


def _child_ids(out) -> None:
    out.put([attempt_id() for _ in range(3)])


def test_attempt_ids_are_version_4_uuids():
    ids = {attempt_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)


def test_a_forked_worker_makes_ids_of_its_own():
    # qcluster workers fork: a generator state copied into them would repeat its ids.
    attempt_id()  # the parent's generator is in use before the fork
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_child_ids, args=(out,))
    child.start()
    theirs = out.get(timeout=30)
    child.join(timeout=30)
    ours = [attempt_id() for _ in range(3)]
    assert not set(theirs) & set(ours)


def test_seeding_the_random_module_does_not_repeat_ids():
    random.seed(1)
    first = attempt_id()
    random.seed(1)
    assert attempt_id() != first

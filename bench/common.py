"""What the benchmarks share: a throwaway database for the example project, and timing
that interleaves the variants it compares (these machines are shared and noisy, so a
figure is only ever reported against a baseline measured in the same run)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(pg_dsn("postgres"), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


def pg_dsn(dbname: str) -> str:
    host = os.environ.get("WEBHOOKS_PG_HOST", "127.0.0.1")
    port = os.environ.get("WEBHOOKS_PG_PORT", "5432")
    user = os.environ.get("WEBHOOKS_PG_USER", "postgres")
    return f"host={host} port={port} user={user} dbname={dbname}"


@contextlib.contextmanager
def throwaway_database(label: str) -> Iterator[dict]:
    """Point the example project (this process and its children) at a new database:
    a temporary SQLite file, or with ``WEBHOOKS_DB=postgres`` a PostgreSQL database
    dropped at the end. With ``WEBHOOKS_BROKER=redis`` the queue is a run-specific list."""
    tag = f"{label}_{os.getpid()}"
    env = os.environ
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    env.setdefault("DJANGO_DEBUG", "0")  # as in production: no query log in any process
    env["WEBHOOKS_Q_NAME"] = f"webhooks-{tag}"
    tmp = Path(tempfile.mkdtemp(prefix=f"webhooks-{label}-"))
    info = {"broker": "redis" if env.get("WEBHOOKS_BROKER") == "redis" else "orm", "tmp": tmp}
    if env.get("WEBHOOKS_DB") == "postgres":
        name = f"webhooks_{tag}"
        env["WEBHOOKS_PG_NAME"] = name
        pg_admin(f'CREATE DATABASE "{name}"')
        info.update(db="postgres", pg_name=name)
    else:
        env["WEBHOOKS_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
        info.update(db="sqlite")
    try:
        yield info
    finally:
        if "django" in sys.modules:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
        if info["db"] == "postgres":
            try:
                pg_admin(f'DROP DATABASE IF EXISTS "{info["pg_name"]}" WITH (FORCE)')
            except Exception as exc:
                print(f"cleanup: could not drop database {info['pg_name']}: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def interleaved(
    variants: dict[str, Callable[[], object]],
    *,
    per_block: int,
    rounds: int,
    warmup: int = 50,
    between: Callable[[], object] | None = None,
) -> dict[str, float]:
    """Median microseconds per call of each variant, timed in blocks whose order is
    shuffled every round, so drift on the machine hits every variant alike.
    ``between`` runs after every block, untimed."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        order = list(variants.items())
        random.shuffle(order)
        for name, fn in order:
            start = time.perf_counter()
            for _ in range(per_block):
                fn()
            samples[name].append((time.perf_counter() - start) / per_block * 1e6)
            if between is not None:
                between()
    return {name: statistics.median(values) for name, values in samples.items()}

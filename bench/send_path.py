#!/usr/bin/env python
"""One thread's cost of an attempt (``delivery.send``: headers, signatures, transport)
against a bare urllib3 loop POSTing the same body to the same receiver.

    .venv/bin/python bench/send_path.py [--requests 2000] [--rounds 5]

No database work is timed: a delivery is claimed once and sent again and again. The
figure is CPU per request in this process, as a ratio to the urllib3 loop's in the same
round (blocks alternate), and the range over the rounds.
"""

from __future__ import annotations

import argparse
import sys
import time

from common import setup_django, throwaway_database
from throughput import create_task, make_target, start_receiver


def cpu_per_request(post, n: int) -> float:
    for _ in range(20):
        post()
    start = time.process_time()
    for _ in range(n):
        post()
    return (time.process_time() - start) / n * 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with throwaway_database("send_path"):
        receiver, url = start_receiver()
        try:
            setup_django()
            import urllib3
            from django.db import transaction
            from django.utils import timezone

            from webhooks_app.engine import claims, delivery

            project, column, _webhook = make_target("send", url)
            create_task(project, column, 0)
            with transaction.atomic():
                (claimed,) = claims.claim(1, timezone.now())
            pool = urllib3.PoolManager()
            body = claimed.body
            headers = {"Content-Type": "application/json"}

            def bare() -> None:
                assert pool.request("POST", url, body=body, headers=headers).status == 200

            def send() -> None:
                assert delivery.send(claimed).response.status == 200

            ratios = []
            for _ in range(args.rounds):
                base = cpu_per_request(bare, args.requests)
                ours = cpu_per_request(send, args.requests)
                ratios.append(ours / base)
                print(f"urllib3 {base:.3f} ms, send() {ours:.3f} ms: {ours / base:.2f}x")
            print(f"send() against urllib3, CPU per request: {min(ratios):.2f}-{max(ratios):.2f}x")
        finally:
            receiver.terminate()
            receiver.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

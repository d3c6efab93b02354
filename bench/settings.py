"""Settings of the benchmarks' own processes (qcluster, receivers): the example project,
with WEBHOOKS values a benchmark passes in its environment as JSON (BENCH_WEBHOOKS)."""

import json
import os

from example_project.settings import *  # noqa: F403
from example_project.settings import WEBHOOKS

WEBHOOKS = {**WEBHOOKS, **json.loads(os.environ.get("BENCH_WEBHOOKS", "{}"))}

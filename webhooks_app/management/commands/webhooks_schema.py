from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from webhooks_app.engine.compatibility import breaking_changes
from webhooks_app.schemas import openapi_document, undeclared_events


class Command(BaseCommand):
    help = (
        "Print the OpenAPI 3.1 document of every webhook event (JSON Schema of each "
        "event's body, signature headers, an example). With --check FILE, compare it with "
        "a committed snapshot and fail on any change that breaks receivers."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--check",
            metavar="FILE",
            help="A snapshot printed earlier by this command: exit 1 naming each event and "
            "JSON path whose change breaks receivers (a removed key, a changed type).",
        )

    def handle(self, *args: Any, check: str | None, **options: Any) -> None:
        document = openapi_document()
        for name in undeclared_events():
            self.stderr.write(f"{name}: no schema declared for its data")
        if check is None:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        snapshot = _load(Path(check))
        problems = breaking_changes(snapshot, document)
        if problems:
            raise CommandError(
                f"Changes that break receivers, against {check}:\n  " + "\n  ".join(problems)
            )
        if snapshot.get("webhooks") != document["webhooks"]:
            self.stdout.write(
                f"{check}: the events changed without breaking receivers; print the "
                "document again to publish the additions."
            )
        else:
            self.stdout.write(f"{check}: {len(document['webhooks'])} events, unchanged.")


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path}: not a readable JSON snapshot ({exc}).") from None

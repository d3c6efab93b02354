"""PAYLOADS.md's example of each resource (marked ``<!-- resource: name -->``): what the
published event schemas show as examples, and what the tests compare payloads with."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).resolve().parents[1] / "PAYLOADS.md"

# event family -> resource
RESOURCES = {
    "issues": "board_task",
    "sprints": "sprint",
    "user-stories": "user_story",
    "time-tracking": "time_tracking",
    "comments": "comment",
    "attachments": "attachment",
    "videos": "video",
    "discussions": "discussion_vote",
}


@functools.cache
def _marked() -> dict[str, str]:
    if not PAYLOADS.exists():  # an installed copy of the app may ship no PAYLOADS.md
        return {}
    marked = re.compile(r"<!-- resource: (\w+) -->\n```json\n(.*?)\n```", re.S)
    return dict(marked.findall(PAYLOADS.read_text()))


def documented(name: str) -> dict[str, Any]:
    """PAYLOADS.md's example of a resource."""
    return json.loads(_marked()[name])


def example_of(event_type: str) -> dict[str, Any] | None:
    """PAYLOADS.md's example of ``event_type``'s ``data`` (None without PAYLOADS.md)."""
    name = RESOURCES[event_type.split(".", 1)[0]]
    if name not in _marked():
        return None
    example = documented(name)
    if event_type == "user-stories.vote":
        example = {**example, **documented("user_story_vote")}
    return example

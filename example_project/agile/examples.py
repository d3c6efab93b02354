"""The README's example of each resource (marked ``<!-- resource: name -->``): what the
published event schemas show as examples, and what the tests compare payloads with."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"

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
    if not README.exists():  # an installed copy of the app ships no README
        return {}
    marked = re.compile(r"<!-- resource: (\w+) -->\n```json\n(.*?)\n```", re.S)
    return dict(marked.findall(README.read_text()))


def documented(name: str) -> dict[str, Any]:
    """The README's example of a resource."""
    return json.loads(_marked()[name])


def example_of(event_type: str) -> dict[str, Any] | None:
    """The README's example of ``event_type``'s ``data`` (None without the README)."""
    name = RESOURCES[event_type.split(".", 1)[0]]
    if name not in _marked():
        return None
    example = documented(name)
    if event_type == "user-stories.vote":
        example = {**example, **documented("user_story_vote")}
    return example

"""The event catalog: every event a webhook can subscribe to.

The default catalog is GitScrum's 26 events in six categories, plus ``ping`` (sent by
"test" buttons; never subscribed to). A host adds its own with
``WEBHOOKS["EXTRA_EVENTS"]`` or :meth:`EventCatalog.register`.

Subscriptions name an exact event (``issues.store``), every event under a dotted prefix
(``issues.*``, ``time-tracking.*``), or everything (``*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from webhooks_app.conf import webhook_settings
from webhooks_app.exceptions import UnknownEventError, WebhookConfigurationError

WILDCARD = "*"
PING = "ping"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    category: str

    @property
    def prefix(self) -> str:
        """The subscription pattern of this event's family, e.g. ``issues.*``."""
        return self.name.split(".", 1)[0] + ".*"


TASKS = "Task events"
TIME_TRACKING = "Time tracking events"
COMMENTS_MEDIA = "Comments & media events"
USER_STORIES = "User story events"
SPRINTS = "Sprint events"
OTHER = "Other events"

DEFAULT_EVENTS: tuple[EventType, ...] = (
    EventType("issues.store", "Task created", TASKS),
    EventType("issues.update", "Task updated", TASKS),
    EventType("issues.move.board", "Task moved between board columns", TASKS),
    EventType("issues.assignees.store", "Assignee added to task", TASKS),
    EventType("issues.assignees.destroy", "Assignee removed from task", TASKS),
    EventType("issues.destroy", "Task deleted", TASKS),
    EventType("issues.move.project", "Task moved to another project", TASKS),
    EventType("time-tracking.issues.start", "Timer started", TIME_TRACKING),
    EventType("time-tracking.issues.stop", "Timer stopped", TIME_TRACKING),
    EventType("time-tracking.issues.cancel", "Timer cancelled", TIME_TRACKING),
    EventType("time-tracking.issues.destroy", "Time entry deleted", TIME_TRACKING),
    EventType("time-tracking.issues.store", "Manual time entry created", TIME_TRACKING),
    EventType("comments.issues.store", "Comment created", COMMENTS_MEDIA),
    EventType("comments.issues.destroy", "Comment deleted", COMMENTS_MEDIA),
    EventType("attachments.issues.store", "Attachment added", COMMENTS_MEDIA),
    EventType("attachments.issues.destroy", "Attachment removed", COMMENTS_MEDIA),
    EventType("videos.issues.store", "Video added", COMMENTS_MEDIA),
    EventType("videos.issues.destroy", "Video removed", COMMENTS_MEDIA),
    EventType("user-stories.store", "User story created", USER_STORIES),
    EventType("user-stories.update", "User story updated", USER_STORIES),
    EventType("user-stories.vote", "User story voted", USER_STORIES),
    EventType("user-stories.destroy", "User story deleted", USER_STORIES),
    EventType("sprints.store", "Sprint created", SPRINTS),
    EventType("sprints.update", "Sprint updated", SPRINTS),
    EventType("sprints.destroy", "Sprint deleted", SPRINTS),
    EventType("discussions.vote", "Discussion voted", OTHER),
)

PING_EVENT = EventType(PING, "Test delivery sent by a 'test' action", "System")


class EventCatalog:
    """The built-in events plus the host's, looked up by name."""

    def __init__(self, events: tuple[EventType, ...] = DEFAULT_EVENTS):
        self._builtin = {e.name: e for e in events}
        self._registered: dict[str, EventType] = {}

    def _all(self) -> dict[str, EventType]:
        events = dict(self._builtin)
        events.update(self._registered)
        for extra in webhook_settings.EXTRA_EVENTS:
            event = _coerce(extra)
            events[event.name] = event
        return events

    def register(self, name: str, description: str, category: str = OTHER) -> EventType:
        event = _coerce((name, description, category))
        self._registered[name] = event
        return event

    def __iter__(self) -> Iterator[EventType]:
        return iter(self._all().values())

    def __contains__(self, name: object) -> bool:
        return name == PING or name in self._all()

    def __len__(self) -> int:
        return len(self._all())

    def get(self, name: str) -> EventType:
        if name == PING:
            return PING_EVENT
        try:
            return self._all()[name]
        except KeyError:
            raise UnknownEventError(name) from None

    def by_category(self) -> dict[str, list[EventType]]:
        grouped: dict[str, list[EventType]] = {}
        for event in self:
            grouped.setdefault(event.category, []).append(event)
        return grouped

    def is_valid_pattern(self, pattern: str) -> bool:
        """A subscription pattern that matches at least one catalogued event."""
        if pattern == WILDCARD:
            return True
        if pattern.endswith(".*"):
            stem = pattern[:-1]
            return any(name.startswith(stem) for name in self._all())
        return pattern in self._all()

    def events_matching(self, pattern: str) -> list[EventType]:
        return [e for e in self if pattern in patterns_for(e.name)]


def patterns_for(event_type: str) -> list[str]:
    """Every subscription pattern that selects ``event_type``.

    ``issues.move.board`` is selected by itself, ``issues.move.*``, ``issues.*`` and ``*``.
    ``ping`` is selected by nothing: it is only ever sent to one chosen webhook.
    """
    if event_type == PING:
        return []
    parts = event_type.split(".")
    return [
        event_type,
        *(".".join(parts[:i]) + ".*" for i in range(len(parts) - 1, 0, -1)),
        WILDCARD,
    ]


def _coerce(value: object) -> EventType:
    if isinstance(value, EventType):
        return value
    if isinstance(value, (tuple, list)) and len(value) in (2, 3):
        name, description, *rest = value
        if isinstance(name, str) and name and "*" not in name and name != PING:
            return EventType(name, str(description), rest[0] if rest else OTHER)
    raise WebhookConfigurationError(
        f"WEBHOOKS['EXTRA_EVENTS'] entries must be (name, description[, category]) with a "
        f"name that has no '*' and is not 'ping'; got {value!r} (webhooks_app.E005)."
    )


catalog = EventCatalog()

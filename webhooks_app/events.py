"""The event catalog: every event a webhook can subscribe to.

The host declares its events with ``WEBHOOKS["EVENTS"]``: ``(name, description[,
category])`` tuples or :class:`EventType` objects, or the dotted path of such a list
(``example_project.agile.gitscrum.EVENTS`` is GitScrum's 26). Code may add more with
:meth:`EventCatalog.register`. ``ping`` is always there: "test" actions send it to one
chosen webhook, and nobody subscribes to it.

An event's ``data`` is described by the model registration that emits it (its
serializer) or by the event itself (``EventType(..., schema=...)``); see
:mod:`webhooks_app.schemas`.

Subscriptions name an exact event (``orders.paid``), every event under a dotted prefix
(``orders.*``), or everything (``*``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from webhooks_app.conf import WebhookConfigurationError, webhook_settings
from webhooks_app.exceptions import UnknownEventError

WILDCARD = "*"
PING = "ping"
OTHER = "Other events"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    category: str = OTHER
    # The JSON Schema of ``data`` and an example of it, for an event whose data no model
    # registration describes (see webhooks_app.schemas).
    schema: Mapping[str, Any] | None = field(default=None, compare=False)
    example: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def prefix(self) -> str:
        """The subscription pattern of this event's family, e.g. ``orders.*``."""
        return self.name.split(".", 1)[0] + ".*"


PING_EVENT = EventType(PING, "Test delivery sent by a 'test' action", "System")


class EventCatalog:
    """The host's events (``WEBHOOKS["EVENTS"]``) and registered ones, by name.

    Read once, and again whenever the setting changes or an event is registered: the
    save path looks events up on every emit.
    """

    def __init__(self) -> None:
        self._registered: dict[str, EventType] = {}
        self._events: dict[str, EventType] | None = None
        self._for_settings: object = None

    def _all(self) -> dict[str, EventType]:
        current = webhook_settings.values()
        if self._events is None or self._for_settings is not current:
            events = {e.name: e for e in configured_events()}
            events.update(self._registered)
            self._events, self._for_settings = events, current
        return self._events

    def register(
        self,
        name: str,
        description: str,
        category: str = OTHER,
        *,
        schema: Mapping[str, Any] | None = None,
        example: Mapping[str, Any] | None = None,
    ) -> EventType:
        """Add an event; ``schema`` is its ``data``'s JSON Schema, ``example`` an example
        of ``data`` (for events no model registration describes)."""
        event = _coerce((name, description, category))
        if schema is not None or example is not None:
            event = EventType(event.name, event.description, event.category, schema, example)
        self._registered[name] = event
        self._events = None
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

    def patterns(self) -> list[str]:
        """Every subscription pattern that selects an event: ``*``, families, events."""
        found = {WILDCARD}
        for name in self._all():
            found.update(patterns_for(name))
        return sorted(found)

    def events_matching(self, pattern: str) -> list[EventType]:
        return [e for e in self if pattern in patterns_for(e.name)]

    def category_patterns(self, category: str) -> list[str]:
        """The patterns that select this category's events and no other: for each of
        its events, the widest family that holds only events of the category (so that an
        event added to that family later is received too), else the event by name."""
        members = {event.name for event in self if event.category == category}
        found: dict[str, None] = {}
        for name in (event.name for event in self if event.category == category):
            families = patterns_for(name)[1:-1][::-1]  # "a.*" before "a.b.*"
            found[next((f for f in families if self._only_of(f, members)), name)] = None
        return list(found)

    def _only_of(self, pattern: str, members: set[str]) -> bool:
        return {event.name for event in self.events_matching(pattern)} <= members


def configured_events() -> list[EventType]:
    """The EVENTS setting, checked (a mistake raises WebhookConfigurationError)."""
    value: Any = webhook_settings.EVENTS
    if isinstance(value, str):
        value = webhook_settings.imported("EVENTS")
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise WebhookConfigurationError(
            f"WEBHOOKS['EVENTS'] must be a list of events or the dotted path of one; got "
            f"{value!r} (webhooks_app.E005)."
        )
    return [_coerce(item) for item in value]


def patterns_for(event_type: str) -> list[str]:
    """Every subscription pattern that selects ``event_type``.

    ``orders.refund.paid`` is selected by itself, ``orders.refund.*``, ``orders.*``, ``*``.
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
        f"WEBHOOKS['EVENTS'] entries must be (name, description[, category]) with a name "
        f"that has no '*' and is not 'ping'; got {value!r} (webhooks_app.E005)."
    )


catalog = EventCatalog()

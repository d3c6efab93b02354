"""Who receives which events: a per-process map, so a save nobody subscribes to never
touches the database.

The map holds, for each subscription pattern, the projects that have a receiving webhook
subscribed to it (``None`` for installation-wide webhooks), and the organisations that
have one. It only decides whether an
event is worth recording: the statement that records it looks the recipients up again,
in the database, so a stale map can cost a wasted statement but never a wrong delivery.

Freshness. Database triggers bump :class:`~webhooks_app.models.RoutingVersion` in the
same transaction as any change to subscriptions or to a webhook's project, organisation
or state. A
process reads that version at most once per ``SUBSCRIPTION_REFRESH`` seconds (never on
every save) and reloads the map when it moved. Changes made through this process's ORM
(``save``, ``delete``, ``update``, ``bulk_create``) mark the map stale at once and again
when their transaction commits. So a change committed anywhere is honoured by every
event emitted ``SUBSCRIPTION_REFRESH`` seconds later (0.5 s by default, at most 1 s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from webhooks_app.conf import webhook_settings
from webhooks_app.models import RoutingVersion, Subscription, Webhook
from webhooks_app.rules import activation_refusal
from webhooks_app.signals import routes_changed

# Past this many (pattern, project) pairs the map keeps patterns only: a very large
# installation then records a statement for a project that has no subscriber, rather
# than hold an unbounded map in every process.
MAX_PAIRS = 200_000
ANY_PROJECT = object()


@dataclass(frozen=True)
class Snapshot:
    version: int | None
    projects_by_pattern: Mapping[str, frozenset[Any]] = field(default_factory=dict)
    organizations_by_pattern: Mapping[str, frozenset[Any]] = field(default_factory=dict)

    def may_receive(
        self,
        patterns: Iterable[str],
        project_ids: Sequence[Any],
        organization_ids: Sequence[Any] = (),
    ) -> bool:
        for pattern in patterns:
            projects = self.projects_by_pattern.get(pattern)
            if projects and (
                None in projects
                or ANY_PROJECT in projects
                or any(pk in projects for pk in project_ids)
            ):
                return True
            organizations = self.organizations_by_pattern.get(pattern)
            if organizations and any(pk in organizations for pk in organization_ids):
                return True
        return False

    def organizations_subscribe(self, patterns: Iterable[str]) -> bool:
        """Whether some organisation's webhook may want one of ``patterns``: only then
        are the event's organisations worth looking up."""
        for pattern in patterns:
            if self.organizations_by_pattern.get(pattern):
                return True
            if ANY_PROJECT in self.projects_by_pattern.get(pattern, ()):
                return True  # a map of patterns only cannot tell
        return False


class RoutingMap:
    """The process's map; thread-safe enough: a reload may happen twice, never wrongly."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._generation = 0  # bumped by every local change
        self._loaded_generation = -1
        self._lock = threading.Lock()

    def may_receive(
        self,
        patterns: Iterable[str],
        project_ids: Sequence[Any],
        organization_ids: Sequence[Any] = (),
    ) -> bool:
        return self.current().may_receive(patterns, project_ids, organization_ids)

    def current(self) -> Snapshot:
        snapshot = self._snapshot
        now = time.monotonic()
        if (
            snapshot is None
            or self._loaded_generation != self._generation
            or now - self._checked_at >= webhook_settings.SUBSCRIPTION_REFRESH
        ):
            snapshot = self._refresh(snapshot, now)
        return snapshot

    def invalidate(self, **kwargs: Any) -> None:
        self._generation += 1

    def saw_version(self, version: int | None) -> None:
        """A statement read the current version on its way (free news of a change)."""
        snapshot = self._snapshot
        if snapshot is not None and version is not None and version != snapshot.version:
            self.invalidate()

    def _refresh(self, snapshot: Snapshot | None, now: float) -> Snapshot:
        generation = self._generation
        version = _read_version()
        if (
            snapshot is None
            or generation != self._loaded_generation
            or version is None  # no version row (yet): nothing tells us, so reload
            or version != snapshot.version
        ):
            snapshot = _load(version)
        with self._lock:
            self._snapshot = snapshot
            self._checked_at = now
            self._loaded_generation = generation
        return snapshot


def _read_version() -> int | None:
    return RoutingVersion.objects.filter(pk=1).values_list("version", flat=True).first()


def _load(version: int | None) -> Snapshot:
    """Read after the version, so a change committed in between only causes a reload."""
    pairs = (
        Subscription.objects.filter(webhook__in=Webhook.objects.receiving())
        .values_list("event_type", "webhook__project_id", "webhook__organization_id")
        .distinct()
        .order_by()
    )
    projects: dict[str, set[Any]] = {}
    organizations: dict[str, set[Any]] = {}
    for count, (pattern, project_id, organization_id) in enumerate(pairs.iterator(chunk_size=5000)):
        if count >= MAX_PAIRS:
            return Snapshot(version, _patterns_only(version))
        if organization_id is not None:
            organizations.setdefault(pattern, set()).add(organization_id)
        else:
            projects.setdefault(pattern, set()).add(project_id)
    return Snapshot(
        version,
        {p: frozenset(ids) for p, ids in projects.items()},
        {p: frozenset(ids) for p, ids in organizations.items()},
    )


def _patterns_only(version: int | None) -> dict[str, frozenset[Any]]:
    patterns = (
        Subscription.objects.filter(webhook__in=Webhook.objects.receiving())
        .values_list("event_type", flat=True)
        .distinct()
        .order_by()
    )
    return {pattern: frozenset([ANY_PROJECT]) for pattern in patterns}


routing = RoutingMap()


class ProjectGate:
    """The activation rule's answer per project, as of at most SUBSCRIPTION_REFRESH ago.

    A project the rule refuses (a Free plan) has no webhooks receiving its events, not
    its organisation's nor installation-wide ones. The answer is cached so a save pays
    no query for it; changing a project's plan is honoured within the same bound as a
    subscription."""

    def __init__(self) -> None:
        self._answers: dict[Any, tuple[bool, float]] = {}
        self._generation = -1

    def allowed(self, projects: Sequence[Any]) -> list[Any]:
        """The pks of ``projects`` (instances or pks) the rule lets use webhooks."""
        if webhook_settings.ACTIVATION_RULE is None:
            return [_pk(p) for p in projects]
        if self._generation != routing._generation:
            self._answers, self._generation = {}, routing._generation
        now = time.monotonic()
        refresh = webhook_settings.SUBSCRIPTION_REFRESH
        allowed = []
        for project in projects:
            pk = _pk(project)
            answer = self._answers.get(pk)
            if answer is None or now - answer[1] >= refresh:
                answer = (_ask_rule(project), now)
                self._answers[pk] = answer
            if answer[0]:
                allowed.append(pk)
        return allowed


def _pk(project: Any) -> Any:
    return project.pk if isinstance(project, Model) else project


def _ask_rule(project: Any) -> bool:
    if not isinstance(project, Model):
        model = apps.get_model(webhook_settings.PROJECT_MODEL)
        project = model._default_manager.filter(pk=project).first()
        if project is None:
            return True  # deleted meanwhile: nothing to refuse
    return activation_refusal(project) is None


project_gate = ProjectGate()


def organization_ids(projects: Sequence[Any], allowed: Sequence[Any]) -> list[Any]:
    """The organisations of the ``allowed`` ones of ``projects`` (instances or pks):
    read off instances without a query, and looked up in one query for pks. Called only
    when the map says an organisation's webhook may want the event, so a host without
    organisation webhooks never pays for it."""
    attname = _organization_attname()
    if attname is None:
        return []
    wanted = set(allowed)
    found: dict[Any, None] = {}
    by_pk = []
    for project in projects:
        pk = _pk(project)
        if pk not in wanted:
            continue
        if isinstance(project, Model):
            found.setdefault(getattr(project, attname), None)
        else:
            by_pk.append(pk)
    if by_pk:
        model = apps.get_model(webhook_settings.PROJECT_MODEL)
        rows = model._default_manager.filter(pk__in=by_pk).values_list(attname, flat=True)
        found.update(dict.fromkeys(rows))
    found.pop(None, None)
    return list(found)


def _organization_attname() -> str | None:
    """The project model's column holding its organisation (None: no organisations)."""
    name = webhook_settings.PROJECT_ORGANIZATION_FIELD
    if not (name and webhook_settings.ORGANIZATION_MODEL):
        return None
    model = apps.get_model(webhook_settings.PROJECT_MODEL)
    return str(model._meta.get_field(name).attname)


def _local_change(**kwargs: Any) -> None:
    # Now, for the rest of this transaction (its own emits must see it), and again at
    # commit: another thread may have reloaded the map in between, without this change.
    routing.invalidate()
    transaction.on_commit(routing.invalidate, robust=True)


def connect_signals() -> None:
    """Called by the app config: this process's own changes reach the map at once."""
    for model in (Webhook, Subscription):
        uid = f"webhooks_app.engine.routing.{model.__name__}"
        post_save.connect(_local_change, sender=model, dispatch_uid=uid)
        post_delete.connect(_local_change, sender=model, dispatch_uid=uid)
    routes_changed.connect(_local_change, dispatch_uid="webhooks_app.engine.routing")

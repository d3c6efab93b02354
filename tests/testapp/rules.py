"""The test host's rules: managers by group, webhooks only on the Pro plan. Both are
asked about a project or an organisation (its own webhooks), and the manage rule about
None for installation-wide webhooks (staff only)."""

from __future__ import annotations

from typing import Any


def managers_group(obj: Any) -> str:
    return f"{obj._meta.model_name}-{obj.pk}-managers"


def can_manage(user: Any, obj: Any) -> bool:
    if obj is None:
        return bool(user.is_staff)
    return user.groups.filter(name=managers_group(obj)).exists()


def plan_allows_webhooks(obj: Any) -> str | None:
    if obj.plan == "free":
        return "Webhooks are a Pro feature: upgrade to activate endpoints."
    return None

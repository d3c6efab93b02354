"""Real-time outgoing webhooks for Django.

The public API is importable from here lazily, so that ``import webhooks_app`` in a
receiver (which may only want :func:`verify`) does not import Django models.
"""

from typing import Any

__all__ = ["emit", "emit_for_instance", "verify"]


def __getattr__(name: str) -> Any:
    if name == "verify":
        from webhooks_app.signing import verify

        return verify
    if name == "emit":
        from webhooks_app.engine.dispatch import emit

        return emit
    if name == "emit_for_instance":
        from webhooks_app.registry import emit_for_instance

        return emit_for_instance
    raise AttributeError(name)

"""What a receiver was sent: one row per message (per scope and ``webhook-id``)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

# Longer ids and scopes are stored as a digest (webhooks_app.inbox.handling.fit): a
# verified message is never refused, nor a database error, for an id's length.
KEY_LENGTH = 200


class Message(models.Model):
    """A received message and what its handler made of it.

    A ``handled`` row is written in the transaction of the handler's own writes, so it
    exists exactly when those writes do; a ``failed`` row is written after the handler's
    transaction rolled back, and the sender's retry (or a replay) takes it over.
    """

    class Status(models.TextChoices):
        HANDLED = "handled", "Handled"
        FAILED = "failed", "Failed"

    handler = models.CharField(max_length=KEY_LENGTH, db_index=True)
    scope = models.CharField(max_length=KEY_LENGTH)
    # Empty for a request without a webhook-id (body-only signature schemes): such a
    # message is recorded, but every copy of it is handled.
    msg_id = models.CharField(max_length=KEY_LENGTH, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    attempts = models.PositiveIntegerField(default=0)  # times the handler ran for it
    last_error = models.TextField(blank=True)
    path = models.TextField()
    headers = models.JSONField(default=dict)
    body = models.TextField()
    payload = models.TextField()  # JSON, as the handler received it
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "msg_id"],
                condition=~Q(msg_id=""),
                name="webhooks_inbox_once_per_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler} {self.msg_id or '(no id)'}"

"""What a PostgreSQL commit said about the task marker (see migrations 0008 and 0018).

Inside a host's transaction the statement recording an event asks a deferred trigger to
take the marker at commit; when it takes it, the trigger says so with a notice, which
arrives with the COMMIT's own reply. This module listens for that notice on the raw
connection, so the code running after the commit knows whether to enqueue a task
without asking the database again. After its own ask, silence means a task covers the
commit (a notice for that case cost more than the rest of the trigger); where nothing
was asked (another driver, another writer) the caller asks the database.
"""

from __future__ import annotations

import weakref
from typing import Any

ASK = "SELECT set_config('webhooks_app.marker_at_commit', 'asked', true)"
ENQUEUE = "enqueue"
COVERED = "covered"
_PREFIX = "webhooks_app: "
_ATTRIBUTE = "_webhooks_app_marker_answer"


def listen(connection: Any) -> bool:
    """Prepare to hear this transaction's answer; False if this driver cannot."""
    raw = connection.connection
    add = getattr(raw, "add_notice_handler", None)  # psycopg 3; psycopg2 has none
    if raw is None or add is None:
        return False
    if not hasattr(raw, _ATTRIBUTE):
        add(_handler(raw))
    setattr(raw, _ATTRIBUTE, None)  # an earlier transaction's answer is not this one's
    return True


def answer(connection: Any) -> str | None:
    """The last commit's answer (``ENQUEUE`` or ``COVERED``), once; None if none came."""
    raw = connection.connection
    said = getattr(raw, _ATTRIBUTE, None)
    if said is not None:
        setattr(raw, _ATTRIBUTE, None)
    return said


def _handler(raw: Any) -> Any:
    ref = weakref.ref(raw)  # the connection holds its handlers: no cycle through them

    def heard(diagnostic: Any) -> None:
        message = diagnostic.message_primary or ""
        conn = ref()
        if conn is not None and message.startswith(_PREFIX):
            setattr(conn, _ATTRIBUTE, message[len(_PREFIX) :])

    return heard

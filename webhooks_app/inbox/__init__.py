"""The receiving side's record of what arrived: a durable inbox.

A host that only receives webhooks installs ``"webhooks_app.inbox"`` alone (not
``"webhooks_app"``, the sending side): its one table records each message's
``webhook-id``, scoped per secret or tenant, in the transaction of the handler's own
writes (:mod:`webhooks_app.inbox.handling`). :mod:`webhooks_app.inbox.seen` is the
lighter, cache-based alternative, which needs no installed app.

Nothing is imported here, so ``webhooks_app.inbox.seen`` and ``.scopes`` load in a
project that does not install this app.
"""

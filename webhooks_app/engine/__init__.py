"""The engine: what turns saves into deliveries and sends them. Hosts never import it.

What a host imports is listed in ``webhooks_app/__init__.py`` and the docs' public API
table: the models, ``registry``, ``events``, ``operations``, ``signals``, ``signing``,
``receiving``, ``testing``, the mounted urls. Everything here may change between minor
versions; the public API follows semantic versioning.

Deliberately empty: importing ``webhooks_app.engine`` imports nothing.
"""

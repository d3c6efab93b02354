"""Event catalogs a host can select with ``WEBHOOKS["EVENTS"]`` (a dotted path)."""

"""Bodies as people read them: JSON indented, a form-encoded body's payload too."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl


def dumps(value: Any) -> str:
    """Indented JSON ("" for None)."""
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False)


def pretty(body: str) -> str:
    """A body indented when it is JSON, or a form whose ``payload`` is; else as it is
    (an HTML error page, plain text)."""
    parsed = _json(body)
    if parsed is None and "=" in body and not body.lstrip().startswith("<"):
        fields = parse_qsl(body, keep_blank_values=True)
        payload = dict(fields).get("payload")
        parsed = _json(payload) if payload is not None else None
        if parsed is not None:
            return "payload=" + dumps(parsed)
    return body if parsed is None else dumps(parsed)


def _json(text: str) -> Any:
    if not text or text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None

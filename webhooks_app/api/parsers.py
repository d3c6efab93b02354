"""Request parsers of the API: JSON only, with no input that can make it fail with a 500.

Form encodings are not parsed: they cannot carry the schema's lists, objects, nulls and
booleans (DRF reads a boolean left out of a form as false), so a form body is a 415
rather than a request read differently from what the schema documents."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a document nested deeper than Python's recursion limit is a
    400, as any other malformed body, not a RecursionError."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


PARSER_CLASSES = [JSONParser]

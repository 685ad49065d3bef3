"""The API's JSON parser, bounded in size and nesting (issue 14).

DRF's JSONParser hands the body to json.load: a body nested a few thousand levels deep raised
RecursionError (a 500), and nothing but Django's 512 MB upload limit bounded its size. No API
document is deeper than a few levels or larger than a few megabytes, so this parser refuses,
with a 400 that says why, bodies over API_MAX_JSON_BYTES or nested over API_MAX_JSON_DEPTH.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def json_depth(document: Any) -> int:
    """Nesting depth, computed without recursion (1 for a scalar)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


class BoundedJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            return None
        max_bytes = int(getattr(settings, "API_MAX_JSON_BYTES", 8 * 1024 * 1024))
        max_depth = int(getattr(settings, "API_MAX_JSON_DEPTH", 32))
        raw = stream.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise ParseError(f"JSON body over the {max_bytes} byte limit")
        try:
            document = json.loads(raw.decode(self._encoding(parser_context)))
        except RecursionError as exc:
            raise ParseError(f"JSON nested deeper than {max_depth} levels") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_depth(document) > max_depth:
            raise ParseError(f"JSON nested deeper than {max_depth} levels")
        return document

    @staticmethod
    def _encoding(parser_context: Mapping[str, Any] | None) -> str:
        return str((parser_context or {}).get("encoding", settings.DEFAULT_CHARSET))

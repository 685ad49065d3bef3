"""The API's paging: limit/offset as DRF does it, with both bounded (issue 14).

DRF's LimitOffsetPagination has no maximum limit by default and passes any offset to the
database; an offset of 40 digits failed there (bigint out of range: a 500). Here `limit` is
capped at API_MAX_PAGE_SIZE and an offset outside 0..MAX_OFFSET, or either one not an
integer, is a 400 that says so.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

from core.params import MAX_OFFSET, bounded_int


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return int(getattr(settings, "API_MAX_PAGE_SIZE", 500))

    def get_limit(self, request: Request) -> int | None:
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return self.default_limit
        try:
            value = bounded_int(raw, "limit", minimum=1, maximum=MAX_OFFSET)
        except ValueError as exc:
            raise ValidationError({"limit": [str(exc)]}) from exc
        return min(value, self.max_limit)

    def get_offset(self, request: Request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        try:
            return bounded_int(raw, "offset", minimum=0, maximum=MAX_OFFSET)
        except ValueError as exc:
            raise ValidationError({"offset": [str(exc)]}) from exc

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """DRF's parameters with the bounds get_limit/get_offset enforce (a 400 outside them)."""
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: (1, MAX_OFFSET, f" At most {self.max_limit} are returned."),
            self.offset_query_param: (0, MAX_OFFSET, ""),
        }
        for parameter in parameters:
            if parameter["name"] in bounds:
                low, high, note = bounds[parameter["name"]]
                parameter["schema"] = {**parameter["schema"], "minimum": low, "maximum": high}
                parameter["description"] = parameter.get("description", "") + note
        return parameters

"""The OpenAPI schema describes every view, from the serializers and registries the server
checks against (issue 15): `spectacular --validate --fail-on-warn` passes, a view without a
description fails it, and choices and caps come from where the server takes them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.management.commands.spectacular import SchemaGenerationError

from annotations.exports.formats import FORMAT_NAMES
from annotations.models import SkipReason
from annotations.payloads import KINDS
from annotations.services.annotate import MAX_TIME_SPENT_MS
from annotations.services.queue import MAX_BATCH
from annotations.services.review import MAX_REVIEW_NOTE
from annotations.services.submit import MAX_SKIP_NOTE
from core.params import MAX_OFFSET
from learning.strategy_names import STRATEGY_NAMES


@pytest.fixture(autouse=True)
def fresh_generator_stats() -> Iterator[None]:
    # drf-spectacular keeps its warnings in a module-level cache across generations.
    reset_generator_stats()
    yield
    reset_generator_stats()


def test_the_schema_validates_with_no_warning(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(out))
    assert "/api/v1/me" in yaml.safe_load(out.read_text())["paths"]


def test_a_view_without_a_description_fails_the_check(tmp_path: Path) -> None:
    with pytest.raises(SchemaGenerationError):
        call_command(
            "spectacular",
            urlconf="tests.schema_probe_urls",
            validate=True,
            fail_on_warn=True,
            file=str(tmp_path / "schema.yaml"),
        )


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-any-return]


def _component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]  # type: ignore[no-any-return]


def _enum(schema: dict[str, Any], prop: dict[str, Any]) -> list[Any]:
    ref = prop.get("$ref") or next(p["$ref"] for p in prop.get("allOf", prop.get("oneOf", [])))
    return _component(schema, ref.rsplit("/", 1)[1])["enum"]  # type: ignore[no-any-return]


def test_every_operation_documents_a_success_response(schema: dict[str, Any]) -> None:
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not any(code.startswith("2") for code in operation["responses"])
    ]
    assert undocumented == []


def test_choices_come_from_the_registries(schema: dict[str, Any]) -> None:
    project_write = _component(schema, "PatchedProjectWrite")["properties"]
    assert _enum(schema, project_write["strategy"]) == list(STRATEGY_NAMES)
    formats = _component(schema, "ExportRequest")["properties"]["formats"]["items"]
    assert _enum(schema, formats) == list(FORMAT_NAMES)
    kind = _component(schema, "AnnotationWrite")["properties"]["kind"]
    assert _enum(schema, kind) == list(KINDS)
    reason = _component(schema, "Skip")["properties"]["reason"]
    assert _enum(schema, reason) == list(SkipReason.values)


def test_the_caps_the_server_enforces_are_in_the_schema(schema: dict[str, Any]) -> None:
    assert _component(schema, "NextRequest")["properties"]["count"]["maximum"] == MAX_BATCH
    assert _component(schema, "Submit")["properties"]["time_spent_ms"]["maximum"] == (
        MAX_TIME_SPENT_MS
    )
    assert _component(schema, "Skip")["properties"]["note"]["maxLength"] == MAX_SKIP_NOTE
    review = _component(schema, "ReviewRequest")["properties"]
    assert review["note"]["maxLength"] == MAX_REVIEW_NOTE
    shapes = _component(schema, "ReviewPayload")["properties"]["annotations"]
    assert shapes["maxItems"] == settings.ANNOTATION_MAX_SHAPES_PER_ITEM
    listing = schema["paths"]["/api/v1/me/history"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, MAX_OFFSET)
    assert str(settings.API_MAX_PAGE_SIZE) in limit["description"]

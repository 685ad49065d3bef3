"""Annotation payloads are bounded (issue 14, "Limits that are missing"): points per shape,
mask run counts, text attribute length, NUL characters, coordinates without a known image,
shapes per item and reader. Each refusal is a 400 naming the field; nothing is stored."""

from __future__ import annotations

import pytest

from annotations.models import Annotation, LabelClass
from annotations.payloads import (
    ImageGeometry,
    LabelSchema,
    PayloadError,
    PayloadLimits,
    parse_attribute_specs,
    validate_payload,
)
from tests.annotations.helpers import answer, take

LIMITS = PayloadLimits(max_points=50, max_mask_runs=40, max_text_length=20)
SEGMENT = LabelSchema(
    "segmentation",
    ("lesion",),
    attributes={"lesion": parse_attribute_specs([{"name": "note", "type": "text"}])},
)
IMAGE = ImageGeometry(rows=100, columns=100)


def errors_of(kind: str, payload: object, image: ImageGeometry | None = IMAGE) -> dict:
    with pytest.raises(PayloadError) as caught:
        validate_payload(kind, payload, schema=SEGMENT, image=image, limits=LIMITS)
    return caught.value.errors


def test_too_many_points_are_refused_without_checking_each() -> None:
    polygon = [[i % 100, (i * 7) % 100] for i in range(1_000_000)]
    errors = errors_of("polygon", {"label": "lesion", "points": polygon})
    assert list(errors) == ["payload.points"]
    assert "at most 50 points" in errors["payload.points"][0]


def test_too_many_mask_runs_are_refused() -> None:
    counts = [0] * 2_000_000 + [100 * 100]
    errors = errors_of("mask", {"label": "lesion", "size": [100, 100], "counts": counts})
    assert "at most 40 run lengths" in errors["payload.counts"][0]


def test_long_text_and_nul_characters_are_refused() -> None:
    box = {"label": "lesion", "points": [[1, 1], [1, 9], [9, 9]]}
    long = errors_of("polygon", box | {"attributes": {"note": "x" * 5_000_000}})
    assert "at most 20 characters" in long["payload.attributes.note"][0]
    nul = errors_of("polygon", box | {"attributes": {"note": "a\x00b"}})
    assert "NUL" in nul["payload.attributes.note"][0]


def test_coordinates_are_bounded_even_without_a_known_image() -> None:
    far = errors_of("polygon", {"label": "lesion", "points": [[0, 0], [1e300, 0], [0, 5]]}, None)
    assert "0 to 65535" in far["payload.points[1]"][0]
    huge = errors_of("mask", {"label": "lesion", "size": [10**9, 10**9], "counts": [0]}, None)
    assert "payload.size" in huge


@pytest.mark.django_db
def test_limits_come_from_settings_and_refuse_over_the_api(cast, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANNOTATION_MAX_POINTS = 10
    settings.ANNOTATION_MAX_SHAPES_PER_ITEM = 2
    project = cast.project
    project.task_type = "segmentation"
    project.save(update_fields=["task_type"])
    LabelClass.objects.create(project=project, name="lesion", index=9)
    client = cast.client(cast.anna)
    (item,) = take(client, project.pk)
    points = [[1, 1], [1, 5], [5, 5]]
    many = [[i % 8, (i * 3) % 8] for i in range(11)]
    refused = answer(client, item["id"], {"label": "lesion", "points": many}, kind="polygon")
    assert refused.status_code == 400 and "payload.points" in refused.json()
    for _ in range(2):
        ok = answer(client, item["id"], {"label": "lesion", "points": points}, kind="polygon")
        assert ok.status_code in (200, 201), ok.content
    third = answer(client, item["id"], {"label": "lesion", "points": points}, kind="polygon")
    assert third.status_code == 400
    assert "at most 2 shapes" in str(third.json())
    assert Annotation.objects.filter(item_id=item["id"]).count() == 2

"""A detection model's boxes: served above the project's threshold, accepted, moved, deleted and
added by the doctor; the server stores per-box provenance and per-read edit counts from its own
copy of the suggestion (annotations/services/box_provenance.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from annotations.models import Annotation, Submission
from annotations.services.box_provenance import box_iou
from tests.annotations.helpers import submit, take
from tests.cast import make_project

BOXES = [
    {"label": "mass", "points": [[10, 10], [30, 30]], "score": 0.93},
    {"label": "mass", "points": [[40, 5], [60, 20]], "score": 0.81},
    {"label": "calcification", "points": [[5, 40], [15, 50]], "score": 0.62},
    {"label": "mass", "points": [[0, 0], [8, 8]], "score": 0.2},
]


def active_boxes(project: Any, item_id: int, boxes: list[dict[str, Any]]) -> Any:
    """An active detection model whose score for the item holds `boxes` (the DET contract)."""
    from learning.models import ModelStatus, ModelVersion, Score

    version = ModelVersion.objects.create(
        project=project, number=1, architecture="retinanet", status=ModelStatus.ACTIVE
    )
    Score.objects.create(
        item_id=item_id,
        model_version=version,
        strategy="det_uncertainty",
        value=0.5,
        suggestion={"kind": "boxes", "frame": 1, "boxes": boxes},
    )
    return version


@pytest.fixture
def detection(cast: Any) -> Any:
    project = make_project(
        task_type="detection", classes=("mass", "calcification"), items=1, suggestions="before"
    )
    cast.on(project, "alice", "anna")
    client = cast.client("anna")
    (item,) = take(client, project.pk)
    return project, client, item["id"]


def put_box(client: Any, item_id: int, points: Any, provenance: Any = None, **extra: Any) -> Any:
    payload = {"label": extra.pop("label", "mass"), "points": points}
    body: dict[str, Any] = {"kind": "box", "frame": 1, "payload": payload}
    if provenance is not None:
        body["provenance"] = provenance
    return client.put(f"/api/v1/items/{item_id}/annotations/{uuid.uuid4()}", body, format="json")


def test_only_boxes_at_or_above_the_project_threshold_are_served_numbered(detection: Any) -> None:
    project, client, item_id = detection
    version = active_boxes(project, item_id, BOXES)
    served = client.get(f"/api/v1/items/{item_id}/").json()["suggestion"]
    assert (served["kind"], served["model_version"]) == ("boxes", version.pk)
    assert [(b["index"], b["score"]) for b in served["boxes"]] == [(0, 0.93), (1, 0.81), (2, 0.62)]
    project.box_threshold = 0.8
    project.save(update_fields=["box_threshold"])
    served = client.get(f"/api/v1/items/{item_id}/suggestion").json()
    assert [b["index"] for b in served["boxes"]] == [0, 1]


def test_the_threshold_is_a_project_setting_between_0_and_1(cast: Any, detection: Any) -> None:
    project, _client, _item = detection
    admin = cast.client("alice")
    url = f"/api/v1/projects/{project.pk}/"
    refused = admin.patch(url, {"box_threshold": 1.5}, format="json")
    assert refused.status_code == 400 and "box_threshold" in refused.json()
    assert admin.patch(url, {"box_threshold": 0.3}, format="json").status_code == 200
    assert admin.get(url).json()["box_threshold"] == 0.3


def test_a_saved_box_stores_score_iou_and_moved_from_the_stored_suggestion(
    detection: Any,
) -> None:
    project, client, item_id = detection
    version = active_boxes(project, item_id, BOXES)
    # Accepted unchanged; the client's score and "moved" are ignored for the server's own.
    kept = put_box(
        client, item_id, [[10, 10], [30, 30]],
        {"suggested_by": version.pk, "accepted": True, "box_index": 0, "score": 0.1, "moved": True},
    )  # fmt: skip
    assert kept.status_code == 201, kept.content
    assert kept.json()["provenance"] == {
        "suggested_by": version.pk,
        "accepted": True,
        "box_index": 0,
        "score": 0.93,
        "iou": 1.0,
        "moved": False,
        "suggested_label": "mass",
        "recomputed": True,
    }
    resized = put_box(
        client, item_id, [[40, 5], [60, 30]],
        {"suggested_by": version.pk, "accepted": True, "box_index": 1},
    )  # fmt: skip
    stored = Annotation.objects.get(uid=resized.json()["uid"]).provenance
    assert stored["moved"] is True and stored["iou"] == pytest.approx(300 / 500)


@pytest.mark.parametrize(
    ("provenance", "field"),
    [
        ({"suggested_by": 1, "accepted": True}, "provenance.box_index"),
        ({"suggested_by": 1, "accepted": True, "box_index": -2}, "provenance.box_index"),
        ({"suggested_by": 1, "accepted": True, "box_index": 0, "score": 3}, "provenance.score"),
        ({"suggested_by": 1, "accepted": "y", "box_index": 0}, "provenance.accepted"),
        ({"suggested_by": 1, "accepted": True, "box_index": 0, "iou": 1}, "provenance.iou"),
    ],
)
def test_malformed_box_provenance_is_a_400_and_nothing_is_stored(
    detection: Any, provenance: dict[str, Any], field: str
) -> None:
    _project, client, item_id = detection
    response = put_box(client, item_id, [[1, 1], [5, 5]], provenance)
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Annotation.objects.filter(item_id=item_id).exists()


def test_a_box_index_the_stored_suggestion_lacks_is_refused(detection: Any) -> None:
    project, client, item_id = detection
    version = active_boxes(project, item_id, BOXES)
    claim = {"suggested_by": version.pk, "accepted": True, "box_index": 9}
    response = put_box(client, item_id, [[1, 1], [5, 5]], claim)
    assert response.status_code == 400
    assert response.json()["provenance.box_index"] == ["the suggestion has 4 box(es)"]


def test_submit_stores_the_edit_counts_the_server_counted(detection: Any) -> None:
    project, client, item_id = detection
    version = active_boxes(project, item_id, BOXES)
    by = {"suggested_by": version.pk, "accepted": True}
    # Shown: boxes 0, 1, 2 (box 3 is under 0.5). Kept 0 as is, moved 1, deleted 2, drew one.
    assert put_box(client, item_id, [[10, 10], [30, 30]], {**by, "box_index": 0}).status_code == 201
    assert put_box(client, item_id, [[42, 5], [60, 20]], {**by, "box_index": 1}).status_code == 201
    assert put_box(client, item_id, [[2, 50], [9, 60]], label="calcification").status_code == 201
    response = submit(client, item_id)
    assert response.status_code == 200, response.content
    edits = {
        "suggested_by": version.pk,
        "shown": 3,
        "accepted": 2,
        "moved": 1,
        "deleted": 1,
        "added": 1,
        "recomputed": True,
    }
    assert response.json()["box_edits"] == edits
    assert Submission.objects.get(item_id=item_id).box_edits == edits


def test_a_read_that_kept_none_of_the_boxes_counts_them_all_deleted(detection: Any) -> None:
    project, client, item_id = detection
    version = active_boxes(project, item_id, BOXES)
    assert put_box(client, item_id, [[2, 50], [9, 60]]).status_code == 201
    response = submit(client, item_id)
    assert response.json()["box_edits"] == {
        "suggested_by": version.pk,
        "shown": 3,
        "accepted": 0,
        "moved": 0,
        "deleted": 3,
        "added": 1,
        "recomputed": True,
    }


def test_without_a_model_a_detection_read_has_no_box_edits(detection: Any) -> None:
    _project, client, item_id = detection
    assert put_box(client, item_id, [[2, 50], [9, 60]]).status_code == 201
    assert submit(client, item_id).json()["box_edits"] is None


def test_boxes_a_project_hides_are_not_counted_as_deleted(detection: Any) -> None:
    project, client, item_id = detection
    active_boxes(project, item_id, BOXES)
    project.suggestions = "hidden"
    project.save(update_fields=["suggestions"])
    assert client.get(f"/api/v1/items/{item_id}/").json()["suggestion"] is None
    assert put_box(client, item_id, [[2, 50], [9, 60]]).status_code == 201
    assert submit(client, item_id).json()["box_edits"] is None


def test_iou_of_boxes_is_symmetric_and_ignores_corner_order() -> None:
    assert box_iou([[0, 0], [10, 10]], [[10, 10], [0, 0]]) == 1.0
    assert box_iou([[0, 0], [10, 10]], [[5, 0], [15, 10]]) == pytest.approx(50 / 150)
    assert box_iou([[0, 0], [1, 1]], [[2, 2], [3, 3]]) == 0.0


# Bad boxes through the API: 400 naming the field and the reason; nothing stored.
@pytest.mark.parametrize(
    ("points", "field", "reason"),
    [
        ([[5, 5], [5, 9]], "payload.points", "a box needs a non-zero width and height"),
        ([[5, 5], [70, 9]], "payload.points[1]", "lies outside the 64x64 image"),
        ([[-1, 5], [7, 9]], "payload.points[0]", "lies outside the 64x64 image"),
        ([["NaN", 5], [7, 9]], "payload.points[0]", "finite numbers"),
        ([[5, 5]], "payload.points", "a box has two opposite corners"),
    ],
)
def test_a_bad_box_is_refused_with_its_field_and_reason(
    detection: Any, points: Any, field: str, reason: str
) -> None:
    _project, client, item_id = detection
    response = put_box(client, item_id, points)
    assert response.status_code == 400, response.content
    assert any(reason in message for message in response.json()[field]), response.json()
    assert not Annotation.objects.filter(item_id=item_id).exists()


def test_a_box_of_another_label_is_refused(detection: Any) -> None:
    _project, client, item_id = detection
    response = put_box(client, item_id, [[1, 1], [5, 5]], label="tumour")
    assert response.status_code == 400
    assert response.json()["payload.label"] == ["'tumour' is not a class of this project"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_a_raw_nan_or_infinity_in_the_body_is_refused_naming_the_corner(
    detection: Any, token: str
) -> None:
    _project, client, item_id = detection
    points = f"[[{token}, 1], [5, 5]]"
    body = f'{{"kind": "box", "frame": 1, "payload": {{"label": "mass", "points": {points}}}}}'
    response = client.put(
        f"/api/v1/items/{item_id}/annotations/{uuid.uuid4()}", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"payload.points[0]": ["a point is [x, y] with finite numbers"]}
    assert not Annotation.objects.filter(item_id=item_id).exists()

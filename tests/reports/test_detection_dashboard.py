"""A detection project's dashboard: FROC and mAP per model version from the registry's stored
metrics, and the median edits doctors made to each version's proposed boxes (from reads
submitted through the API; the server's own counts)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.annotations.helpers import submit, take
from tests.annotations.test_box_suggestions import BOXES, put_box
from tests.cast import Cast, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(db: None) -> Cast:
    """A bare cast: the reports folder's own plays on a trained classifier, not needed here."""
    return Cast()


def detection_metrics(froc_mean: float, map_50: float) -> dict[str, Any]:
    return {
        "froc": {"0.5": froc_mean - 0.1, "1": froc_mean, "2": froc_mean + 0.05, "4": 0.99},
        "froc_mean": froc_mean,
        "map_50": map_50,
        "map_50_95": map_50 / 2,
        "per_class": {"mass": {"ap_50": map_50, "ap_50_95": map_50 / 2, "support": 12}},
        "n_test_images": 20,
    }


def test_froc_map_and_box_edits_per_model_version(cast: Any) -> None:
    from learning.models import ModelStatus, ModelVersion, Score

    project = make_project(
        task_type="detection", classes=("mass", "calcification"), items=3, suggestions="before"
    )
    cast.on(project, "alice", "anna")
    early = ModelVersion.objects.create(
        project=project, number=1, architecture="retinanet", status=ModelStatus.RETIRED,
        labels_used=10, metrics={"test": detection_metrics(0.5, 0.4)},
    )  # fmt: skip
    late = ModelVersion.objects.create(
        project=project, number=2, architecture="retinanet", status=ModelStatus.ACTIVE,
        labels_used=30, metrics=detection_metrics(0.8, 0.7),  # the figures at the top level
    )  # fmt: skip
    client = cast.client("anna")
    items = [i["id"] for i in take(client, project.pk, count=3)]
    # Version 1's boxes on two items: one read keeps 0 and 1 and draws one (edits: 1 deleted +
    # 1 added = 2); the other keeps 0, resized (1 moved + 2 deleted = 3). Version 2, the active
    # one: the doctor keeps none and says "no findings" (3 deleted).
    plans = [(early, items[0], [0, 1], 1), (early, items[1], [0], 0), (late, items[2], [], 0)]
    for version, item_id, kept, drawn in plans:
        Score.objects.create(
            item_id=item_id, model_version=version, strategy="det_uncertainty", value=0.5,
            suggestion={"kind": "boxes", "frame": 1, "boxes": BOXES},
        )  # fmt: skip
        for index in kept:
            claim = {"suggested_by": version.pk, "accepted": True, "box_index": index}
            box = BOXES[index]
            points = box["points"] if drawn or index else [[10, 10], [32, 30]]
            response = put_box(client, item_id, points, claim, label=box["label"])
            assert response.status_code == 201
        for _ in range(drawn):
            assert put_box(client, item_id, [[1, 50], [9, 60]]).status_code == 201
        if not kept and not drawn:  # nothing to mark: the doctor says so
            body = {"kind": "class", "frame": 1, "payload": {"labels": []}}
            url = f"/api/v1/items/{item_id}/annotations/{uuid.uuid4()}"
            assert client.put(url, body, format="json").status_code == 201
        assert submit(client, item_id).status_code == 200

    data = cast.client("alice").get(f"/api/v1/projects/{project.pk}/dashboard").json()
    curve = data["detection_curve"]
    assert [(p["version"], p["labels"], p["froc_mean"], p["map_50"]) for p in curve["points"]] == [
        (1, 10, 0.5, 0.4),
        (2, 30, 0.8, 0.7),
    ]
    assert curve["points"][1]["froc"] == {"0.5": 0.7, "1": 0.8, "2": 0.85, "4": 0.99}
    assert curve["points"][1]["per_class"] == {
        "mass": {"ap_50": 0.7, "ap_50_95": 0.35, "support": 12}
    }
    assert data["box_edit_curve"]["points"] == [
        {
            "version": 1, "labels": 10, "median_edits": 2.5, "reads": 2, "unmeasured": 0,
            "accepted": 3, "moved": 1, "deleted": 3, "added": 1,
        },
        {
            "version": 2, "labels": 30, "median_edits": 3, "reads": 1, "unmeasured": 0,
            "accepted": 0, "moved": 0, "deleted": 3, "added": 0,
        },
    ]  # fmt: skip


def test_other_task_types_have_no_detection_figures(cast: Any) -> None:
    project = make_project(task_type="segmentation", classes=("lesion",))
    cast.on(project, "alice")
    data = cast.client("alice").get(f"/api/v1/projects/{project.pk}/dashboard").json()
    assert data["detection_curve"] is None and data["box_edit_curve"] is None

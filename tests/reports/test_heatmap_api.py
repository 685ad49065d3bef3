"""GET /api/v1/items/{id}/heatmap: computed on demand by the infer queue's task, cached per model
version, shown only to those who may see the item's suggestion, exportable as DICOM."""

from __future__ import annotations

import io
import json

import numpy as np
import pydicom
import pytest
import redis
from django.conf import settings
from PIL import Image
from reports.models import HeatMap

from annotations.models import Annotation, Item
from ml_worker.explain import colorise
from ml_worker.explain_tasks import compute_heatmap

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker() -> redis.Redis:
    connection = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    connection.delete("infer")
    return connection


def _queued_tasks(broker: redis.Redis) -> list[tuple[str, list[int]]]:
    import base64

    messages = [json.loads(raw) for raw in reversed(broker.lrange("infer", 0, -1))]
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def _an_item(cast) -> Item:  # type: ignore[no-untyped-def]
    return Item.objects.filter(project=cast.project).order_by("pk").last()


def test_the_first_request_queues_the_computation_on_the_infer_queue(
    cast, version, broker, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    item = _an_item(cast)
    with django_capture_on_commit_callbacks(execute=True):
        response = cast.client("rita").get(f"/api/v1/items/{item.pk}/heatmap")
    assert response.status_code == 202
    assert response.json() == {"status": "queued"}
    heatmap = HeatMap.objects.get(item=item, model_version=version)
    assert _queued_tasks(broker) == [("ml_worker.explain_tasks.explain_item", [heatmap.pk])]

    with django_capture_on_commit_callbacks(execute=True):
        again = cast.client("alice").get(f"/api/v1/items/{item.pk}/heatmap")
    assert again.status_code == 202
    assert len(_queued_tasks(broker)) == 1  # not sent twice


def test_once_computed_the_map_is_a_png_over_the_image_grid_and_is_cached(cast) -> None:  # type: ignore[no-untyped-def]
    item = _an_item(cast)
    assert cast.client("rita").get(f"/api/v1/items/{item.pk}/heatmap").status_code == 202
    heatmap = HeatMap.objects.get(item=item)
    assert compute_heatmap(heatmap.pk) == "ready"
    assert compute_heatmap(heatmap.pk) == "not-claimed"  # a duplicate message is harmless

    response = cast.client("rita").get(f"/api/v1/items/{item.pk}/heatmap")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    png = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert png.mode == "RGBA"
    assert png.size == (item.instance.columns, item.instance.rows)
    heatmap.refresh_from_db()
    stored = np.load(heatmap.values_path).astype(np.float32)
    assert stored.shape == (item.instance.rows, item.instance.columns)
    assert stored.min() >= 0.0 and stored.max() <= 1.0
    assert np.array_equal(np.asarray(png), colorise(stored))  # the overlay is the stored map
    heatmap.refresh_from_db()
    assert heatmap.predicted in ("normal", "pneumonia")
    assert sum(heatmap.probabilities.values()) == pytest.approx(1.0, abs=1e-3)


def test_the_map_exports_as_a_secondary_capture_linked_to_its_source(cast) -> None:  # type: ignore[no-untyped-def]
    item = _an_item(cast)
    cast.client("alice").get(f"/api/v1/items/{item.pk}/heatmap")
    compute_heatmap(HeatMap.objects.get(item=item).pk)

    response = cast.client("alice").get(f"/api/v1/items/{item.pk}/heatmap.dcm")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/dicom"
    ds = pydicom.dcmread(io.BytesIO(response.content))
    source = item.instance
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert ds.StudyInstanceUID == source.series.study.study_instance_uid
    assert ds.SeriesInstanceUID != source.series.series_instance_uid
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == source.sop_instance_uid
    assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == source.sop_instance_uid
    assert ds.pixel_array.shape == (source.rows, source.columns)
    stored = np.load(HeatMap.objects.get(item=item).values_path).astype(np.float32)
    assert np.array_equal(ds.pixel_array, np.round(stored * 255).astype(np.uint8))
    assert "not a diagnosis" in ds.ImageComments
    again = pydicom.dcmread(
        io.BytesIO(cast.client("alice").get(f"/api/v1/items/{item.pk}/heatmap.dcm").content)
    )
    assert again.SOPInstanceUID == ds.SOPInstanceUID  # the same map exports as the same object


def test_an_annotator_sees_the_map_only_after_answering_in_after_mode(cast) -> None:  # type: ignore[no-untyped-def]
    item = _an_item(cast)
    client = cast.client("anna")
    assert client.get(f"/api/v1/items/{item.pk}/heatmap").status_code == 404
    Annotation.objects.create(
        item=item, author=cast.anna, kind="class", payload={"labels": ["normal"]}
    )
    assert client.get(f"/api/v1/items/{item.pk}/heatmap").status_code == 202


def test_outsiders_and_anonymous_callers_learn_nothing(cast) -> None:  # type: ignore[no-untyped-def]
    item = _an_item(cast)
    assert cast.client("otto").get(f"/api/v1/items/{item.pk}/heatmap").status_code == 404
    assert cast.client(None).get(f"/api/v1/items/{item.pk}/heatmap").status_code in (401, 403)
    assert not HeatMap.objects.exists()


def test_a_failed_computation_is_reported_not_served(cast, version) -> None:  # type: ignore[no-untyped-def]
    item = _an_item(cast)
    cast.client("alice").get(f"/api/v1/items/{item.pk}/heatmap")
    heatmap = HeatMap.objects.get(item=item)
    version.checkpoint_path = "/nonexistent/checkpoint.pt"
    version.save()
    from ml_worker.jobs import score

    score._models.clear()  # the worker's per-process model cache
    assert compute_heatmap(heatmap.pk) == "failed"
    response = cast.client("alice").get(f"/api/v1/items/{item.pk}/heatmap")
    assert response.status_code == 422
    assert response.json()["status"] == "failed"


def test_a_reviewer_sees_the_heat_map_link_in_the_item_suggestion(cast) -> None:  # type: ignore[no-untyped-def]
    item = _an_item(cast)
    suggestion = cast.client("rita").get(f"/api/v1/items/{item.pk}/suggestion").json()
    assert suggestion["heatmap_url"] == f"/api/v1/items/{item.pk}/heatmap"
    assert cast.client("rita").get(suggestion["heatmap_url"]).status_code in (200, 202)

"""The study report is complete before it is shown: every image, labelled or not, carries the
model's prediction; heat maps are computed for the report (202 "preparing" until they are, never
printed as "queued"); the model's calibration is in it (decision 0383)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from reports.models import HeatMap

from annotations.models import Annotation, Item
from ml_worker.explain_tasks import compute_heatmap

pytestmark = pytest.mark.django_db


def _labelled_study(cast):  # type: ignore[no-untyped-def]
    labelled = Annotation.objects.filter(item__project=cast.project, source="imported").first()
    assert labelled is not None
    return labelled.item.instance.series.study


def test_the_report_is_prepared_then_every_image_shows_a_prediction(
    cast, version, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    study = _labelled_study(cast)
    base = f"/api/v1/projects/{cast.project.pk}/studies/{study.study_instance_uid}/report"
    items = Item.objects.filter(project=cast.project, instance__series__study=study)
    labelled = items.filter(annotations__source="imported").distinct().count()
    assert labelled >= 1

    first = cast.client("rita").get(base)
    assert first.status_code == 202
    assert 'data-testid="report-preparing"' in first.content.decode()
    assert "queued" not in first.content.decode()
    pdf_first = cast.client("rita").get(f"{base}.pdf")
    assert pdf_first.status_code == 202 and pdf_first.json()["pending_heatmaps"] == items.count()

    for heatmap in HeatMap.objects.filter(model_version=version, item__in=items):
        compute_heatmap(heatmap.pk)  # what the infer queue's worker runs

    page = cast.client("rita").get(base)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="report-image"') == items.count()
    assert 'data-testid="predicted">n/a' not in html
    assert "Heat map: ready" in html and "queued" not in html
    assert 'data-testid="calibration"' in html

    pdf = tmp_path / "report.pdf"
    response = cast.client("rita").get(f"{base}.pdf")
    assert response.status_code == 200
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Predicted: n/a" not in text
    assert text.count("Predicted: ") == items.count()
    test = version.metrics["test"]
    assert "Calibration" in text
    assert f"{test['temperature']:.3f}" in text
    assert f"{test['ece_before']:.3f} / {test['ece_after']:.3f}" in text
    assert "Observed accuracy" in text

"""The study report of a detection project lists each proposed finding (the active model's boxes
at or above the project's threshold) with its label and score, outlines them on the image in the
class colour, and states the version's FROC and mAP (HTML page and PDF)."""

from __future__ import annotations

import base64
import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cast import Cast, make_project

pytestmark = pytest.mark.django_db

BOXES = [
    {"label": "mass", "points": [[4, 4], [20, 18]], "score": 0.91},
    {"label": "calcification", "points": [[22, 22], [30, 30]], "score": 0.57},
    {"label": "mass", "points": [[1, 25], [6, 30]], "score": 0.31},  # under the threshold
]
METRICS = {
    "froc": {"0.5": 0.71, "1": 0.86, "2": 0.9, "4": 0.95},
    "froc_mean": 0.855,
    "map_50": 0.612,
    "map_50_95": 0.301,
    "per_class": {"mass": {"ap_50": 0.7, "ap_50_95": 0.35, "support": 9}},
    "n_test_images": 14,
}


@pytest.fixture
def cast(db: None) -> Cast:
    """A bare cast: the reports folder's own plays on a trained classifier, not needed here."""
    return Cast()


@pytest.fixture
def report(cast: Cast):  # type: ignore[no-untyped-def]
    from learning.models import ModelStatus, ModelVersion, Score

    project = make_project(
        task_type="detection", classes=("mass", "calcification"), images=2, labelled=0
    )
    cast.on(project, "alice")
    version = ModelVersion.objects.create(
        project=project, number=5, architecture="retinanet", status=ModelStatus.ACTIVE,
        labels_used=40, metrics={"test": METRICS},
    )  # fmt: skip
    item = project.items.order_by("pk").first()
    assert item is not None
    Score.objects.create(
        item=item, model_version=version, strategy="det_uncertainty", value=0.4,
        suggestion={"kind": "boxes", "frame": 1, "boxes": BOXES},
    )  # fmt: skip
    study = item.instance.series.study
    url = f"/api/v1/projects/{project.pk}/studies/{study.study_instance_uid}/report"
    return cast.client("alice"), url, item


def test_the_page_lists_each_finding_with_label_and_score_and_outlines_it(report) -> None:  # type: ignore[no-untyped-def]
    client, url, item = report
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    dash = "\u2013"  # the page's en dash between the corners
    assert f"mass 0.91 at (4, 4){dash}(20, 18)" in html
    assert f"calcification 0.57 at (22, 22){dash}(30, 30)" in html
    assert "0.31" not in html  # under the project's box_threshold (0.5): not proposed
    assert "0.855 / 0.860, n = 14 images" in html and "0.612 / 0.301" in html
    # The picture of that image carries the outline in the class colour of "mass".
    section = html.split(f'data-item="{item.pk}"')[1]
    encoded = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", section)
    assert encoded is not None
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded.group(1)))).convert("RGB"))
    mass = item.project.label_classes.get(name="mass").color.lstrip("#")
    rgb = tuple(int(mass[i : i + 2], 16) for i in (0, 2, 4))
    assert (pixels[4, 4:21] == rgb).all() and (pixels[10, 4] == rgb).all()


def test_the_pdf_lists_the_findings_too(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, url, _item = report
    response = client.get(url + ".pdf")
    assert response.status_code == 200
    (tmp_path / "report.pdf").write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Proposed findings: mass 0.91, calcification 0.57" in " ".join(text.split())
    assert "0.855 / 0.860, n = 14 images" in text

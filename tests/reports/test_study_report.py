"""The AI study report: the PDF, rendered to PNG with pdftoppm and read back with pdftotext,
carries the key facts (decision-support banner, model version and test AUC, each image's
predicted class and calibrated probability, the doctors' labels); the printable HTML page too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reports.models import HeatMap

from annotations.models import Annotation, Item
from learning.models import Score
from tests.reports.conftest import computed_heatmaps

pytestmark = pytest.mark.django_db


def _study_with_a_doctors_label(cast):  # type: ignore[no-untyped-def]
    item = Item.objects.filter(project=cast.project).order_by("pk").last()
    Annotation.objects.create(
        item=item,
        author=cast.anna,
        kind="class",
        source="human",
        payload={"labels": ["pneumonia"]},
    )
    return item, item.instance.series.study


def test_the_pdf_states_the_key_facts_in_text_and_pixels(
    cast, version, tmp_path: Path, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    item, study = _study_with_a_doctors_label(cast)
    url = f"/api/v1/projects/{cast.project.pk}/studies/{study.study_instance_uid}/report.pdf"
    computed_heatmaps(cast, version, url)
    assert HeatMap.objects.filter(item=item, status="ready").exists()

    response = cast.client("rita").get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    score = Score.objects.get(item=item, model_version=version)
    names = version.config["class_names"]
    predicted = names[int(np.argmax(score.probabilities))]
    probability = max(score.probabilities)
    auc = version.metrics["test"]["auc"]
    assert auc is not None, "the stratified test split holds both classes, so AUC is defined"
    assert "DECISION SUPPORT, NOT A DIAGNOSIS" in text
    assert f"v{version.number} (small_cnn)" in text
    assert f"{auc:.3f}" in text
    assert f"Predicted: {predicted}, calibrated probability {probability:.2f}" in text
    assert "anna: pneumonia" in text
    assert "Heat map: ready" in text
    assert study.study_instance_uid in text

    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    first = np.asarray(Image.open(pages[0]).convert("RGB")).astype(int)
    (artifacts_dir / "ai-study-report-page1.png").write_bytes(pages[0].read_bytes())
    # The red decision-support banner (#b42318) sits at the top of the first page.
    red = (
        (abs(first[..., 0] - 0xB4) < 12)
        & (abs(first[..., 1] - 0x23) < 12)
        & (abs(first[..., 2] - 0x18) < 12)
    )
    rows = np.flatnonzero(red.any(axis=1))
    assert len(rows) and rows[0] < first.shape[0] * 0.15
    assert red.sum() > 0.01 * red.size
    # The image with its heat map is drawn (on whichever page the model's tables leave it): warm
    # overlay colours appear below the banner. The CT is grayscale and the text black, so any warm
    # pixel is the overlay's; how many depends on what the small trained model attends to.
    warm_pixels = 0
    for number, path in enumerate(pages):
        page = np.asarray(Image.open(path).convert("RGB")).astype(int)
        below = page[rows[-1] + 5 :] if number == 0 else page
        warm = (below[..., 0] > 150) & (below[..., 2] < 100) & ~(abs(below[..., 1] - 0x23) < 12)
        warm_pixels += int(warm.sum())
    assert warm_pixels > 0


def test_the_printable_page_says_the_same(cast, version) -> None:  # type: ignore[no-untyped-def]
    _item, study = _study_with_a_doctors_label(cast)
    url = f"/api/v1/projects/{cast.project.pk}/studies/{study.study_instance_uid}/report"
    computed_heatmaps(cast, version, url)
    response = cast.client("alice").get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert "Decision support, not a diagnosis" in html
    assert f"v{version.number} (small_cnn)" in html
    assert "anna: pneumonia" in html
    assert "data:image/png;base64," in html
    assert "report.pdf" in html


def test_who_may_read_a_report(cast) -> None:  # type: ignore[no-untyped-def]
    _item, study = _study_with_a_doctors_label(cast)
    url = f"/api/v1/projects/{cast.project.pk}/studies/{study.study_instance_uid}/report"
    assert cast.client("otto").get(url).status_code == 404
    assert cast.client("anna").get(url).status_code == 403  # suggestions "after"
    other = f"/api/v1/projects/{cast.project.pk}/studies/1.2.3.4/report"
    assert cast.client("alice").get(other).status_code == 404


def test_an_annotator_sees_only_their_own_labels_in_the_report(cast, version) -> None:  # type: ignore[no-untyped-def]
    """Blinding (docs/workflow.md): an annotator allowed to read the report (suggestions
    "before") sees their own label, never another reader's, submitted or not; reviewers see
    every reader's."""
    cast.project.suggestions = "before"
    cast.project.save(update_fields=["suggestions"])
    item, study = _study_with_a_doctors_label(cast)  # anna: pneumonia
    cast.join(cast.project, "ben")
    Annotation.objects.create(
        item=item, author=cast.ben, kind="class", source="human", payload={"labels": ["normal"]}
    )
    url = f"/api/v1/projects/{cast.project.pk}/studies/{study.study_instance_uid}/report"
    computed_heatmaps(cast, version, url)

    own = cast.client("anna").get(url).content.decode()
    assert "anna: pneumonia" in own
    # The page embeds base64 PNGs, where any three letters can turn up by chance (CI once
    # found "ben" in one); base64 has no ":", so "ben:" is only ever ben's label.
    assert "ben:" not in own
    assert "Doctors' labels: anna: pneumonia</p>" in own

    reviewer = cast.client("rita").get(url).content.decode()
    assert "anna: pneumonia" in reviewer and "ben: normal" in reviewer

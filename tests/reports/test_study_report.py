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
from ml_worker.explain_tasks import compute_heatmap

pytestmark = pytest.mark.django_db


def _study_with_a_doctors_label(trained):  # type: ignore[no-untyped-def]
    item = Item.objects.filter(project=trained.project).order_by("pk").last()
    Annotation.objects.create(
        item=item,
        author=trained.annotator,
        kind="class",
        source="human",
        payload={"labels": ["pneumonia"]},
    )
    return item, item.instance.series.study


def _computed_heatmaps(trained, url: str) -> None:  # type: ignore[no-untyped-def]
    trained.client("reviewer").get(url)  # requests the study's heat maps
    for heatmap in HeatMap.objects.filter(model_version=trained.version):
        compute_heatmap(heatmap.pk)


def test_the_pdf_states_the_key_facts_in_text_and_pixels(
    trained, tmp_path: Path, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    item, study = _study_with_a_doctors_label(trained)
    url = f"/api/v1/projects/{trained.project.pk}/studies/{study.study_instance_uid}/report.pdf"
    _computed_heatmaps(trained, url)
    assert HeatMap.objects.filter(item=item, status="ready").exists()

    response = trained.client("reviewer").get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    score = Score.objects.get(item=item, model_version=trained.version)
    names = trained.version.config["class_names"]
    predicted = names[int(np.argmax(score.probabilities))]
    probability = max(score.probabilities)
    auc = trained.version.metrics["test"]["auc"]
    assert auc is not None, "the stratified test split holds both classes, so AUC is defined"
    assert "DECISION SUPPORT, NOT A DIAGNOSIS" in text
    assert f"v{trained.version.number} (small_cnn)" in text
    assert f"{auc:.3f}" in text
    assert f"Predicted: {predicted}, calibrated probability {probability:.2f}" in text
    assert "annotator-f: pneumonia" in text
    assert "Heat map: ready" in text
    assert study.study_instance_uid in text

    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    (page_png,) = tmp_path.glob("page*.png")
    page = np.asarray(Image.open(page_png).convert("RGB")).astype(int)
    (artifacts_dir / "ai-study-report-page1.png").write_bytes(page_png.read_bytes())
    # The red decision-support banner (#b42318) sits at the top of the first page.
    red = (
        (abs(page[..., 0] - 0xB4) < 12)
        & (abs(page[..., 1] - 0x23) < 12)
        & (abs(page[..., 2] - 0x18) < 12)
    )
    rows = np.flatnonzero(red.any(axis=1))
    assert len(rows) and rows[0] < page.shape[0] * 0.15
    assert red.sum() > 0.01 * red.size
    # The image with its heat map is drawn: warm overlay colours appear outside the banner.
    below = page[rows[-1] + 5 :]
    warm = (below[..., 0] > 150) & (below[..., 2] < 100) & ~(abs(below[..., 1] - 0x23) < 12)
    assert warm.sum() > 20


def test_the_printable_page_says_the_same(trained) -> None:  # type: ignore[no-untyped-def]
    _item, study = _study_with_a_doctors_label(trained)
    url = f"/api/v1/projects/{trained.project.pk}/studies/{study.study_instance_uid}/report"
    _computed_heatmaps(trained, url)
    response = trained.client("admin").get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert "Decision support, not a diagnosis" in html
    assert f"v{trained.version.number} (small_cnn)" in html
    assert "annotator-f: pneumonia" in html
    assert "data:image/png;base64," in html
    assert "report.pdf" in html


def test_who_may_read_a_report(trained) -> None:  # type: ignore[no-untyped-def]
    _item, study = _study_with_a_doctors_label(trained)
    url = f"/api/v1/projects/{trained.project.pk}/studies/{study.study_instance_uid}/report"
    assert trained.client("outsider").get(url).status_code == 404
    assert trained.client("annotator").get(url).status_code == 403  # suggestions "after"
    other = f"/api/v1/projects/{trained.project.pk}/studies/1.2.3.4/report"
    assert trained.client("admin").get(other).status_code == 404


def test_an_annotator_sees_only_their_own_labels_in_the_report(trained, make_user) -> None:  # type: ignore[no-untyped-def]
    """Blinding (docs/workflow.md): an annotator allowed to read the report (suggestions
    "before") sees their own label, never another reader's, submitted or not; reviewers see
    every reader's."""
    from annotations.models import Membership, Role

    trained.project.suggestions = "before"
    trained.project.save(update_fields=["suggestions"])
    item, study = _study_with_a_doctors_label(trained)  # annotator-f: pneumonia
    other = make_user("annotator-g")
    Membership.objects.create(project=trained.project, user=other, role=Role.ANNOTATOR)
    Annotation.objects.create(
        item=item, author=other, kind="class", source="human", payload={"labels": ["normal"]}
    )
    url = f"/api/v1/projects/{trained.project.pk}/studies/{study.study_instance_uid}/report"

    own = trained.client("annotator").get(url).content.decode()
    assert "annotator-f: pneumonia" in own
    assert "annotator-g" not in own

    reviewer = trained.client("reviewer").get(url).content.decode()
    assert "annotator-f: pneumonia" in reviewer and "annotator-g: normal" in reviewer

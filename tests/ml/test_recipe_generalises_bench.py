"""The recipe-generalises comparison: `bench/make_busbra_medmnist_npz.py` turns the real BUS-BRA
files into a MedMNIST-format benign/malignant file split by patient with the CSV's labels, and
`bench/recipe_generalises.py` runs the product's default recipe and the reproduced MedMNIST
ResNet-18 protocol on it and on PneumoniaMNIST in one run (a tiny subset, two epochs / one epoch)
and prints the documented side-by-side last line."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BUSBRA = REPO.parent / "shared/data/segmentation/busbra"
PNEUMONIA = REPO.parent / "shared/data/classification/pneumoniamnist/pneumoniamnist.npz"
SPLITS = ("train", "val", "test")

pytestmark = pytest.mark.skipif(
    not (BUSBRA / "busbra_128.npz").exists() or not PNEUMONIA.exists(),
    reason="the shared BUS-BRA and PneumoniaMNIST files are not on this machine",
)


def run(script: str, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


@pytest.fixture(scope="module")
def busbra_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("busbra") / "busbramnist.npz"
    out = run("make_busbra_medmnist_npz.py", str(path))
    assert re.search(r"wrote .* train=\d+ val=\d+ test=\d+ malignant_share=0\.\d{3}$", out.strip())
    return path


def test_builder_splits_by_patient_with_the_csv_labels(busbra_npz: Path) -> None:
    with (BUSBRA / "bus_data.csv").open(newline="") as f:
        table = {r["ID"]: (int(r["Case"]), r["Pathology"]) for r in csv.DictReader(f)}
    with np.load(busbra_npz) as d:
        assert str(d["medmnist_reference"]) == "breastmnist"
        assert list(d["class_names"]) == ["benign", "malignant"]
        patients: dict[str, set[int]] = {}
        ids: list[str] = []
        for split in SPLITS:
            images, labels = d[f"{split}_images"], d[f"{split}_labels"]
            assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
            assert labels.dtype == np.uint8 and labels.shape == (len(images), 1)
            assert images.max() > 0
            split_ids = [str(i) for i in d[f"{split}_ids"]]
            ids += split_ids
            patients[split] = {table[i][0] for i in split_ids}
            for image_id, label in zip(split_ids, labels[:, 0], strict=True):
                assert ("benign", "malignant")[int(label)] == table[image_id][1], image_id
    assert sorted(ids) == sorted(table)  # every image once
    assert not patients["train"] & patients["val"]
    assert not patients["train"] & patients["test"]
    assert not patients["val"] & patients["test"]
    # both classes in every split (an AUC needs them)
    with np.load(busbra_npz) as d:
        assert all(len(np.unique(d[f"{s}_labels"])) == 2 for s in SPLITS)


def test_builder_refuses_to_write_into_the_repository() -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "make_busbra_medmnist_npz.py"),
         str(REPO / "busbra_in_repo.npz")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "refusing" in completed.stderr
    assert not (REPO / "busbra_in_repo.npz").exists()


def test_bench_prints_both_datasets_side_by_side(busbra_npz: Path) -> None:
    out = run(
        "recipe_generalises.py", "--datasets", str(busbra_npz), str(PNEUMONIA),
        "--seeds", "0", "--pool", "96", "--max-epochs", "2", "--reference-epochs", "1",
    )  # fmt: skip
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(
        r"busbramnist_auc=(\S+) busbramnist_published_auc=0\.901 busbramnist_reference_auc=(\S+) "
        r"pneumoniamnist_auc=(\S+) pneumoniamnist_published_auc=0\.944 "
        r"pneumoniamnist_reference_auc=(\S+) "
        r"seeds=1 load=\d+\.\d total_s=\d+ overrides=max_epochs:2",
        last,
    )
    assert match, last
    for value in match.groups():
        assert 0.0 <= float(value) <= 1.0
    assert "sibling: breastmnist" in out  # the comparison says it is not the same data
    # the same-file reference arm ran the published protocol on each file
    assert out.count("MedMNIST ResNet-18 (28) protocol, 1 epochs") == 2

"""PneumoniaMNIST imported with annotations.datasets comes back out of the PNG folders unchanged."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from annotations.datasets import import_npz
from tests.cast import make_project

NPZ = "classification/pneumoniamnist/pneumoniamnist.npz"


def test_pngs_equal_the_npz_images_and_folders_equal_the_npz_labels(
    db, shared_data, export
) -> None:
    # A window of centre 128, width 256 maps 8-bit values onto themselves (PS3.3 C.11.2.1.2).
    project = make_project(
        name="PneumoniaMNIST",
        task_type="classification",
        classes=["normal", "pneumonia"],
        window_center=128.0,
        window_width=256.0,
    )
    import_npz(project, shared_data / NPZ, limit=4)
    with np.load(shared_data / NPZ) as npz:
        expected = [
            (
                split,
                ["normal", "pneumonia"][int(npz[f"{split}_labels"][i][0])],
                npz[f"{split}_images"][i],
            )
            for split in ("train", "val", "test")
            for i in range(4)
        ]
    # Secondary Capture without a stated BurnedInAnnotation may carry text in its pixels, so a
    # default export withholds the images; an admin may include them.
    withheld = export(project, ["imagefolder"])
    info = json.loads((withheld / "dataset_info.json").read_text())
    skipped = info["report"].get("skipped", {}).get("imagefolder", {})
    if skipped:
        assert len(skipped["burned-in annotation possible"]) == 12
    root = export(project, ["imagefolder"], include_burned_in=True) / "imagefolder"
    found = 0
    for path in sorted(root.glob("*/*/*.png")):
        split, klass = path.parent.parent.name, path.parent.name
        with Image.open(path) as png:
            pixels = np.asarray(png)
        matches = [(sp, k) for sp, k, image in expected if np.array_equal(image, pixels)]
        assert (split, klass) in matches, path
        found += 1
    assert found == 12

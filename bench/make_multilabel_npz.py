"""Build a MedMNIST-format multi-label file from real images (no multi-label set is shipped in
/work/shared/data): PneumoniaMNIST's images and splits, labels of shape (N, 3) as ChestMNIST
stores them:

- label 0 "pneumonia": the data set's own label;
- label 1 "bright": the image's mean intensity above the training split's median;
- label 2 "high contrast": the image's intensity standard deviation above the training median.

An image may carry any combination, or none ("no finding"). The two derived labels are image
properties a small CNN can learn; pneumonia is the clinical one. Thresholds come from the
training split only, so val and test are labelled by the same rule without looking at them.

Usage: python bench/make_multilabel_npz.py [--source pneumoniamnist.npz] [--out PATH.npz]
Last line: `wrote PATH labels=(N, 3) positives=a,b,c no_finding=F`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared/data/classification/pneumoniamnist/pneumoniamnist.npz"
OUT = REPO / "bench" / "out" / "pneumoniamnist_multilabel.npz"
LABELS = ("pneumonia", "bright", "high contrast")


def build(source: Path) -> dict[str, np.ndarray]:
    with np.load(source) as d:
        raw = {k: d[k] for k in d.files}
    flat = raw["train_images"].reshape(len(raw["train_images"]), -1).astype(np.float64)
    bright_at, contrast_at = np.median(flat.mean(axis=1)), np.median(flat.std(axis=1))
    out: dict[str, np.ndarray] = {}
    for split in ("train", "val", "test"):
        images = raw[f"{split}_images"]
        pixels = images.reshape(len(images), -1).astype(np.float64)
        labels = np.stack(
            [
                raw[f"{split}_labels"].reshape(-1) > 0,
                pixels.mean(axis=1) > bright_at,
                pixels.std(axis=1) > contrast_at,
            ],
            axis=1,
        ).astype(np.uint8)
        out[f"{split}_images"], out[f"{split}_labels"] = images, labels
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    arrays = build(args.source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)  # type: ignore[arg-type]
    labels = np.concatenate([arrays[f"{s}_labels"] for s in ("train", "val", "test")])
    positives = ",".join(str(int(v)) for v in labels.sum(axis=0))
    print(
        f"wrote {args.out} labels={labels.shape} positives={positives} "
        f"no_finding={int((labels.sum(axis=1) == 0).sum())}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Build a BreastMNIST-like (MedMNIST-format) benign/malignant classification file from BUS-BRA.

Source: the shared BUS-BRA folder (`/work/shared/data/segmentation/busbra/`): `busbra_128.npz`
(all 1,875 breast ultrasound images, letterboxed to 128 px, already split 70/10/20 *by patient*,
seeded; README.md there) and `bus_data.csv` (the dataset's own table: the biopsy-confirmed
pathology of every image and its patient). Nothing else is read and nothing is downloaded.

Output (MedMNIST v2 layout, what every classification bench here reads):
`{train,val,test}_images` uint8 (N, 28, 28) (the 128 px image without its letterbox padding,
area-resized to the square as MedMNIST resizes whole images; `--letterbox` keeps the padding),
`{train,val,test}_labels` uint8 (N, 1) (0 benign, 1 malignant), plus `{split}_ids` and
`{split}_cases` (source image and patient, to check the split and the labels against the
CSV), `class_names` and `medmnist_reference` = "breastmnist": the MedMNIST v2 dataset whose
published figures are the nearest reference (a sibling: BreastMNIST comes from BUSI, another
breast-ultrasound source, not from BUS-BRA).

Usage: python bench/make_busbra_medmnist_npz.py OUT.npz [--source-dir DIR] [--size 28]
Writes OUT.npz only (never into the repository: keep data out of commits) and prints one line per
split and `wrote OUT.npz train=N val=N test=N malignant_share=S`.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# bench/ itself must not be an import root: bench/queue.py would shadow the stdlib `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
DEFAULT_SOURCE = REPO.parent / "shared/data/segmentation/busbra"
SPLITS = ("train", "val", "test")
CLASS_NAMES = ("benign", "malignant")


def read_table(path: Path) -> dict[str, tuple[str, int]]:
    """bus_data.csv -> {image ID: (patient "case-NNNN", label)}; unknown pathology refused."""
    table: dict[str, tuple[str, int]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            pathology = row["Pathology"].strip().lower()
            if pathology not in CLASS_NAMES:
                raise ValueError(
                    f"{row['ID']}: pathology {row['Pathology']!r} is not benign/malignant"
                )
            table[row["ID"]] = (f"case-{int(row['Case']):04d}", CLASS_NAMES.index(pathology))
    return table


def content_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """Rows and columns between the all-zero borders (the 128 px file's letterbox padding)."""
    rows = np.flatnonzero(image.max(axis=1) > 0)
    cols = np.flatnonzero(image.max(axis=0) > 0)
    if len(rows) == 0 or len(cols) == 0:
        return 0, image.shape[0], 0, image.shape[1]
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def shrink(images: np.ndarray, size: int, letterbox: bool = False) -> np.ndarray:
    """(N, H, W) uint8 -> (N, size, size) uint8 by area averaging, rounded. As MedMNIST v2 does,
    the whole image is resized to the square without keeping its aspect ratio: the letterbox
    padding of the 128 px file is cut off first (`letterbox=True` keeps it)."""
    import torch
    import torch.nn.functional as F

    out = np.empty((len(images), size, size), dtype=np.uint8)
    for i, image in enumerate(images):
        r0, r1, c0, c1 = (0, image.shape[0], 0, image.shape[1]) if letterbox else content_box(image)
        x = torch.from_numpy(image[r0:r1, c0:c1].astype(np.float32))[None, None]
        small = F.interpolate(x, size=(size, size), mode="area")[0, 0].numpy()
        out[i] = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    return out


def build(source: Path, size: int = 28, letterbox: bool = False) -> dict[str, np.ndarray]:
    table = read_table(source / "bus_data.csv")
    out: dict[str, np.ndarray] = {}
    with np.load(source / "busbra_128.npz") as d:
        for split in SPLITS:
            ids = np.asarray(d[f"{split}_ids"]).astype(str)
            cases = np.asarray(d[f"{split}_cases"]).astype(str)
            missing = [i for i in ids if i not in table]
            if missing:
                raise ValueError(
                    f"{split}: {len(missing)} images not in bus_data.csv: {missing[:3]}"
                )
            wrong = [i for i, c in zip(ids, cases, strict=True) if table[i][0] != c]
            if wrong:
                raise ValueError(f"{split}: patient differs from bus_data.csv for {wrong[:3]}")
            out[f"{split}_images"] = shrink(d[f"{split}_images"], size, letterbox)
            out[f"{split}_labels"] = np.array([[table[i][1]] for i in ids], dtype=np.uint8)
            out[f"{split}_ids"] = ids
            out[f"{split}_cases"] = cases
    seen: set[str] = set()
    for split in SPLITS:
        patients = set(out[f"{split}_cases"].tolist())
        if patients & seen:
            raise ValueError(
                f"{split} shares patients with an earlier split: {sorted(patients & seen)[:3]}"
            )
        seen |= patients
    out["class_names"] = np.array(CLASS_NAMES)
    out["medmnist_reference"] = np.array("breastmnist")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the .npz to write (outside the repository)")
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument(
        "--letterbox", action="store_true", help="keep the zero padding (aspect ratio kept)"
    )
    args = parser.parse_args(argv)
    out_path = args.out.resolve()
    if out_path.is_relative_to(REPO):
        print(f"refusing to write data into the repository: {out_path}", file=sys.stderr)
        return 2
    data = build(args.source_dir, args.size, args.letterbox)
    for split in SPLITS:
        labels = data[f"{split}_labels"].reshape(-1)
        print(
            f"{split}: {len(labels)} images, {len(set(data[f'{split}_cases'].tolist()))} patients, "
            f"{int(labels.sum())} malignant"
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_path, **data)  # type: ignore[arg-type]
    counts = {s: len(data[f"{s}_labels"]) for s in SPLITS}
    share = float(np.mean(np.concatenate([data[f"{s}_labels"] for s in SPLITS])))
    print(
        f"wrote {out_path} train={counts['train']} val={counts['val']} test={counts['test']} "
        f"malignant_share={share:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

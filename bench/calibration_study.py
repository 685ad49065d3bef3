"""Calibration study: ECE after each temperature-fitting method, on models the benchmark trains.

Trains the product's default model (supervised, and with the `semi` arm's FixMatch settings) on
random labelled subsets of a MedMNIST-format file's pool, along the quick protocol of
bench/active_learning.py (2,000-image seeded pool, 300-image val subset, official test split),
stores every model's validation logits (clean images, then the drift copies of decision 0333)
and test logits in `OUT/logits.npz`, then fits the temperature with each method on validation
only and reports the test ECE (15 equal-width bins, top-label confidence: Guo et al. 2017's
definition, `ml_worker.calibration.expected_calibration_error`), the ECE a perfectly calibrated
model with the same confidences would read on as many test images (`floor`), each model's
test AUC, accuracy and predicted class shares (a shifted decision boundary shows there,
decision 0426), and the test ECE when T is fitted on a few validation images only (`--val-sizes`).

Methods:
- `none`: T = 1.
- `clean`: NLL-optimal T on the clean validation images (Guo et al.).
- `drift`: NLL-optimal T on clean + perturbed validation images (decision 0333, before 0423).
- `product`: what `ml_worker.drift_calibration.drift_temperature` fits now (decision 0423).

Usage: python bench/calibration_study.py [--dataset X.npz] [--budgets 120,700] [--seeds 0,1]
       [--arms sup,semi] [--out DIR] [--reuse]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from bench import active_learning as al  # noqa: E402
from bench import arm_semi  # noqa: E402
from ml_worker.calibration import expected_calibration_error, fit_temperature, softmax  # noqa: E402
from ml_worker.drift_calibration import (  # noqa: E402
    DriftCalibration,
    drift_logits,
    drift_temperature,
)
from ml_worker.evaluation import roc_auc  # noqa: E402
from ml_worker.inference import predict  # noqa: E402
from ml_worker.models import build_model  # noqa: E402
from ml_worker.training import train_classifier  # noqa: E402


def train_logits(
    data: al.Data,
    recipe: al.Recipe,
    arm: str,
    seed: int,
    budget: int,
    labeled: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Train one model on `budget` random pool labels (or the given `labeled` pool indices); its
    val (clean + drift copies) and test logits."""
    if labeled is None:
        labeled = np.sort(
            np.random.default_rng(1000 + seed).choice(len(data.train_y), size=budget, replace=False)
        )
    config = replace(recipe.train, seed=seed)
    unlabeled = None
    if arm == "semi":
        config = arm_semi.configure(config)
        unlabeled = arm_semi.unlabeled_images(data.train_x, labeled, seed)
    result = train_classifier(
        build_model(recipe.spec, seed=seed),
        data.train_x[labeled],
        data.train_y[labeled],
        data.val_x,
        data.val_y,
        config,
        unlabeled_images=unlabeled,
    )

    def logits_of(x: np.ndarray) -> np.ndarray:
        return predict(result.model, x, with_embeddings=False).logits

    val = drift_logits(logits_of, data.val_x, recipe.train.augment, DriftCalibration(seed=seed))
    return {"val": val, "test": logits_of(data.test_x)}


def methods(val: np.ndarray, val_y: np.ndarray) -> dict[str, float]:
    """Each method's temperature, fitted on validation logits only (`val`: clean rows first,
    then the drift copies)."""
    n = len(val_y)
    repeats = len(val) // n
    return {
        "none": 1.0,
        "clean": fit_temperature(val[:n], val_y),
        "drift": fit_temperature(val, np.tile(val_y, repeats)),
        "product": drift_temperature(val, val_y),
    }


def ece_floor(probabilities: np.ndarray, draws: int = 200, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model with these confidences would still read on this many
    test images: each top-label prediction drawn right with probability its confidence, the
    measured ECE averaged over `draws`. The estimator's own noise floor (it is biased upwards on
    a few hundred images), so a figure near it says nothing more about miscalibration."""
    confidence = probabilities.max(axis=1)
    top = probabilities.argmax(axis=1)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        right = rng.random(len(confidence)) < confidence
        labels = np.where(right, top, (top + 1) % probabilities.shape[1])
        values.append(expected_calibration_error(probabilities, labels))
    return float(np.mean(values))


def small_validation(
    val: np.ndarray, val_y: np.ndarray, test: np.ndarray, test_y: np.ndarray, size: int, draws: int
) -> dict[str, float]:
    """Mean test ECE when only `size` validation images (and their drift copies) are available,
    as in a project's first rounds (its validation split is 15 % of a few dozen labels): maximum
    likelihood (`drift`) against the product's MAP temperature (`product`), over `draws` seeded
    subsets of the validation split."""
    n = len(val_y)
    repeats = len(val) // n
    rng = np.random.default_rng(size)
    eces: dict[str, list[float]] = {"drift": [], "product": []}
    for _ in range(draws):
        pick = rng.choice(n, size=size, replace=False)
        rows = np.concatenate([pick + r * n for r in range(repeats)])
        sub, sub_y = val[rows], val_y[pick]
        temperatures = {
            "drift": fit_temperature(sub, np.tile(sub_y, repeats)),
            "product": drift_temperature(sub, sub_y),
        }
        for name, t in temperatures.items():
            eces[name].append(expected_calibration_error(softmax(test, t), test_y))
    return {name: float(np.mean(values)) for name, values in eces.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=al.DEFAULT_DATASET)
    parser.add_argument("--budgets", default="120,700")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--arms", default="sup,semi")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "calibration")
    parser.add_argument(
        "--val-sizes", default="5,10,20,50", help="small validation subsets to fit T on"
    )
    parser.add_argument("--draws", type=int, default=20, help="subsets per size")
    parser.add_argument(
        "--labelled-sets",
        type=Path,
        default=None,
        help="a benchmark run's labelled_sets.npz: train on its sets named in --arms instead\n"
        "(e.g. --arms bald+semi: every seed's final set; '+semi' arms train semi-supervised)",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse OUT/logits.npz if present")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    data = al.prepare_data(args.dataset, quick=True)
    recipe = al.default_recipe(data)
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "logits.npz"
    stored: dict[str, np.ndarray] = dict(np.load(cache)) if args.reuse and cache.exists() else {}
    rows: list[dict[str, Any]] = []
    sets = dict(np.load(args.labelled_sets)) if args.labelled_sets else {}
    for arm in args.arms.split(","):
        for budget in (int(b) for b in args.budgets.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                labeled = sets.get(f"{arm}_seed{seed}")
                if labeled is not None:  # a benchmark arm's final set, its own budget
                    budget = len(labeled)
                key = f"{arm}_{budget}_{seed}"
                if f"{key}_val" not in stored:
                    started = time.monotonic()
                    kind = "semi" if arm == "semi" or arm.endswith("+semi") else "sup"
                    out = train_logits(data, recipe, kind, seed, budget, labeled)
                    stored[f"{key}_val"], stored[f"{key}_test"] = out["val"], out["test"]
                    np.savez_compressed(cache, **stored)  # type: ignore[arg-type]
                    print(f"trained {key} in {time.monotonic() - started:.0f} s", flush=True)
                val, test = stored[f"{key}_val"], stored[f"{key}_test"]
                row: dict[str, Any] = {"arm": arm, "budget": budget, "seed": seed}
                for name, t in methods(val, data.val_y).items():
                    row[f"T_{name}"] = t
                    row[f"ece_{name}"] = expected_calibration_error(softmax(test, t), data.test_y)
                row["ece_floor"] = ece_floor(softmax(test, row["T_product"]))
                # A shifted decision boundary shows here, not in the temperature (decision 0425).
                test_p = softmax(test, 1.0)
                row["test_auc"] = roc_auc(test_p, data.test_y)
                row["test_accuracy"] = float((test_p.argmax(axis=1) == data.test_y).mean())
                row["predicted_share"] = np.bincount(
                    test_p.argmax(axis=1), minlength=test_p.shape[1]
                ).tolist()
                row["predicted_share"] = [c / len(test_p) for c in row["predicted_share"]]
                for size in (int(v) for v in args.val_sizes.split(",") if v):
                    small = small_validation(val, data.val_y, test, data.test_y, size, args.draws)
                    row[f"small_{size}"] = small
                rows.append(row)
                print(
                    f"{key:14} "
                    + " ".join(
                        f"{m}: T {row[f'T_{m}']:.2f} ECE {row[f'ece_{m}']:.3f}"
                        for m in ("none", "clean", "drift", "product")
                    )
                    + f" (floor {row['ece_floor']:.3f}) test AUC {row['test_auc']:.4f}"
                    + f" accuracy {row['test_accuracy']:.3f} predicted share "
                    + "/".join(f"{v:.3f}" for v in row["predicted_share"]),
                    flush=True,
                )
    for arm in args.arms.split(","):
        mine = [r for r in rows if r["arm"] == arm]
        means = {m: float(np.mean([r[f"ece_{m}"] for r in mine])) for m in ("none", "clean")}
        means |= {m: float(np.mean([r[f"ece_{m}"] for r in mine])) for m in ("drift", "product")}
        worst = max(r["ece_product"] for r in mine)
        means["floor"] = float(np.mean([r["ece_floor"] for r in mine]))
        print(
            f"{args.dataset.name} {arm}: mean test ECE "
            + " ".join(f"{m}={v:.3f}" for m, v in means.items())
            + f"; worst product={worst:.3f}; load average {os.getloadavg()[0]:.1f}"
        )
    for size in (int(v) for v in args.val_sizes.split(",") if v):
        print(
            f"{args.dataset.name} T fitted on {size} val images ({args.draws} draws, every model):"
            f" mean test ECE ML drift={np.mean([r[f'small_{size}']['drift'] for r in rows]):.3f}"
            f" product={np.mean([r[f'small_{size}']['product'] for r in rows]):.3f}"
        )
    (args.out / "calibration.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The small-label recipe's steadiness: 44 PneumoniaMNIST labels (31 train, 7 validation, as a
project's 70/15/15 split gives them), 64 px, the product's default small CNN and TrainConfig.

Per seed it prints the validation loss after each epoch (what the dashboard's loss chart shows)
and the final model's AUC on 400 official validation images it never trained or stopped on.
`--precise-bn-samples 0` runs the recipe as it was before decision 0382 (batch-norm running
averages instead of statistics recomputed before each validation), for the comparison.

Last line: `labels=44 seeds=N peak_val_loss=P first_val_loss=F holdout_auc=A precise_bn=K`
(means over the seeds; peak = the highest validation loss of a run).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from ml_worker.evaluation import roc_auc  # noqa: E402
from ml_worker.inference import predict  # noqa: E402
from ml_worker.models import ModelSpec, build_model  # noqa: E402
from ml_worker.training import EpochReport, TrainConfig, train_classifier  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared/data/classification/pneumoniamnist/pneumoniamnist.npz"


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    return F.interpolate(x, size=(size, size), mode="bilinear").numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--precise-bn-samples", type=int, default=TrainConfig().precise_bn_samples)
    args = parser.parse_args(argv)
    with np.load(args.dataset) as d:
        pool_x, pool_y = d["train_images"], d["train_labels"].reshape(-1)
        hold_x = _resize(d["val_images"][:400], args.size)
        hold_y = d["val_labels"].reshape(-1)[:400].astype(np.int64)
    peaks, firsts, aucs = [], [], []
    for seed in (int(s) for s in args.seeds.split(",")):
        pick = np.random.default_rng(seed).choice(len(pool_x), 44, replace=False)
        train, val = pick[:31], pick[31:38]
        tx, ty = _resize(pool_x[train], args.size), pool_y[train].astype(np.int64)
        vx, vy = _resize(pool_x[val], args.size), pool_y[val].astype(np.int64)
        spec = ModelSpec(
            input_size=args.size, input_mean=float(tx.mean()), input_std=float(tx.std())
        )
        config = replace(TrainConfig(), seed=seed, precise_bn_samples=args.precise_bn_samples)
        reports: list[EpochReport] = []
        result = train_classifier(
            build_model(spec, seed=seed), tx, ty, vx, vy, config, on_epoch=reports.append
        )
        losses = [float(r.val_loss or 0.0) for r in reports]
        probs = predict(result.model, hold_x, with_embeddings=False).probabilities
        auc = roc_auc(probs, hold_y)
        peaks.append(max(losses))
        firsts.append(losses[0])
        aucs.append(auc)
        print(
            f"seed {seed}: val loss {[round(v, 2) for v in losses]}, best epoch "
            f"{result.best_epoch}, hold-out AUC {auc:.3f}, {result.seconds:.0f} s",
            flush=True,
        )
    print(
        f"labels=44 seeds={len(aucs)} peak_val_loss={np.mean(peaks):.2f} "
        f"first_val_loss={np.mean(firsts):.2f} holdout_auc={np.mean(aucs):.3f} "
        f"precise_bn={args.precise_bn_samples}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

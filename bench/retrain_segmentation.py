"""Retrain + rescore for a segmentation project (`bench/retrain.py --task segmentation`).

The worker's whole loop on BUS-BRA at 128 px, on CPU, with the product's default recipe
(`spec_for` = `SegSpec()` fitted to the data, `SegTrainConfig()`: MONAI U-Net, Dice +
cross-entropy, paired augmentation, EMA, early stopping on validation Dice). Stages, each timed:
load, train (the labelled train split), evaluate (temperature on validation pixels, the test
report stored with a model version), checkpoint (atomic write + sha256), score (what
`ml_worker.jobs.seg_score` does for every pool image: the default strategy's scores from
probabilities and embeddings, then the suggested mask at the frame's size). The pool rescored is
the train and validation images together (1,500 for BUS-BRA). Target: total < 3 minutes.

Last line (machine-readable): `train_s=X score_s=Y total_s=Z pool=N`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO.parent / "shared/data/segmentation/busbra/busbra_128.npz"
SUGGESTION_BATCH = 64  # as ml_worker.jobs.seg_score


def main(argv: list[str] | None = None) -> int:
    import torch

    from ml_worker.segmentation.checkpoint import save_segmenter
    from ml_worker.segmentation.inference import predict_segmentation
    from ml_worker.segmentation.network import build_segmenter
    from ml_worker.segmentation.pipeline import (
        evaluate_model,
        labels_at_native,
        score_pool,
        spec_for,
        suggestion_payloads,
    )
    from ml_worker.segmentation.training import SegTrainConfig, train_segmenter

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", choices=["segmentation"], default="segmentation")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--strategy", default="seg_budget_aware")
    parser.add_argument("--threads", type=int, default=SegTrainConfig().num_threads)
    parser.add_argument("--max-epochs", type=int, default=None, help="default: the product's")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    stages: dict[str, float] = {}
    start = time.monotonic()

    def stage(name: str, since: float) -> float:
        now = time.monotonic()
        stages[name] = now - since
        print(f"{name:10} {stages[name]:7.2f} s", flush=True)
        return now

    print(f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}", flush=True)
    t = time.monotonic()
    with np.load(args.dataset) as d:
        x = {
            s: (d[f"{s}_images"].astype(np.float32) / 255.0)[:, None]
            for s in ("train", "val", "test")
        }
        y = {s: d[f"{s}_masks"].astype(np.int64) for s in ("train", "val", "test")}
        class_names = [str(c) for c in d["class_names"]]
    pool_images = np.concatenate([x["train"], x["val"]])
    pool = len(pool_images)
    t = stage("load", t)

    config = replace(SegTrainConfig(), seed=args.seed, num_threads=args.threads)
    if args.max_epochs:
        config = replace(config, max_epochs=args.max_epochs)
    spec = spec_for(x["train"], len(class_names))
    result = train_segmenter(
        build_segmenter(spec, seed=args.seed),
        x["train"],
        y["train"],
        x["val"],
        y["val"],
        config,
        on_epoch=lambda r: print(
            f"  epoch {r.epoch:2d}/{r.epochs}: train loss {r.train_loss:.3f}, val Dice "
            f"{r.val_dice:.4f}, {r.seconds:.1f} s",
            flush=True,
        ),
    )
    train_end = stage("train", t)
    temperature, report = evaluate_model(
        result.model, x["val"], y["val"], x["test"], y["test"], class_names
    )
    t = stage("evaluate", train_end)
    with tempfile.TemporaryDirectory() as tmp:
        sha = save_segmenter(
            Path(tmp) / "model.pt", result.model, temperature=temperature, class_names=class_names
        )
    t = stage("checkpoint", t)
    score_start = t
    labelled_counts = np.array(
        [int((y["train"] == k).any(axis=(1, 2)).sum()) for k in range(1, len(class_names) + 1)]
    )
    scores = score_pool(
        result.model,
        pool_images,
        args.strategy,
        temperature=temperature,
        labeled_counts=labelled_counts,
        seed=args.seed,
    )
    assert scores.shape == (pool,)
    suggested = 0
    for begin in range(0, pool, SUGGESTION_BATCH):
        predicted = predict_segmentation(
            result.model, pool_images[begin : begin + SUGGESTION_BATCH], temperature=temperature
        )
        for probabilities in predicted.probabilities:
            rows, cols = probabilities.shape[-2:]
            labels = labels_at_native(probabilities, rows, cols)
            suggested += bool(suggestion_payloads(labels, class_names))
    stage("score", score_start)
    total = time.monotonic() - start
    print(
        f"model: test Dice {report['dice']:.4f}, best epoch {result.best_epoch}/"
        f"{len(result.history)}, T={temperature:.2f}, checkpoint {sha[:12]}; "
        f"{suggested}/{pool} pool images got a non-empty suggested mask"
    )
    train_s, score_s = stages["train"], stages["score"]
    print(f"train_s={train_s:.1f} score_s={score_s:.1f} total_s={total:.1f} pool={pool}")
    return 0

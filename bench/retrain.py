"""Retrain + rescore: the worker's whole loop on the 4,708-image PneumoniaMNIST pool, on CPU.

Stages, each timed: load (npz -> float arrays), train (the product's default `ModelSpec()` and
`TrainConfig()`: small CNN, augmentation, class-weighted loss, early stopping on val), calibrate
(temperature on val), evaluate (test split, the report stored with a model version), checkpoint
(atomic write + sha256), score (probabilities, embeddings and MC-dropout samples for every pool
image, then the default strategy's scores). Target: total < 60 s on 2 cores. `--device cuda`
runs the same code on a GPU (mixed precision).

Last line (machine-readable): `train_s=X score_s=Y total_s=Z pool=N`.

`--task segmentation`: the segmentation project's loop on BUS-BRA at 128 px with the product's
default recipe (`spec_for` = `SegSpec()` fitted to the data, `SegTrainConfig()`: MONAI U-Net,
Dice + cross-entropy, paired augmentation, EMA, early stopping on validation Dice). Stages: load,
train (the labelled train split), evaluate (temperature on validation pixels, the test report
stored with a model version), checkpoint, score (what `ml_worker.jobs.seg_score` does for every
pool image: the default strategy's scores from probabilities and embeddings, then the suggested
mask). The pool rescored is the train and validation images together (1,500 for BUS-BRA).
Target: total < 3 minutes on 2 cores. Same last line.

A segmentation retrain after the first fine-tunes the active model (decision 0354), so that is
what is timed by default: an earlier model ("the active version", untimed, trained with the
product's recipe on the training split less its newest `--new-share` images, cached under
`--cache` keyed by the data file, the settings and the seed) is loaded from its checkpoint and
fine-tuned on the whole training split with `warm_schedule`. `--cold` times the run from
scratch instead. `--scale F` keeps the first F of every split (a smaller pool on a loaded box).
The line before the last says `start=warm|cold` and the earlier model's test Dice.
"""

from __future__ import annotations

import os

# Passive OpenMP waiting: on a shared 2-core box, spinning threads of one job steal the cores the
# other thread needs (measured 3x slower steps under load; docs/learning.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# bench/ itself must not be an import root: a bench/queue.py would shadow the stdlib `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from ml_worker.checkpoint import save_model  # noqa: E402
from ml_worker.drift_calibration import calibrate_model  # noqa: E402
from ml_worker.evaluation import evaluate  # noqa: E402
from ml_worker.inference import predict  # noqa: E402
from ml_worker.models import ModelSpec, build_model  # noqa: E402
from ml_worker.strategies import PoolData, get_strategy  # noqa: E402
from ml_worker.training import TrainConfig, train_classifier  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared/data/classification/pneumoniamnist/pneumoniamnist.npz"
SEG_DATASET = REPO.parent / "shared/data/segmentation/busbra/busbra_128.npz"
SUGGESTION_BATCH = 64  # as ml_worker.jobs.seg_score
SPLITS = ("train", "val", "test")


class Clock:
    """Times the stages of one retrain; prints each as it ends."""

    def __init__(self, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.start = time.monotonic()
        self.stages: dict[str, float] = {}
        self.cpu_mark = time.process_time()
        print(f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")

    def stage(self, name: str, since: float) -> float:
        """Wall time since `since`, and this process's CPU time since the previous stage: on a
        shared machine the CPU time is what the stage costs, the wall time what it waited."""
        now, cpu = time.monotonic(), time.process_time()
        self.stages[name] = now - since
        print(
            f"{name:10} {self.stages[name]:7.2f} s   (CPU {cpu - self.cpu_mark:7.2f} s, "
            f"load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        self.cpu_mark = cpu
        return now

    def last_line(self, pool: int) -> str:
        train_s, score_s = self.stages["train"], self.stages["score"]
        total = time.monotonic() - self.start
        return f"train_s={train_s:.1f} score_s={score_s:.1f} total_s={total:.1f} pool={pool}"


def load_images(d: Any) -> dict[str, np.ndarray]:
    """(N, 1, H, W) float32 in [0, 1] per split of an npz in the standard layout."""
    return {s: (d[f"{s}_images"].astype(np.float32) / 255.0)[:, None] for s in SPLITS}


def main(argv: list[str] | None = None) -> int:
    task = argparse.ArgumentParser(add_help=False)
    task.add_argument(
        "--task", choices=["classification", "segmentation"], default="classification"
    )
    known, rest = task.parse_known_args(argv)
    if known.task == "segmentation":
        return retrain_segmentation(rest)
    argv = rest
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--strategy", default="diversity")
    parser.add_argument("--mc-passes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=TrainConfig().num_threads)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA when present)"
    )
    args = parser.parse_args(argv)

    clock = Clock(args.threads)
    stage = clock.stage
    import torch

    print(f"device {args.device or ('cuda' if torch.cuda.is_available() else 'cpu')}", flush=True)
    t = time.monotonic()
    with np.load(args.dataset) as d:
        x = load_images(d)
        y = {s: d[f"{s}_labels"].reshape(-1).astype(np.int64) for s in SPLITS}
    class_names = ["normal", "pneumonia"]
    pool = len(y["train"])
    t = stage("load", t)

    spec = replace(
        ModelSpec(), input_mean=float(x["train"].mean()), input_std=float(x["train"].std())
    )
    config = replace(TrainConfig(), seed=args.seed, num_threads=args.threads, device=args.device)
    result = train_classifier(
        build_model(spec, seed=args.seed),
        x["train"],
        y["train"],
        x["val"],
        y["val"],
        config,
        on_epoch=lambda r: print(
            f"  epoch {r.epoch:2d}/{r.epochs}: train loss {r.train_loss:.3f}, val loss "
            f"{r.val_loss:.3f}, val AUC {r.val_auc:.4f}, {r.seconds:.1f} s",
            flush=True,
        ),
    )
    train_end = stage("train", t)

    temperature = calibrate_model(result.model, x["val"], y["val"], config.augment)
    t = stage("calibrate", train_end)
    test = predict(result.model, x["test"], with_embeddings=False, device=args.device)
    metrics = evaluate(test.logits, y["test"], class_names, temperature=temperature)
    t = stage("evaluate", t)
    with tempfile.TemporaryDirectory() as tmp:
        sha = save_model(
            Path(tmp) / "model.pt", result.model, temperature=temperature, class_names=class_names
        )
    t = stage("checkpoint", t)
    score_start = t
    out = predict(
        result.model,
        x["train"],
        temperature=temperature,
        mc_passes=args.mc_passes,
        seed=args.seed,
        device=args.device,
    )
    strategy = get_strategy(args.strategy)
    scores = strategy.score(
        PoolData(out.probabilities, out.embeddings, out.mc_probabilities),
        np.random.default_rng(args.seed),
    )
    assert scores.shape == (pool,)
    stage("score", score_start)
    lo, hi = metrics["auc_ci"]
    print(
        f"model: test AUC {metrics['auc']:.4f} (95% CI {lo:.4f}-{hi:.4f}), accuracy "
        f"{metrics['accuracy']:.3f}, ECE {metrics['ece_before']:.4f} -> {metrics['ece_after']:.4f} "
        f"(T={temperature:.2f}), best epoch {result.best_epoch}/{len(result.history)}, "
        f"checkpoint {sha[:12]}"
    )
    print(clock.last_line(pool))
    return 0


def retrain_segmentation(argv: list[str]) -> int:
    from ml_worker.epoch_loop import WARM_EPOCHS, warm_schedule
    from ml_worker.segmentation.checkpoint import load_segmenter, save_segmenter
    from ml_worker.segmentation.inference import predict_segmentation
    from ml_worker.segmentation.network import build_segmenter
    from ml_worker.segmentation.pipeline import (
        evaluate_model,
        labels_at_native,
        score_pool_with_predictions,
        spec_for,
        suggestion_payloads,
    )
    from ml_worker.segmentation.training import SegTrainConfig, train_segmenter

    parser = argparse.ArgumentParser(description="retrain.py --task segmentation")
    parser.add_argument("--dataset", type=Path, default=SEG_DATASET)
    parser.add_argument("--strategy", default="seg_budget_aware")
    parser.add_argument("--threads", type=int, default=SegTrainConfig().num_threads)
    parser.add_argument("--max-epochs", type=int, default=None, help="default: the product's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cold", action="store_true", help="time a run from scratch")
    parser.add_argument("--warm-epochs", type=int, default=WARM_EPOCHS)
    parser.add_argument(
        "--previous-epochs", type=int, default=None, help="the earlier model's (default: product)"
    )
    parser.add_argument("--new-share", type=float, default=0.1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "radloop-bench")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1 or not 0 <= args.new_share < 1:
        parser.error("--scale in (0, 1], --new-share in [0, 1)")

    clock = Clock(args.threads)
    stage = clock.stage
    t = time.monotonic()
    with np.load(args.dataset) as d:
        x = load_images(d)
        y = {s: d[f"{s}_masks"].astype(np.int64) for s in SPLITS}
        class_names = [str(c) for c in d["class_names"]]
    for s in SPLITS:
        keep = max(1, round(len(x[s]) * args.scale))
        x[s], y[s] = x[s][:keep], y[s][:keep]
    pool_images = np.concatenate([x["train"], x["val"]])
    pool = len(pool_images)
    t = stage("load", t)

    config = replace(SegTrainConfig(), seed=args.seed, num_threads=args.threads)
    if args.max_epochs:
        config = replace(config, max_epochs=args.max_epochs)
    spec = spec_for(x["train"], len(class_names))
    previous_dice = None
    if args.cold:
        model = build_segmenter(spec, seed=args.seed)
    else:
        checkpoint, previous_dice = _previous_model(args, x, y, class_names, config, t)
        clock.start += time.monotonic() - t  # the earlier round is not part of this retrain
        t = time.monotonic()
        model = load_segmenter(checkpoint).model
        config = warm_schedule(config, args.warm_epochs)
    result = train_segmenter(
        model,
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
    scores, predicted = score_pool_with_predictions(
        result.model,
        pool_images,
        args.strategy,
        temperature=temperature,
        labeled_counts=labelled_counts,
        seed=args.seed,
    )
    assert scores.shape == (pool,)
    suggested = 0
    for begin in range(0, pool, SUGGESTION_BATCH):  # as ml_worker.jobs.seg_score
        chunk = pool_images[begin : begin + SUGGESTION_BATCH]
        probabilities = (
            predicted.probabilities[begin : begin + len(chunk)]
            if predicted is not None
            else predict_segmentation(result.model, chunk, temperature=temperature).probabilities
        )
        for p in probabilities:
            labels = labels_at_native(p, *p.shape[-2:])
            suggested += bool(suggestion_payloads(labels, class_names))
    stage("score", score_start)
    print(
        f"model: test Dice {report['dice']:.4f}, best epoch {result.best_epoch}/"
        f"{len(result.history)}, T={temperature:.2f}, checkpoint {sha[:12]}; "
        f"{suggested}/{pool} pool images got a non-empty suggested mask"
    )
    earlier = "" if previous_dice is None else f" previous_dice={previous_dice:.4f}"
    print(f"start={'cold' if args.cold else 'warm'}{earlier} test_dice={report['dice']:.4f}")
    print(clock.last_line(pool))
    return 0


def _previous_model(
    args: argparse.Namespace,
    x: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    class_names: list[str],
    config: Any,
    since: float,
) -> tuple[Path, float]:
    """The earlier round's model (the product's recipe on the training split less its newest
    `new_share`), from the cache or trained now (untimed); its checkpoint and test Dice."""
    from ml_worker.segmentation.checkpoint import save_segmenter
    from ml_worker.segmentation.network import build_segmenter
    from ml_worker.segmentation.pipeline import evaluate_model, spec_for
    from ml_worker.segmentation.training import train_segmenter

    if args.previous_epochs:
        config = replace(config, max_epochs=args.previous_epochs)
    stat = args.dataset.stat()
    key = json.dumps(
        [str(args.dataset.resolve()), stat.st_size, stat.st_mtime, args.scale, args.new_share,
         args.seed, config.max_epochs, len(x["train"])]
    )  # fmt: skip
    name = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = args.cache / f"retrain-seg-previous-{name}.pt"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        print(f"earlier model from the cache: {path}")
        return path, float(json.loads(meta.read_text())["test_dice"])
    earlier = len(x["train"]) - round(len(x["train"]) * args.new_share)
    print(f"training the earlier model (untimed): {earlier} images, {config.max_epochs} epochs")
    spec = spec_for(x["train"][:earlier], len(class_names))
    result = train_segmenter(
        build_segmenter(spec, seed=args.seed),
        x["train"][:earlier],
        y["train"][:earlier],
        x["val"],
        y["val"],
        config,
    )
    temperature, report = evaluate_model(
        result.model, x["val"], y["val"], x["test"], y["test"], class_names
    )
    args.cache.mkdir(parents=True, exist_ok=True)
    save_segmenter(path, result.model, temperature=temperature, class_names=class_names)
    meta.write_text(json.dumps({"test_dice": report["dice"], "seconds": time.monotonic() - since}))
    return path, float(report["dice"])


if __name__ == "__main__":
    raise SystemExit(main())

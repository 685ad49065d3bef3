"""Retrain + rescore: the worker's whole loop on the 4,708-image PneumoniaMNIST pool, on CPU.

Stages, each timed: load (npz -> float arrays), train (the product's default `ModelSpec()` and
`TrainConfig()`: small CNN, augmentation, class-weighted loss, early stopping on val), calibrate
(temperature on val), evaluate (test split, the report stored with a model version), checkpoint
(atomic write + sha256), score (probabilities, embeddings and MC-dropout samples for every pool
image, then the default strategy's scores). Target: total < 60 s on 2 cores.

Last line (machine-readable): `train_s=X score_s=Y total_s=Z pool=N`.

`--task segmentation` runs the segmentation project's loop instead (bench/retrain_segmentation.py:
U-Net on BUS-BRA at 128 px, 1,500-image pool, target < 3 minutes), with the same last line.
"""

from __future__ import annotations

import os

# Passive OpenMP waiting: on a shared 2-core box, spinning threads of one job steal the cores the
# other thread needs (measured 3x slower steps under load; docs/learning.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    task = argparse.ArgumentParser(add_help=False)
    task.add_argument(
        "--task", choices=["classification", "segmentation"], default="classification"
    )
    known, rest = task.parse_known_args(argv)
    if known.task == "segmentation":
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "retrain_segmentation", REPO / "bench" / "retrain_segmentation.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        code: int = module.main(rest)
        return code
    argv = rest
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--strategy", default="diversity")
    parser.add_argument("--mc-passes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=TrainConfig().num_threads)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

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
        y = {s: d[f"{s}_labels"].reshape(-1).astype(np.int64) for s in ("train", "val", "test")}
    class_names = ["normal", "pneumonia"]
    pool = len(y["train"])
    t = stage("load", t)

    spec = replace(
        ModelSpec(), input_mean=float(x["train"].mean()), input_std=float(x["train"].std())
    )
    config = replace(TrainConfig(), seed=args.seed, num_threads=args.threads)
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
    test = predict(result.model, x["test"], with_embeddings=False)
    metrics = evaluate(test.logits, y["test"], class_names, temperature=temperature)
    t = stage("evaluate", t)
    with tempfile.TemporaryDirectory() as tmp:
        sha = save_model(
            Path(tmp) / "model.pt", result.model, temperature=temperature, class_names=class_names
        )
    t = stage("checkpoint", t)
    score_start = t
    out = predict(
        result.model, x["train"], temperature=temperature, mc_passes=args.mc_passes, seed=args.seed
    )
    strategy = get_strategy(args.strategy)
    scores = strategy.score(
        PoolData(out.probabilities, out.embeddings, out.mc_probabilities),
        np.random.default_rng(args.seed),
    )
    assert scores.shape == (pool,)
    stage("score", score_start)
    total = time.monotonic() - start
    lo, hi = metrics["auc_ci"]
    print(
        f"model: test AUC {metrics['auc']:.4f} (95% CI {lo:.4f}-{hi:.4f}), accuracy "
        f"{metrics['accuracy']:.3f}, ECE {metrics['ece_before']:.4f} -> {metrics['ece_after']:.4f} "
        f"(T={temperature:.2f}), best epoch {result.best_epoch}/{len(result.history)}, "
        f"checkpoint {sha[:12]}"
    )
    train_s, score_s = stages["train"], stages["score"]
    print(f"train_s={train_s:.1f} score_s={score_s:.1f} total_s={total:.1f} pool={pool}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

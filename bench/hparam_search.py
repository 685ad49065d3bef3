"""Hyperparameter search benchmark: does the product's search beat the default recipe on
PneumoniaMNIST, and what does it cost?

The product's own code throughout: `ml_worker.hparam_search.run_search` (Optuna TPE over learning
rate, epochs, weight decay and augmentation strength, each trial a `train_classifier` run scored
by `validation_auc` on the validation split only, bounded by a trial count and a time budget),
then, as the search job does, the best trial's settings retrained with the same seed and measured
once on the test split. The default is `TrainConfig()` with the same seed, measured the same way.

Usage: python bench/hparam_search.py [--dataset PATH.npz] [--trials 6] [--time-budget-s 1200]
       [--max-epochs 20] [--pool N] [--seed 0] [--out DIR]
Last line: `default_auc=A searched_auc=B trials=N total_s=X`.
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

from ml_worker.calibration import softmax  # noqa: E402
from ml_worker.evaluation import roc_auc  # noqa: E402
from ml_worker.hparam_search import (  # noqa: E402
    SearchSpace,
    run_search,
    trial_config,
    validation_auc,
)
from ml_worker.inference import predict  # noqa: E402
from ml_worker.models import ModelSpec, build_model  # noqa: E402
from ml_worker.training import TrainConfig, train_classifier  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared/data/classification/pneumoniamnist/pneumoniamnist.npz"


def load(path: Path, pool: int | None, seed: int) -> dict[str, np.ndarray]:
    with np.load(path) as d:
        data = {k: d[k] for k in d.files}
    out = {}
    for split in ("train", "val", "test"):
        x = data[f"{split}_images"].astype(np.float32)[:, None] / 255.0
        out[f"{split}_x"], out[f"{split}_y"] = x, data[f"{split}_labels"].reshape(-1).astype(int)
    if pool is not None and pool < len(out["train_y"]):
        keep = np.sort(np.random.default_rng(seed).choice(len(out["train_y"]), pool, False))
        out["train_x"], out["train_y"] = out["train_x"][keep], out["train_y"][keep]
    return out


def train(data: dict[str, np.ndarray], config: TrainConfig, stop: Any = None) -> Any:
    x = data["train_x"]
    spec = replace(
        ModelSpec(),
        num_classes=2,
        input_size=x.shape[-1],
        input_mean=float(x.mean()),
        input_std=float(x.std()),
    )
    model = build_model(spec, seed=config.seed)
    return train_classifier(
        model, x, data["train_y"], data["val_x"], data["val_y"], config, should_stop=stop
    ).model


def test_auc(model: Any, data: dict[str, np.ndarray]) -> float:
    logits = predict(model, data["test_x"], with_embeddings=False).logits
    return roc_auc(softmax(logits), data["test_y"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--time-budget-s", type=float, default=1200)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--pool", type=int, default=None, help="training images (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "hparam_search")
    args = parser.parse_args()

    started = time.monotonic()
    data = load(args.dataset, args.pool, args.seed)
    base = replace(TrainConfig(), seed=args.seed, num_threads=args.threads)
    print(
        f"dataset {args.dataset.name}: train {len(data['train_y'])}, val {len(data['val_y'])}, "
        f"test {len(data['test_y'])}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    t0 = time.monotonic()
    default_auc = test_auc(train(data, base), data)
    default_s = time.monotonic() - t0
    print(f"default recipe: test AUC {default_auc:.4f} ({default_s:.0f} s)", flush=True)

    def objective(params: dict[str, Any], stop: Any) -> float:
        return validation_auc(
            train(data, trial_config(base, params), stop), data["val_x"], data["val_y"]
        )

    def on_trial(outcome: Any) -> None:
        t = outcome.trials[-1]
        auc = "n/a" if t.val_auc is None else f"{t.val_auc:.4f}"
        print(
            f"  trial {t.number}: {t.params} -> val AUC {auc} ({t.state}, {t.seconds:.0f} s)",
            flush=True,
        )

    t0 = time.monotonic()
    outcome = run_search(
        objective,
        trials=args.trials,
        time_budget_s=args.time_budget_s,
        seed=args.seed,
        space=SearchSpace(max_epochs=(min(5, args.max_epochs), args.max_epochs)),
        on_trial=on_trial,
    )
    search_s = time.monotonic() - t0
    best = outcome.best
    if best is None:
        raise SystemExit("no trial finished within the time budget")
    t0 = time.monotonic()
    searched_auc = test_auc(train(data, trial_config(base, best.params)), data)
    final_s = time.monotonic() - t0
    total_s = time.monotonic() - started
    print(
        f"best trial {best.number}: {best.params} (val AUC {best.val_auc:.4f}); retrained: test "
        f"AUC {searched_auc:.4f} ({final_s:.0f} s); search {search_s:.0f} s; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(
        json.dumps(
            {
                "dataset": str(args.dataset),
                "train_size": len(data["train_y"]),
                "default_auc": default_auc,
                "default_seconds": default_s,
                "searched_auc": searched_auc,
                "best": best.to_dict(),
                "trials": [t.to_dict() for t in outcome.trials],
                "search_seconds": search_s,
                "final_seconds": final_s,
                "total_seconds": total_s,
            },
            indent=2,
        )
    )
    print(
        f"default_auc={default_auc:.4f} searched_auc={searched_auc:.4f} "
        f"trials={len(outcome.trials)} total_s={total_s:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

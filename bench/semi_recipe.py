"""Which semi-supervised recipe (decision 0420): supervised only vs FixMatch vs pseudo-labels.

A small measurement on a MedMNIST-format npz: `--labels` random labelled pool images (seeded),
the rest of the train split as the unlabelled pool, the official val split (a seeded 300-image
subset) for early stopping and temperature, test AUC reported. Torch single-threaded.

Usage: python bench/semi_recipe.py [--dataset PATH] [--labels 100] [--seeds 0,1]
       [--methods none,fixmatch,pseudo_label] [--min-steps 300] [--threshold 0.95]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO)]

from bench.active_learning import DEFAULT_DATASET, default_recipe, prepare_data  # noqa: E402
from ml_worker.evaluation import roc_auc  # noqa: E402
from ml_worker.inference import predict  # noqa: E402
from ml_worker.models import build_model  # noqa: E402
from ml_worker.training import SemiConfig, train_classifier  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--methods", default="none,fixmatch,pseudo_label")
    parser.add_argument("--min-steps", type=int, default=300)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--max-unlabeled", type=int, default=5000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    data = prepare_data(args.dataset, quick=True)
    recipe = default_recipe(data)
    print(
        f"{args.dataset.name}: pool {len(data.train_y)}, labels {args.labels}, "
        f"min_steps {args.min_steps}, threshold {args.threshold}",
        flush=True,
    )
    results: dict[str, list[float]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        rng = np.random.default_rng(1000 + seed)
        labeled = np.sort(rng.choice(len(data.train_y), size=args.labels, replace=False))
        rest = np.setdiff1d(np.arange(len(data.train_y)), labeled)[: args.max_unlabeled]
        for method in args.methods.split(","):
            semi = (
                None
                if method == "none"
                else SemiConfig(method=method, threshold=args.threshold, min_steps=args.min_steps)
            )
            # Supervised with the same step count, so the comparison is not about steps.
            config = replace(recipe.train, seed=seed, semi=semi, min_steps=args.min_steps)
            started = time.monotonic()
            result = train_classifier(
                build_model(recipe.spec, seed=seed),
                data.train_x[labeled],
                data.train_y[labeled],
                data.val_x,
                data.val_y,
                config,
                unlabeled_images=data.train_x[rest] if semi is not None else None,
            )
            test = predict(result.model, data.test_x, with_embeddings=False)
            auc = roc_auc(test.probabilities, data.test_y)
            results.setdefault(method, []).append(auc)
            accepted = result.unlabeled_accepted
            print(
                f"seed {seed} {method:12} test AUC {auc:.4f} accepted "
                f"{'-' if accepted is None else f'{accepted:.2f}'} "
                f"epochs {len(result.history)} {time.monotonic() - started:.0f} s",
                flush=True,
            )
    for method, aucs in results.items():
        print(f"{method:12} mean test AUC {np.mean(aucs):.4f} over {len(aucs)} seeds", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How much does one round of the detection bench move with the training seed alone?

Trains detectors on one fixed random labelled set per budget (the pool indices
`default_rng(1000).choice(pool, budget)`, the bench's seed-0 draw) with training seeds 0..R-1 and
prints the test FROC of each and their spread: the noise a single detector per round carries
(decision 0365). Settings are bench/detection_learning.py's (`--quick` and the size options).

Usage: python bench/detection_round_noise.py --quick --val-size 194 --test-size 375
       [--budgets 40,160] [--repeats 4]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench/active_learning.py

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from bench import detection_learning as bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=bench.DEFAULT_DATASET)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--pool-size", type=int, default=None)
    parser.add_argument("--val-size", type=int, default=None)
    parser.add_argument("--test-size", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--samples-per-epoch", type=int, default=None)
    parser.add_argument(
        "--short-schedule", action="store_true", help="--quick's schedule before decision 0431"
    )
    parser.add_argument("--budgets", default="40,160")
    parser.add_argument("--repeats", type=int, default=4, help="training seeds per budget")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    settings = bench.default_settings(
        argparse.Namespace(**{**vars(args), "budgets": None, "train_repeats": 1})
    )
    bench.init(str(args.dataset), settings)
    pool = bench.pool_size()
    for budget in (int(b) for b in args.budgets.split(",")):
        labeled = np.sort(np.random.default_rng(1000).choice(pool, size=budget, replace=False))
        values = []
        for seed in range(args.repeats):
            started = time.monotonic()
            _, result = bench.train_and_measure(labeled, seed)
            values.append(result.value)
            print(f"labels {budget} train seed {seed}: froc {result.value:.4f} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)  # fmt: skip
        print(f"labels {budget}: mean {np.mean(values):.4f} sd {np.std(values, ddof=1):.4f} "
              f"range {min(values):.4f}-{max(values):.4f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

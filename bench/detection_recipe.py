"""Full-data figures of the default detection recipe: one training run on the whole train split
(val for early stopping) of an npz in the standard layout, then test FROC at the product's hit
criterion (IoU >= 0.3) and at IoU >= 0.5, as stored with a model version (`froc`, `froc_iou50`).

The product's own code throughout (`spec_for`, `build_detector`, `train_detector`,
`predict_boxes`, `froc`), as `bench/detection_learning.py`'s full-data reference round. Nothing
is keyed to a dataset. `--spec`/`--set` override a DetSpec / DetTrainConfig field for an
experiment (never the product's default: the last line then says `overrides=...`).

Usage: python bench/detection_recipe.py [--dataset PATH.npz] [--size 128] [--seed 0]
       [--pool N] [--max-epochs E] [--fit-anchors] [--spec key=value ...] [--set key=value ...]
Last line: `froc_mean=F sens_at_1fp=S froc_mean_iou50=F5 sens_at_1fp_iou50=S5 best_epoch=E
epochs=N load=L train_s=T overrides=...`
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import ast
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from bench.detection_learning import DEFAULT_DATASET, Settings, load_npz  # noqa: E402
from ml_worker.detection.inference import predict_boxes  # noqa: E402
from ml_worker.detection.metrics import froc  # noqa: E402
from ml_worker.detection.network import build_detector  # noqa: E402
from ml_worker.detection.pipeline import spec_for  # noqa: E402
from ml_worker.detection.training import DetTrainConfig, train_detector  # noqa: E402


def _pairs(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, raw = item.partition("=")
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pool", type=int, default=None, help="seeded subset of train")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument(
        "--fit-anchors", action="store_true", help="anchors fitted to the training boxes (0362)"
    )
    parser.add_argument("--spec", nargs="*", default=[], help="DetSpec overrides key=value")
    parser.add_argument("--set", nargs="*", default=[], help="DetTrainConfig overrides key=value")
    args = parser.parse_args(argv)

    started = time.monotonic()
    cfg = replace(DetTrainConfig(), num_threads=args.threads, seed=args.seed, **_pairs(args.set))
    if args.max_epochs:
        cfg = replace(cfg, max_epochs=args.max_epochs)
    data = load_npz(args.dataset, Settings(args.size, args.pool, None, None, cfg, None))
    boxes = data.train_y if args.fit_anchors else None
    spec = spec_for(data.train_x, len(data.class_names), boxes, **_pairs(args.spec))
    print(f"spec {spec.to_dict()}", flush=True)
    result = train_detector(
        build_detector(spec, seed=args.seed),
        data.train_x,
        data.train_y,
        data.val_x,
        data.val_y,
        cfg,
        on_epoch=lambda r: print(
            f"epoch {r.epoch:3d} loss {r.train_loss:.4f} val_froc {r.val_froc} {r.seconds:.0f}s",
            flush=True,
        ),
    )
    predicted = predict_boxes(result.model, data.test_x)
    at30 = froc(predicted.boxes, predicted.scores, data.test_y)
    at50 = froc(predicted.boxes, predicted.scores, data.test_y, iou=0.5)
    print(f"froc iou0.3 {at30}\nfroc iou0.5 {at50}")
    overrides = " ".join([*(["fit_anchors"] if args.fit_anchors else []), *args.spec, *args.set])
    overrides = overrides or "none"
    print(
        f"froc_mean={np.mean(list(at30.values())):.4f} sens_at_1fp={at30['1']:.4f} "
        f"froc_mean_iou50={np.mean(list(at50.values())):.4f} sens_at_1fp_iou50={at50['1']:.4f} "
        f"best_epoch={result.best_epoch} epochs={len(result.history)} "
        f"load={os.getloadavg()[0]:.2f} train_s={result.seconds:.0f} "
        f"total_s={time.monotonic() - started:.0f} overrides={overrides.replace(' ', ',')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

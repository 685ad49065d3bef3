"""Which self-supervised method gives the better frozen encoder? (decision 0410)

Pretrains the chosen registry network on a MedMNIST-format pool (train images, labels unused),
then measures the frozen encoder: kNN (k=20, cosine) and logistic-regression linear-probe
accuracy and AUC on the validation split, fitted on `--probe-labels` training labels. A randomly
initialised network of the same seed is the floor. Any MedMNIST-format npz runs unchanged.

    OMP_NUM_THREADS=1 python bench/pretrain_probe.py --npz .../pneumoniamnist.npz \
        --images 2000 --epochs 10 --methods random simclr simsiam
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ itself must not be an import root: a bench/queue.py would shadow the stdlib `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ml_worker.models import ModelSpec  # noqa: E402
from ml_worker.pretraining import PretrainConfig, encoder_embeddings, pretrain_encoder  # noqa: E402
from ml_worker.pretraining.probe import knn_accuracy, linear_probe  # noqa: E402


def load(npz: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(npz)
    images = data[f"{split}_images"].astype(np.float32) / 255.0
    if images.ndim == 4 and images.shape[-1] in (1, 3):
        images = images.mean(axis=-1)  # channels-last RGB -> grey, as the loop's preprocessing
    return images, data[f"{split}_labels"].reshape(len(images), -1)[:, 0].astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--npz", type=Path, required=True)
    parser.add_argument("--architecture", default="small_cnn")
    parser.add_argument("--images", type=int, default=2000, help="pool images to pretrain on")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--probe-labels", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=["random", "simclr", "simsiam"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    pool, pool_labels = load(args.npz, "train")
    val, val_labels = load(args.npz, "val")
    rng = np.random.default_rng(args.seed)
    pool_index = rng.permutation(len(pool))[: args.images]
    probe_index = rng.permutation(len(pool))[: args.probe_labels]
    classes = int(max(pool_labels.max(), val_labels.max())) + 1
    spec = ModelSpec(architecture=args.architecture, num_classes=max(2, classes))
    print(
        f"data {args.npz.name} pool {len(pool_index)} probe labels {len(probe_index)} "
        f"val {len(val)} arch {args.architecture} epochs {args.epochs} seed {args.seed} "
        f"torch {torch.__version__} threads {torch.get_num_threads()} "
        f"load {os.getloadavg()[0]:.2f}"
    )
    for method in args.methods:
        start = time.monotonic()
        if method == "random":
            from ml_worker.models import build_model
            from ml_worker.pretraining.contrastive import encoder_state

            state = encoder_state(build_model(spec, seed=args.seed))
        else:
            state = pretrain_encoder(
                pool[pool_index],
                spec,
                seed=args.seed,
                epochs=args.epochs,
                device="cpu",
                config=PretrainConfig(method=method),
            )
        seconds = time.monotonic() - start
        train_emb = encoder_embeddings(pool[probe_index], spec, state)
        val_emb = encoder_embeddings(val, spec, state)
        knn = knn_accuracy(train_emb, pool_labels[probe_index], val_emb, val_labels)
        acc, auc = linear_probe(train_emb, pool_labels[probe_index], val_emb, val_labels)
        print(
            f"{method:8s} knn_acc {knn:.3f} probe_acc {acc:.3f} probe_auc {auc:.3f} "
            f"pretrain_s {seconds:.0f} load {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()

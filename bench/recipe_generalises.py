"""Does the default recipe generalise? Full-data test AUC of the product's default classification
recipe on several MedMNIST-format files, side by side with MedMNIST v2's published ResNet-18
(28 px) test AUC for each (Yang et al., Scientific Data 10:41, 2023, the 2D benchmark table).

The product's own code throughout, as `bench/retrain.py`: `ModelSpec()` (small CNN) at the file's
image size with the training set's mean/std, `TrainConfig()` with the seed, `train_classifier` on
the whole train split with the val split for early stopping, then `predict` on the test split
(`TrainConfig.tta_flips` decides test-time flip averaging there, as in the worker). Nothing is
keyed to a dataset: the same defaults run on every file.

The published figure is looked up by the file's `medmnist_reference` entry (the builder of a
sibling file names the MedMNIST set it resembles, e.g. `bench/make_busbra_medmnist_npz.py` ->
"breastmnist": BUS-BRA is *not* BreastMNIST's source, BUSI; the comparison is against a sibling)
or else by the file's stem; `--published NAME=AUC` adds or overrides one.

The published figure is another dataset's whenever the file is not MedMNIST's own, so each file
also gets a same-source reference arm (decision 0386): MedMNIST v2's own ResNet-18 (28) protocol
(`ml_worker.medmnist_reference`: CIFAR-style ResNet-18, Adam 1e-3, batch 128, 100 epochs, lr x0.1
at epochs 50 and 75, no augmentation, the best validation-AUC epoch) trained on the same file's
splits with the same seeds. `--reference-epochs E` shortens it (milestones at 50 % and 75 % of E;
a full 100-epoch run is hours per file on one CPU thread); `--arms default` or `--arms reference`
runs one arm only (the other prints nan).

Usage: python bench/recipe_generalises.py --datasets A.npz B.npz [--seeds 0,1,2] [--threads 1]
       [--pool N] [--max-epochs E] [--set key=value ...] [--reference-epochs E]
       [--arms default,reference]
`--pool`/`--max-epochs` shrink a run (tests); `--set` overrides a TrainConfig field for an
experiment (never the product's default: the last line then says `overrides=...`).
Last line: `<name>_auc=A <name>_published_auc=P <name>_reference_auc=R ... seeds=S load=L
total_s=X` (one triple per file, in order; mean test AUC over the seeds; `published_auc=nan` when
none is known; `reference_auc` is the reproduced protocol's, its validation-selected epoch).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import ast
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from ml_worker.augment import AugmentConfig  # noqa: E402
from ml_worker.calibration import softmax  # noqa: E402
from ml_worker.evaluation import roc_auc  # noqa: E402
from ml_worker.inference import predict  # noqa: E402
from ml_worker.medmnist_reference import (  # noqa: E402
    ReferenceProtocol,
    reference_probs,
    train_reference,
)
from ml_worker.models import ModelSpec, build_model  # noqa: E402
from ml_worker.training import TrainConfig, train_classifier  # noqa: E402

# MedMNIST v2 (Yang et al. 2023), 2D benchmark table, ResNet-18 (28) test AUC. Only the sets a
# bench here has compared against; --published adds others.
PUBLISHED_RESNET18_28_AUC = {"pneumoniamnist": 0.944, "breastmnist": 0.901}
SPLITS = ("train", "val", "test")


def load(path: Path, pool: int | None, seed: int) -> tuple[dict[str, np.ndarray], str]:
    """(N, 1, H, W) float32 in [0, 1] and integer labels per split; the published-figure key."""
    with np.load(path) as d:
        data: dict[str, np.ndarray] = {}
        for split in SPLITS:
            images = d[f"{split}_images"]
            if images.ndim != 3:
                raise SystemExit(f"{path}: {split}_images must be (N, H, W) grayscale")
            data[f"{split}_x"] = (images.astype(np.float32) / 255.0)[:, None]
            labels = d[f"{split}_labels"]
            if labels.ndim == 2 and labels.shape[1] != 1:
                raise SystemExit(f"{path}: multi-label files are not what this bench compares")
            data[f"{split}_y"] = labels.reshape(-1).astype(np.int64)
        reference = str(d["medmnist_reference"]) if "medmnist_reference" in d.files else path.stem
    if pool is not None:
        rng = np.random.default_rng(seed)
        for split in SPLITS:
            n = len(data[f"{split}_y"])
            if pool < n:
                keep = np.sort(rng.choice(n, pool, replace=False))
                data[f"{split}_x"], data[f"{split}_y"] = (
                    data[f"{split}_x"][keep],
                    data[f"{split}_y"][keep],
                )
    return data, reference.lower()


def run_once(
    data: dict[str, np.ndarray], config: TrainConfig, spec_overrides: dict[str, Any] | None = None
) -> tuple[float, Any]:
    x = data["train_x"]
    spec = replace(
        ModelSpec(**(spec_overrides or {})),
        num_classes=int(max(data["train_y"].max(), data["test_y"].max()) + 1),
        input_size=x.shape[-1],
        input_mean=float(x.mean()),
        input_std=float(x.std()),
    )
    result = train_classifier(
        build_model(spec, seed=config.seed),
        x,
        data["train_y"],
        data["val_x"],
        data["val_y"],
        config,
    )
    logits = predict(result.model, data["test_x"], with_embeddings=False).logits
    probs = softmax(logits)
    return roc_auc(probs, data["test_y"]), result


def run_reference(data: dict[str, np.ndarray], protocol: ReferenceProtocol) -> dict[str, float]:
    """The reproduced MedMNIST protocol on the file's splits: test AUC and accuracy of the
    validation-selected epoch, and the last epoch's test AUC (what the published script tests)."""

    def progress(epoch: int, val_auc: float, seconds: float) -> None:
        print(f"  reference epoch {epoch}/{protocol.epochs}: val AUC {val_auc:.4f}, "
              f"{seconds:.0f} s", flush=True)  # fmt: skip

    result = train_reference(
        data["train_x"], data["train_y"], data["val_x"], data["val_y"], protocol,
        on_epoch=progress,
    )  # fmt: skip
    probs = reference_probs(result.model, data["test_x"], device=protocol.device)
    last = reference_probs(result.last_model, data["test_x"], device=protocol.device)
    return {
        "auc": roc_auc(probs, data["test_y"]),
        "acc": float((probs.argmax(1) == data["test_y"]).mean()),
        "last_auc": roc_auc(last, data["test_y"]),
        "best_epoch": float(result.best_epoch),
        "epoch_s": result.seconds / protocol.epochs,
    }


def parse_overrides(items: list[str], kind: Any = TrainConfig) -> dict[str, Any]:
    known = {f.name for f in fields(kind)}
    out: dict[str, Any] = {}
    augment: dict[str, Any] = {}
    for item in items:
        key, _, text = item.partition("=")
        if kind is TrainConfig and key.startswith("augment."):  # augment.flip_horizontal=True
            name = key.removeprefix("augment.")
            if name not in {f.name for f in fields(AugmentConfig)}:
                raise SystemExit(f"{key}: not an AugmentConfig field")
            augment[name] = ast.literal_eval(text)
            continue
        if key not in known:
            raise SystemExit(f"{key}: not a {kind.__name__} field ({sorted(known)})")
        try:
            out[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key] = text
    if augment:
        out["augment"] = replace(AugmentConfig(), **augment)
    return out


def parse_augment_items(items: list[str]) -> dict[str, Any]:
    return {
        k.removeprefix("augment."): v
        for k, _, v in (i.partition("=") for i in items)
        if k.startswith("augment.")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, nargs="+", required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pool", type=int, default=None, help="images per split (tests)")
    parser.add_argument("--max-epochs", type=int, default=None, help="shorter schedule (tests)")
    parser.add_argument("--published", nargs="*", default=[], help="NAME=AUC")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], help="key=value")
    parser.add_argument("--spec", nargs="*", default=[], help="ModelSpec key=value (experiments)")
    parser.add_argument(
        "--reference-epochs", type=int, default=ReferenceProtocol().epochs,
        help="epochs of the reproduced MedMNIST protocol (published: 100)",
    )  # fmt: skip
    parser.add_argument("--arms", default="default,reference", help="default,reference")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    published = dict(PUBLISHED_RESNET18_28_AUC)
    for item in args.published:
        name, _, value = item.partition("=")
        published[name.lower()] = float(value)
    overrides = parse_overrides(args.overrides)
    if args.max_epochs is not None:
        overrides["max_epochs"] = args.max_epochs
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = {a.strip() for a in args.arms.split(",") if a.strip()}
    if not arms or arms - {"default", "reference"}:
        raise SystemExit("--arms: a comma-separated subset of default,reference")
    started = time.monotonic()
    print(f"threads {args.threads}, load average {os.getloadavg()[0]:.1f}, seeds {seeds}, "
          f"overrides {overrides or 'none'}, arms {sorted(arms)}, reference epochs "
          f"{args.reference_epochs}", flush=True)  # fmt: skip
    parts: list[str] = []
    for path in args.datasets:
        name = path.stem.lower()
        aucs: list[float] = []
        reference_aucs: list[float] = []
        for seed in seeds:
            data, reference = load(path, args.pool, seed)
            sizes = (
                f"train {len(data['train_y'])} / val {len(data['val_y'])} / test "
                f"{len(data['test_y'])}"
            )
            if "default" in arms:
                config = replace(TrainConfig(), seed=seed, num_threads=args.threads, **overrides)
                auc, result = run_once(data, config, parse_overrides(args.spec, ModelSpec))
                aucs.append(auc)
                print(
                    f"{name}: seed {seed}: default recipe test AUC {auc:.4f}, {sizes}, best "
                    f"epoch {result.best_epoch}/{len(result.history)}, {result.seconds:.0f} s, "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            if "reference" in arms:
                protocol = ReferenceProtocol(
                    epochs=args.reference_epochs, seed=seed, num_threads=args.threads
                )
                ref_run = run_reference(data, protocol)
                reference_aucs.append(ref_run["auc"])
                print(
                    f"{name}: seed {seed}: MedMNIST ResNet-18 (28) protocol, "
                    f"{protocol.epochs} epochs (lr drops after {protocol.milestone_epochs()}): "
                    f"test AUC {ref_run['auc']:.4f} ACC {ref_run['acc']:.4f} (best val AUC "
                    f"epoch {ref_run['best_epoch']:.0f}; last epoch's test AUC "
                    f"{ref_run['last_auc']:.4f}), {sizes}, {ref_run['epoch_s']:.1f} s/epoch, "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        ref = published.get(reference, float("nan"))
        mean = float(np.mean(aucs)) if aucs else float("nan")
        ref_mean = float(np.mean(reference_aucs)) if reference_aucs else float("nan")
        sibling = "" if reference == name else f" (sibling: {reference})"
        low = f" (min {min(aucs):.4f})" if aucs else ""
        print(f"{name}: default recipe mean test AUC {mean:.4f}{low}; same-file MedMNIST "
              f"protocol {ref_mean:.4f} ({args.reference_epochs} epochs); published ResNet-18 "
              f"(28) {ref:.3f}{sibling}", flush=True)  # fmt: skip
        parts.append(
            f"{name}_auc={mean:.4f} {name}_published_auc={ref:.3f} "
            f"{name}_reference_auc={ref_mean:.4f}"
        )
    overrides.update(parse_overrides(args.spec, ModelSpec))
    shown = {k: v for k, v in overrides.items() if k != "augment"}
    if "augment" in overrides and overrides["augment"] is None:
        shown["augment"] = None  # `--set augment=None`: no augmentation at all
    elif "augment" in overrides:
        shown.update({f"augment.{k}": v for k, v in parse_augment_items(args.overrides).items()})
    extra = f" overrides={','.join(f'{k}:{v}' for k, v in shown.items())}" if shown else ""
    print(
        " ".join(parts) + f" seeds={len(seeds)} load={os.getloadavg()[0]:.1f} "
        f"total_s={time.monotonic() - started:.0f}{extra}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Contrastive (SimCLR, NT-Xent) and SimSiam pretraining of a registry network's backbone.

Two random views of each pool image are made with the project's batch augmentation
(ml_worker.augment, with wider ranges: contrastive learning needs views that differ in what a
label must not depend on) plus a little pixel noise; the backbone learns to map the two views of
one image close together. SimCLR pushes every other image of the batch away (Chen et al. 2020);
SimSiam only pulls, with a predictor and a stop-gradient (Chen & He 2021). Decision 0410 chose
SimCLR by a frozen-encoder kNN measurement on PneumoniaMNIST.

Deterministic on CPU for a fixed seed: initialisation, shuffling, augmentation and noise all draw
from generators seeded here, and the global torch RNG is left as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml_worker.augment import AugmentConfig, augment_batch
from ml_worker.models import Classifier, ModelSpec, build_model

METHODS = ("simclr", "simsiam")

# Wider than training's defaults (AugmentConfig()): random crops and intensity changes are the
# whole signal of contrastive learning on grey images (no colour to jitter). Flips stay off:
# chest films have a left and a right.
PRETRAIN_AUGMENT = AugmentConfig(
    rotation_deg=15.0,
    scale_range=(0.75, 1.25),
    crop_shift=0.15,
    gamma_range=(0.6, 1.6),
    contrast_range=(0.6, 1.4),
)


@dataclass(frozen=True)
class PretrainConfig:
    """The pretraining recipe. `epochs` passes over (at most `max_images` of) the pool."""

    method: str = "simclr"
    epochs: int = 15
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    temperature: float = 0.2  # NT-Xent
    projection_dim: int = 64
    noise_std: float = 0.03  # Gaussian pixel noise added to each view, on [0, 1] images
    max_images: int | None = 20_000  # a seeded sample of a larger pool, to bound the time
    augment: AugmentConfig = field(default_factory=lambda: PRETRAIN_AUGMENT)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown pretraining method {self.method!r}; known: {METHODS}")
        if self.epochs < 1 or self.batch_size < 4:
            raise ValueError("pretraining needs epochs >= 1 and batch_size >= 4")
        if self.temperature <= 0 or self.learning_rate <= 0:
            raise ValueError("temperature and learning_rate must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PretrainReport:
    """What a pretraining did: loss per epoch, images used, seconds."""

    method: str
    epochs: int
    images: int
    losses: list[float]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Cancelled(Exception):
    """`should_stop` answered True between two steps."""


def _projector(dim: int, out: int, layers: int) -> nn.Sequential:
    modules: list[nn.Module] = []
    width = dim
    for _ in range(layers - 1):
        modules += [nn.Linear(width, dim, bias=False), nn.BatchNorm1d(dim), nn.ReLU(inplace=True)]
    modules.append(nn.Linear(dim if layers > 1 else width, out))
    return nn.Sequential(*modules)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss: each view must pick its partner among the 2N - 1 other views."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = z @ z.T / temperature
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    similarity = similarity.masked_fill(eye, float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(similarity, targets)


def _negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return -F.cosine_similarity(p, z.detach(), dim=1).mean()


def _views(
    batch: torch.Tensor, config: PretrainConfig, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    def one() -> torch.Tensor:
        view = augment_batch(batch, config.augment, gen)
        if config.noise_std > 0:
            noise = torch.randn(view.shape, generator=gen) * config.noise_std
            view = (view + noise.to(view.device)).clamp(0.0, 1.0)
        return view

    return one(), one()


def _as_tensor(images: np.ndarray) -> torch.Tensor:
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise ValueError(f"expected (N, H, W) or (N, C, H, W) images, got {array.shape}")
    if array.size and (array.min() < 0.0 or array.max() > 1.0):
        raise ValueError("pretraining expects images scaled to [0, 1] (ml_worker.preprocess)")
    return torch.from_numpy(array)


def pretrain_model(
    images: np.ndarray,
    spec: ModelSpec,
    *,
    seed: int,
    config: PretrainConfig | None = None,
    device: torch.device | str = "cpu",
    on_epoch: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Classifier, PretrainReport]:
    """Pretrain `spec`'s network on `images` ((N, H, W) or (N, C, H, W), [0, 1]); returns the
    whole classifier (its head untouched: random) and a report. Raises Cancelled when
    `should_stop` says so."""
    cfg = config or PretrainConfig()
    data = _as_tensor(images)
    if len(data) < 2 * 4:
        raise ValueError(f"pretraining needs at least 8 images, got {len(data)}")
    gen = torch.Generator().manual_seed(seed)
    if cfg.max_images is not None and len(data) > cfg.max_images:
        keep = torch.randperm(len(data), generator=gen)[: cfg.max_images]
        data = data[keep.sort().values]
    mean, std = float(data.mean()), float(data.std()) or 1.0
    spec = replace(spec, input_mean=mean, input_std=std)
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(spec)
        dim = model.feature_dim
        if cfg.method == "simclr":
            projector = _projector(dim, cfg.projection_dim, layers=2)
            predictor: nn.Module | None = None
        else:
            projector = _projector(dim, dim, layers=3)
            predictor = _projector(dim, dim, layers=2)
    model.to(device)
    heads = nn.ModuleList([projector] + ([predictor] if predictor is not None else [])).to(device)
    parameters = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    optimiser = torch.optim.AdamW(
        parameters + list(heads.parameters()), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    batch_size = min(cfg.batch_size, len(data))
    steps_per_epoch = len(data) // batch_size  # drop the ragged last batch: BatchNorm needs > 1
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=max(1, cfg.epochs * steps_per_epoch)
    )
    losses: list[float] = []
    start = time.monotonic()
    model.train()
    heads.train()
    for epoch in range(cfg.epochs):
        order = torch.randperm(len(data), generator=gen)
        total = 0.0
        for step in range(steps_per_epoch):
            if should_stop is not None and should_stop():
                raise Cancelled(f"pretraining cancelled in epoch {epoch + 1}")
            batch = data[order[step * batch_size : (step + 1) * batch_size]].to(device)
            v1, v2 = _views(batch, cfg, gen)
            h = model.embed(torch.cat([v1, v2]))
            z = projector(h)
            z1, z2 = z[:batch_size], z[batch_size:]
            if predictor is None:
                loss = nt_xent(z1, z2, cfg.temperature)
            else:
                p = predictor(z)
                p1, p2 = p[:batch_size], p[batch_size:]
                loss = 0.5 * (_negative_cosine(p1, z2) + _negative_cosine(p2, z1))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
        losses.append(round(total / max(1, steps_per_epoch), 5))
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    model.eval()
    report = PretrainReport(
        method=cfg.method,
        epochs=cfg.epochs,
        images=len(data),
        losses=losses,
        seconds=round(time.monotonic() - start, 3),
    )
    return model.cpu(), report


def encoder_state(model: Classifier) -> dict[str, torch.Tensor]:
    """The encoder's tensors (input statistics and backbone), never the head: the supervised
    model's head has the project's classes and starts fresh."""
    return {
        name: tensor.detach().cpu().clone()
        for name, tensor in model.state_dict().items()
        if not name.startswith("head.")
    }


def pretrain_encoder(
    images: np.ndarray,
    spec: ModelSpec,
    *,
    seed: int,
    epochs: int,
    device: torch.device | str = "cpu",
    config: PretrainConfig | None = None,
) -> dict[str, torch.Tensor]:
    """The benchmark's entry point: pretrain and return the encoder state dict (head excluded),
    loadable with `load_pretrained` or `model.load_state_dict(state, strict=False)`."""
    cfg = replace(config or PretrainConfig(), epochs=epochs)
    model, _ = pretrain_model(images, spec, seed=seed, config=cfg, device=device)
    return encoder_state(model)


@torch.no_grad()
def encoder_embeddings(
    images: np.ndarray, spec: ModelSpec, state: dict[str, torch.Tensor], batch_size: int = 512
) -> np.ndarray:
    """(N, D) backbone features of `images` under an encoder state (eval mode, CPU)."""
    model = build_model(spec, seed=0)
    missing = model.load_state_dict(state, strict=False).missing_keys
    if any(not name.startswith("head.") for name in missing):
        raise ValueError(f"the encoder state lacks {[n for n in missing if 'head.' not in n]}")
    model.eval()
    data = _as_tensor(images)
    parts = [model.embed(data[i : i + batch_size]) for i in range(0, len(data), batch_size)]
    out: np.ndarray = torch.cat(parts).numpy().astype(np.float32) if parts else np.zeros((0, 0))
    return out

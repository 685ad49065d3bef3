"""Predictions over a pool: logits, calibrated probabilities, embeddings, and MC-dropout samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ml_worker.calibration import softmax
from ml_worker.models import Classifier, enable_mc_dropout
from ml_worker.training import select_device


@dataclass
class Predictions:
    """Model outputs for N images of a K-class task."""

    logits: np.ndarray  # (N, K) float32, before temperature
    probabilities: np.ndarray  # (N, K) softmax(logits / temperature)
    embeddings: np.ndarray | None  # (N, D) backbone features
    mc_probabilities: np.ndarray | None  # (T, N, K) MC-dropout samples (temperature applied)
    mc_logits: np.ndarray | None = None  # (T, N, K) the same samples' logits (multi-label reads
    # them through a sigmoid per label instead of the softmax)


def concatenate(parts: list[Predictions]) -> Predictions:
    """The predictions of consecutive chunks of one pool, as if predicted at once."""
    if not parts:
        empty = np.zeros((0, 0), dtype=np.float32)
        return Predictions(
            logits=empty, probabilities=empty, embeddings=None, mc_probabilities=None
        )
    embeddings = [p.embeddings for p in parts if p.embeddings is not None]
    samples = [p.mc_probabilities for p in parts if p.mc_probabilities is not None]
    sample_logits = [p.mc_logits for p in parts if p.mc_logits is not None]
    return Predictions(
        logits=np.concatenate([p.logits for p in parts]),
        probabilities=np.concatenate([p.probabilities for p in parts]),
        embeddings=np.concatenate(embeddings) if len(embeddings) == len(parts) else None,
        # (T, N, K): the chunks are consecutive items, axis 1.
        mc_probabilities=np.concatenate(samples, axis=1) if len(samples) == len(parts) else None,
        mc_logits=(
            np.concatenate(sample_logits, axis=1) if len(sample_logits) == len(parts) else None
        ),
    )


def _dropout_only_before_head(model: nn.Module) -> bool:
    dropouts = [
        m for m in model.modules() if isinstance(m, nn.Dropout | nn.Dropout2d | nn.AlphaDropout)
    ]
    return isinstance(model, Classifier) and dropouts == [model.dropout]


def predict(
    model: nn.Module,
    images: np.ndarray,
    *,
    temperature: float = 1.0,
    mc_passes: int = 0,
    batch_size: int = 512,
    device: str | None = None,
    seed: int = 0,
    with_embeddings: bool = True,
) -> Predictions:
    """Run `model` over (N, C, H, W) float32 images in [0, 1].

    With `mc_passes` = T > 0, also draws T stochastic passes with dropout on (batch-norm frozen).
    When the model's only dropout is the one before the head (all built-in architectures), the
    backbone runs once and only dropout + head are sampled T times: identical in distribution
    and T times cheaper.
    """
    dev = select_device(device)
    model.to(dev)
    model.eval()
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    fast_mc = _dropout_only_before_head(model)
    logits, embeddings, samples = [], [], []
    x_all = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    with torch.inference_mode():
        for start in range(0, len(x_all), batch_size):
            xb = x_all[start : start + batch_size].to(dev)
            if isinstance(model, Classifier):
                emb = model.embed(xb)
                out = model.head(emb)
                if with_embeddings:
                    embeddings.append(emb.float().cpu())
            else:
                out = model(xb)
            logits.append(out.float().cpu())
            if mc_passes > 0:
                samples.append(_mc_samples(model, xb, emb if fast_mc else None, mc_passes, gen))
    if mc_passes > 0 and not fast_mc:
        model.eval()
    z = torch.cat(logits).numpy() if logits else np.zeros((0, 0), dtype=np.float32)
    mc = mc_logits = None
    if samples:
        mc_logits = torch.cat(samples, dim=1).numpy()  # (T, N, K)
        mc = np.stack([softmax(t, temperature) for t in mc_logits])
    return Predictions(
        logits=z,
        probabilities=softmax(z, temperature) if len(z) else z,
        embeddings=torch.cat(embeddings).numpy() if embeddings else None,
        mc_probabilities=mc,
        mc_logits=mc_logits,
    )


def _mc_samples(
    model: nn.Module, xb: torch.Tensor, emb: torch.Tensor | None, passes: int, gen: torch.Generator
) -> torch.Tensor:
    """(T, B, K) logits of T dropout-on passes."""
    if emb is not None and isinstance(model, Classifier):
        p = model.dropout.p
        outs = []
        for _ in range(passes):
            keep = (torch.rand(emb.shape, generator=gen, device=emb.device) >= p).to(emb.dtype)
            outs.append(model.head(emb * keep / (1 - p)).float().cpu())
        return torch.stack(outs)
    enable_mc_dropout(model)
    outs = [model(xb).float().cpu() for _ in range(passes)]
    model.eval()
    return torch.stack(outs)

"""Segmentation predictions over a pool: pixel probabilities, their samples, and embeddings.

Samples for disagreement come from test-time augmentation (the left-right flip, mapped back) and,
when asked, MC dropout (every Dropout of the U-Net sampling, batch-norm frozen). They are stored
as float16: a 1,500-image pool at 128 px with two classes and four samples is 400 MB in float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ml_worker.models import enable_mc_dropout
from ml_worker.segmentation.metrics import softmax_pixels
from ml_worker.segmentation.network import Segmenter
from ml_worker.training import select_device


@dataclass
class SegPredictions:
    logits: np.ndarray  # (N, K+1, H, W) float32, before temperature
    probabilities: np.ndarray  # (N, K+1, H, W) float32, softmax(logits / T)
    samples: np.ndarray | None  # (S, N, K+1, H, W) float16: identity, flip, MC passes
    embeddings: np.ndarray | None  # (N, D) float32

    @property
    def masks(self) -> np.ndarray:
        """(N, H, W) uint8 label map of the most likely class per pixel: the suggestion."""
        return self.probabilities.argmax(axis=1).astype(np.uint8)


def predict_segmentation(
    model: nn.Module,
    images: np.ndarray,
    *,
    temperature: float = 1.0,
    flip_tta: bool = False,
    mc_passes: int = 0,
    batch_size: int = 64,
    device: str | None = None,
    seed: int = 0,
    with_embeddings: bool = False,
) -> SegPredictions:
    """Run the model over (N, C, H, W) float32 images in [0, 1]."""
    dev = select_device(device)
    model.to(dev)
    model.eval()
    torch.manual_seed(seed)  # MC-dropout masks are drawn from the global generator
    x_all = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    logits, embeddings, samples = [], [], []
    with torch.inference_mode():
        for start in range(0, len(x_all), batch_size):
            xb = x_all[start : start + batch_size].to(dev)
            out = model(xb).float()
            logits.append(out.cpu())
            if with_embeddings and isinstance(model, Segmenter):
                embeddings.append(model.embed(xb, logits=out).float().cpu())
            drawn = []
            if flip_tta or mc_passes > 0:
                drawn.append(out)
            if flip_tta:
                drawn.append(torch.flip(model(torch.flip(xb, dims=[-1])).float(), dims=[-1]))
            if mc_passes > 0:
                enable_mc_dropout(model)
                drawn.extend(model(xb).float() for _ in range(mc_passes))
                model.eval()
            if drawn:
                stacked = torch.stack(drawn).cpu().numpy()
                samples.append(
                    np.stack([softmax_pixels(s, temperature) for s in stacked]).astype(np.float16)
                )
    z = torch.cat(logits).numpy()
    return SegPredictions(
        logits=z,
        probabilities=softmax_pixels(z, temperature),
        samples=np.concatenate(samples, axis=1) if samples else None,
        embeddings=torch.cat(embeddings).numpy() if embeddings else None,
    )

"""Embeddings for the cold start and TypiClust: pixel PCA (model-free), or a project's
self-supervised encoder once it has one (`pretrained_embeddings`)."""

from __future__ import annotations

import numpy as np


def pca_embeddings(
    images: np.ndarray, dim: int = 32, max_fit: int = 5000, seed: int = 0
) -> np.ndarray:
    """Project (N, C, H, W) images on their first `dim` principal components -> (N, dim) float32.

    Pixels are standardised per image first (brightness/contrast do not drive the clusters). The
    components are fitted on at most `max_fit` images (seeded sample), then applied to all.
    """
    n = len(images)
    if n == 0:
        return np.zeros((0, dim), dtype=np.float32)
    flat = np.asarray(images, dtype=np.float32).reshape(n, -1)
    flat = (flat - flat.mean(axis=1, keepdims=True)) / (flat.std(axis=1, keepdims=True) + 1e-6)
    rng = np.random.default_rng(seed)
    fit = flat[rng.choice(n, size=min(n, max_fit), replace=False)]
    mean = fit.mean(axis=0)
    # SVD of the centred sample: rows of vt are the principal directions.
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    components = vt[: min(dim, vt.shape[0])]
    projected: np.ndarray = ((flat - mean) @ components.T).astype(np.float32)
    return projected


def pretrained_embeddings(
    images: np.ndarray, checkpoint_path: str, expected_sha256: str | None = None
) -> np.ndarray:
    """(N, D) features of (N, C, H, W) [0, 1] images under a self-supervised encoder checkpoint
    (ml_worker.jobs.pretrain): what the cold start and TypiClust cluster once a project has one,
    instead of pixel PCA or an untrained network."""
    from ml_worker.checkpoint import load_checkpoint
    from ml_worker.models import ModelSpec
    from ml_worker.pretraining import encoder_embeddings

    payload = load_checkpoint(checkpoint_path, expected_sha256)
    spec = ModelSpec.from_dict(payload["spec"])
    return encoder_embeddings(images, spec, payload["state_dict"])

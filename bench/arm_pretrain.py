"""The `+pretrain` modifier of bench/active_learning.py's arms (e.g. `bald+pretrain`,
`typiclust+pretrain`): the arm's every training starts from a self-supervised encoder learnt
once per seed on the pool's images (ml_worker.pretraining, labels unused), as the product's
supervised runs start from the project's pretrained encoder; TypiClust clusters that encoder's
embeddings (PCA of the pixels for an arm without `+pretrain`).

Each seed's encoder is pretrained once, by `pretrain_seeds` before the chains start, and stored
under bench/out/pretrain_cache keyed by the data, the seed and the recipe: every chain (in any
worker process) of that seed loads the same file, and a second run of the bench reuses it.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ml_worker.checkpoint import atomic_write_bytes
from ml_worker.embeddings import pca_embeddings
from ml_worker.models import Classifier, ModelSpec
from ml_worker.pretraining import PretrainConfig, encoder_embeddings, pretrain_encoder

PRETRAIN = "pretrain"
CACHE = Path(__file__).resolve().parent / "out" / "pretrain_cache"
CONFIG = PretrainConfig()  # the product's recipe and default epochs

_states: dict[str, dict[str, torch.Tensor]] = {}
_embeddings: dict[str, np.ndarray] = {}


def parse(arm: str) -> tuple[str, list[str]]:
    """`strategy, *modifiers = arm.split("+")`."""
    strategy, *modifiers = arm.split("+")
    return strategy, modifiers


def pretrained(arm: str) -> bool:
    return PRETRAIN in parse(arm)[1]


MODIFIER_HELP = {PRETRAIN: "trainings start from a self-supervised encoder of the pool"}
HELP = MODIFIER_HELP[PRETRAIN]  # as bench/active_learning.py's MODIFIERS table reads it


def settings() -> PretrainConfig:
    """The pretraining recipe, recorded in the benchmark's inputs."""
    return CONFIG


def describe(arm: str, strategies: dict[str, str]) -> str:
    """The arm's strategy description, then each modifier's."""
    strategy, modifiers = parse(arm)
    parts = [strategies.get(strategy, strategy)]
    return " + ".join(parts + [MODIFIER_HELP.get(m, m) for m in modifiers])


def _key(images: np.ndarray, spec: ModelSpec, seed: int) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    digest.update(json.dumps([spec.to_dict(), asdict(CONFIG), seed], sort_keys=True).encode())
    return digest.hexdigest()[:20]


def encoder(images: np.ndarray, spec: ModelSpec, seed: int) -> dict[str, torch.Tensor]:
    """The seed's encoder state: from this process's memory, the cache file, or pretrained now
    (and stored)."""
    key = _key(images, spec, seed)
    if key in _states:
        return _states[key]
    path = CACHE / f"{key}.pt"
    if path.exists():
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:
        state = pretrain_encoder(images, spec, seed=seed, epochs=CONFIG.epochs, device="cpu")
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())
    _states[key] = state
    return state


def pretrain_seed(images: np.ndarray, spec: ModelSpec, seed: int) -> float:
    """Make sure the seed's encoder exists; seconds spent (0 when it was cached)."""
    started = time.monotonic()
    exists = (CACHE / f"{_key(images, spec, seed)}.pt").exists()
    encoder(images, spec, seed)
    return 0.0 if exists else time.monotonic() - started


def initialise(model: Classifier, arm: str, images: np.ndarray, seed: int) -> Classifier:
    """A `+pretrain` arm's model starts from its seed's encoder (head left as initialised);
    other arms' models are returned untouched. The input statistics stay the recipe's (those
    of the pool, as the encoder's)."""
    if not pretrained(arm):
        return model
    source = encoder(images, model.spec, seed)
    state = {k: v for k, v in source.items() if k.startswith("backbone.")}
    missing = model.load_state_dict(state, strict=False).missing_keys
    if any(name.startswith("backbone.") for name in missing):
        raise ValueError(f"the encoder does not fit {model.spec.architecture}: {missing[:3]}")
    return model


def embeddings(arm: str, images: np.ndarray, spec: ModelSpec, seed: int) -> np.ndarray:
    """The whole pool's embeddings TypiClust clusters for this arm: the seed's encoder's with
    `+pretrain`, else PCA of the pixels (computed once per process)."""
    key = f"{_key(images, spec, seed)}-{pretrained(arm)}"
    if key not in _embeddings:
        if pretrained(arm):
            _embeddings[key] = encoder_embeddings(images, spec, encoder(images, spec, seed))
        else:
            _embeddings[key] = pca_embeddings(images, dim=32, seed=seed)
    return _embeddings[key]

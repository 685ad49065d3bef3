"""ml_worker.pretraining: deterministic for a seed on CPU, an encoder state (no head) that loads
into the supervised model of every registry architecture it was learnt for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ml_worker.checkpoint import save_checkpoint
from ml_worker.models import ModelSpec, build_model, load_pretrained
from ml_worker.pretraining import PretrainConfig, encoder_embeddings, pretrain_encoder
from ml_worker.pretraining.contrastive import nt_xent, pretrain_model

TINY = PretrainConfig(batch_size=8, max_images=None)


def images(n: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


def test_the_same_seed_gives_the_same_encoder_and_another_seed_another() -> None:
    spec = ModelSpec(input_size=28)
    a = pretrain_encoder(images(), spec, seed=3, epochs=2, config=TINY)
    b = pretrain_encoder(images(), spec, seed=3, epochs=2, config=TINY)
    c = pretrain_encoder(images(), spec, seed=4, epochs=2, config=TINY)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if k.endswith("weight"))
    assert not any(k.startswith("head.") for k in a)


@pytest.mark.parametrize("architecture", ["small_cnn", "resnet18"])
def test_the_encoder_loads_into_the_supervised_model_head_excluded(
    architecture: str, tmp_path: Path
) -> None:
    spec = ModelSpec(architecture=architecture, input_size=28)
    state = pretrain_encoder(images(16), spec, seed=0, epochs=1, config=TINY)
    before = build_model(spec, seed=0).state_dict()
    changed = [k for k in state if k.startswith("backbone.") and k.endswith("weight")]
    assert any(not torch.equal(state[k], before[k]) for k in changed)  # it learnt something

    path = tmp_path / "encoder.pt"
    save_checkpoint(path, {"spec": spec.to_dict(), "state_dict": state})
    supervised = build_model(ModelSpec(architecture=architecture, num_classes=3), seed=9)
    head = supervised.head.weight.detach().clone()
    report = load_pretrained(supervised, path)
    assert not report.skipped_shape and {m.split(".")[0] for m in report.missing} == {"head"}
    for name, tensor in supervised.state_dict().items():
        if name.startswith("backbone."):
            assert torch.equal(tensor, state[name]), name
    assert torch.equal(supervised.head.weight, head)  # the project's head starts fresh
    assert encoder_embeddings(images(5), spec, state).shape == (5, supervised.feature_dim)


def test_nt_xent_is_low_when_each_view_finds_its_partner() -> None:
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
    matched = nt_xent(z, z + 0.01, temperature=0.2)
    shuffled = nt_xent(z, z[torch.randperm(16, generator=torch.Generator().manual_seed(1))], 0.2)
    assert float(matched) < float(shuffled) - 1.0


def test_bad_input_is_refused_with_its_reason() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pretrain_model(images() * 255, ModelSpec(), seed=0, config=TINY)
    with pytest.raises(ValueError, match="at least 8"):
        pretrain_model(images(4), ModelSpec(), seed=0, config=TINY)
    with pytest.raises(ValueError, match="unknown pretraining method"):
        PretrainConfig(method="magic")

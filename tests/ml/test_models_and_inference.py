"""Architectures build offline; transfer is shape-checked; inference gives what scoring needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ml_worker.checkpoint import save_model
from ml_worker.inference import predict
from ml_worker.models import ARCHITECTURES, ModelSpec, build_model, load_pretrained


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_gives_logits_and_embeddings(architecture: str) -> None:
    model = build_model(ModelSpec(architecture=architecture, num_classes=3, input_size=32))
    model.eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.inference_mode():
        assert model(x).shape == (2, 3)
        assert model.embed(x).shape == (2, model.feature_dim)


def test_unknown_architecture_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        ModelSpec(architecture="vgg")


def test_pretrained_weights_transfer_except_a_head_of_another_shape(tmp_path: Path) -> None:
    source = build_model(ModelSpec(num_classes=5, input_size=16, width=8))
    path = tmp_path / "uploaded.pt"
    save_model(path, source)
    target = build_model(ModelSpec(num_classes=2, input_size=16, width=8))
    report = load_pretrained(target, path)
    assert report.skipped_shape == ["head.weight", "head.bias"]
    first_conv = "backbone.0.0.weight"
    assert first_conv in report.loaded
    assert torch.equal(target.state_dict()[first_conv], source.state_dict()[first_conv])


def test_a_bare_monai_state_dict_with_an_rgb_stem_is_adapted(tmp_path: Path) -> None:
    from monai.networks.nets.resnet import resnet18

    rgb = resnet18(spatial_dims=2, n_input_channels=3, conv1_t_stride=2, num_classes=10)
    path = tmp_path / "rgb_resnet18.pth"
    torch.save({"state_dict": rgb.state_dict()}, path)
    target = build_model(ModelSpec(architecture="resnet18", input_size=32))
    report = load_pretrained(target, path)
    assert report.adapted == ["backbone.conv1.weight"]
    assert len(report.loaded) > 50
    summed = rgb.state_dict()["conv1.weight"].sum(dim=1, keepdim=True)
    assert torch.equal(target.state_dict()["backbone.conv1.weight"], summed)


def test_a_file_that_matches_nothing_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="no parameter"):
        load_pretrained(build_model(ModelSpec(input_size=16, width=8)), path)


def test_predict_returns_probabilities_embeddings_and_mc_samples() -> None:
    model = build_model(ModelSpec(input_size=16, width=8, dropout=0.5))
    x = np.random.default_rng(0).random((10, 1, 16, 16), dtype=np.float32)
    out = predict(model, x, temperature=2.0, mc_passes=4, batch_size=4)
    assert out.logits.shape == (10, 2) and out.probabilities.shape == (10, 2)
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0)
    assert out.embeddings is not None and out.embeddings.shape == (10, model.feature_dim)
    assert out.mc_probabilities is not None and out.mc_probabilities.shape == (4, 10, 2)
    assert not np.allclose(out.mc_probabilities[0], out.mc_probabilities[1])  # dropout samples
    again = predict(model, x, temperature=2.0, mc_passes=4, batch_size=4)
    np.testing.assert_array_equal(out.mc_probabilities, again.mc_probabilities)  # seeded

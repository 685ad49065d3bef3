"""The reproduced MedMNIST v2 ResNet-18 (28) protocol (ml_worker.medmnist_reference, decision
0386): the network is the CIFAR-style ResNet-18 of MedMNIST's code (3x3 stride-1 stem, no
max-pool, 28 -> 4 px at the last stage), the schedule drops the learning rate at 50 % and 75 %,
and the validation-AUC epoch is really kept apart from the last one. Cheap: one tiny run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ml_worker.medmnist_reference import (
    ReferenceProtocol,
    build_reference_resnet18,
    reference_probs,
    train_reference,
)


def test_builder_keeps_28px_resolution_without_max_pool() -> None:
    torch.set_num_threads(1)
    model = build_reference_resnet18(in_channels=1, num_classes=3, seed=0).eval()
    assert isinstance(model.conv1, nn.Conv2d)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert model.conv1.in_channels == 1 and model.conv1.out_channels == 64
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        getattr(model, name).register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
        for name in ("maxpool", "layer1", "layer4")
    ]
    with torch.no_grad():
        out = model(torch.rand(2, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    assert out.shape == (2, 3)
    assert "maxpool" not in shapes  # the max-pool module exists in MONAI's ResNet but never runs
    assert shapes["layer1"] == (2, 64, 28, 28)  # stem and first stage at full resolution
    assert shapes["layer4"] == (2, 512, 4, 4)  # 28 -> 14 -> 7 -> 4
    # Projection shortcuts are bias-free, as in MedMNIST's (kuangliu's) BasicBlock.
    shortcut = model.get_submodule("layer2.0.downsample.0")
    assert isinstance(shortcut, nn.Conv2d) and shortcut.bias is None
    # kuangliu's CIFAR ResNet-18 has 11,173,962 parameters (3 channels in, 10 out); with a
    # 1-channel stem (-1,152) and 3 outputs (-3,591) the same network has 11,169,219.
    assert sum(p.numel() for p in model.parameters()) == 11_169_219


def test_builder_is_reproducible_per_seed() -> None:
    a = build_reference_resnet18(1, 2, seed=3).state_dict()
    b = build_reference_resnet18(1, 2, seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("epochs", "drops"), [(100, [50, 75]), (10, [5, 8]), (1, [1])])
def test_learning_rate_drops_at_half_and_three_quarters(epochs: int, drops: list[int]) -> None:
    assert ReferenceProtocol(epochs=epochs).milestone_epochs() == drops


def test_tiny_run_keeps_the_best_validation_epoch_apart_from_the_last() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 12)
    # Learnable: the positive class is brighter.
    images = (rng.random((24, 1, 28, 28)) * 0.5 + labels[:, None, None, None] * 0.3).astype(
        np.float32
    )
    result = train_reference(
        images, labels, images[::2], labels[::2], ReferenceProtocol(epochs=3, batch_size=8)
    )
    assert len(result.val_aucs) == 3
    assert result.best_val_auc == max(result.val_aucs)
    assert result.best_epoch == result.val_aucs.index(max(result.val_aucs)) + 1
    assert result.model is not result.last_model
    probs = reference_probs(result.model, images[::2])
    assert probs.shape == (12, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)

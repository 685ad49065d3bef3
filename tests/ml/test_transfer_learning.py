"""Transfer learning: checkpoints in torchvision/timm, MONAI and our own naming load onto the
networks; a frozen backbone stays bit-for-bit unchanged; ResNet-18 and ResNet-50 train end to end
on a tiny real PneumoniaMNIST subset from uploaded weights (decision 0381)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from monai.networks.nets.resnet import resnet18, resnet50

from ml_worker.checkpoint import save_model
from ml_worker.evaluation import evaluate
from ml_worker.inference import predict
from ml_worker.models import ModelSpec, build_model, load_pretrained
from ml_worker.training import TrainConfig, train_classifier


def torchvision_style_resnet(path: Path, depth: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A randomly initialised ImageNet-shaped ResNet saved as torchvision/timm name it: RGB stem,
    bias-free shortcut convolutions, a 1000-class `fc`."""
    torch.manual_seed(seed)
    factory = resnet18 if depth == 18 else resnet50
    net = factory(spatial_dims=2, n_input_channels=3, feed_forward=False)
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("downsample.0.bias")}
    features = 512 if depth == 18 else 2048
    state["fc.weight"] = torch.randn(1000, features)
    state["fc.bias"] = torch.randn(1000)
    torch.save(state, path)
    return state


def pneumonia_subset(shared_data: Path, n: int, split: str, size: int) -> tuple[np.ndarray, ...]:
    data = np.load(shared_data / "classification" / "pneumoniamnist" / "pneumoniamnist.npz")
    images, labels = data[f"{split}_images"], data[f"{split}_labels"].reshape(-1)
    # Balanced: n/2 of each class, the first ones in file order (deterministic).
    index = np.concatenate([np.flatnonzero(labels == c)[: n // 2] for c in (0, 1)])
    x = torch.from_numpy(images[index].astype(np.float32) / 255.0)[:, None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear").numpy()
    return x, labels[index].astype(np.int64)


def test_a_torchvision_resnet50_maps_onto_monais(tmp_path: Path) -> None:
    source = torchvision_style_resnet(tmp_path / "rn50.pth", 50)
    model = build_model(ModelSpec(architecture="resnet50", in_channels=3, input_size=32))
    report = load_pretrained(model, tmp_path / "rn50.pth")
    state = model.state_dict()
    assert torch.equal(state["backbone.conv1.weight"], source["conv1.weight"])
    assert torch.equal(
        state["backbone.layer4.2.bn3.running_var"], source["layer4.2.bn3.running_var"]
    )
    # The shortcut's bias torchvision does not have is zero, not a random initialisation.
    assert not state["backbone.layer1.0.downsample.0.bias"].any()
    assert report.skipped_shape == ["head.weight", "head.bias"]  # 1000 ImageNet classes vs 2
    assert report.missing == []

    grey = build_model(ModelSpec(architecture="resnet50", in_channels=1, input_size=32))
    grey_report = load_pretrained(grey, tmp_path / "rn50.pth")
    assert grey_report.adapted == ["backbone.conv1.weight"]  # RGB stem summed to one channel
    summed = source["conv1.weight"].sum(dim=1, keepdim=True)
    assert torch.equal(grey.state_dict()["backbone.conv1.weight"], summed)


def test_a_monai_checkpoint_with_a_prefix_and_our_own_version_load(tmp_path: Path) -> None:
    torch.manual_seed(1)
    monai = resnet18(spatial_dims=2, n_input_channels=1, conv1_t_stride=2, feed_forward=False)
    torch.save({"model": {f"net.{k}": v for k, v in monai.state_dict().items()}}, tmp_path / "m.pt")
    model = build_model(ModelSpec(architecture="resnet18", input_size=32))
    report = load_pretrained(model, tmp_path / "m.pt")
    assert torch.equal(
        model.state_dict()["backbone.layer2.1.conv2.weight"], monai.layer2[1].conv2.weight
    )
    assert report.missing == ["head.weight", "head.bias"]

    # A version of another project (3 classes) seeds a 2-class project: all but the head.
    other = build_model(ModelSpec(num_classes=3, input_size=16), seed=5)
    save_model(tmp_path / "other.pt", other, class_names=["a", "b", "c"])
    mine = build_model(ModelSpec(num_classes=2, input_size=16), seed=6)
    report = load_pretrained(mine, tmp_path / "other.pt")
    assert report.skipped_shape == ["head.weight", "head.bias"]
    for name, tensor in other.backbone.state_dict().items():
        assert torch.equal(mine.backbone.state_dict()[name], tensor), name


def test_a_checkpoint_matching_nothing_is_refused(tmp_path: Path) -> None:
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="no parameter"):
        load_pretrained(build_model(ModelSpec(input_size=16)), tmp_path / "wrong.pt")


def test_a_frozen_backbone_does_not_change_and_the_head_learns(squares) -> None:  # type: ignore[no-untyped-def]
    train_x, train_y, val_x, val_y = squares
    model = build_model(ModelSpec(input_size=16), seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(
        max_epochs=2, batch_size=32, min_samples_per_epoch=96, freeze="all_but_head", seed=0
    )
    trained = train_classifier(model, train_x, train_y, val_x, val_y, config).model
    after = trained.state_dict()
    backbone = [k for k in before if k.startswith("backbone.")]
    assert backbone and all(torch.equal(before[k], after[k]) for k in backbone)
    assert not torch.equal(before["head.weight"], after["head.weight"])


def test_a_backbone_frozen_for_one_epoch_learns_afterwards(squares) -> None:  # type: ignore[no-untyped-def]
    train_x, train_y, val_x, val_y = squares
    model = build_model(ModelSpec(input_size=16), seed=0)
    start = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    seen: list[bool] = []

    def unchanged(_report: object) -> None:
        now = model.backbone.state_dict()
        seen.append(all(torch.equal(start[k], now[k]) for k in start))

    config = TrainConfig(
        max_epochs=2,
        batch_size=32,
        min_samples_per_epoch=96,
        freeze="backbone_epochs",
        freeze_epochs=1,
        ema_decay=0.0,
        seed=0,
    )
    train_classifier(model, train_x, train_y, val_x, val_y, config, on_epoch=unchanged)
    assert seen == [True, False]


@pytest.mark.slow
@pytest.mark.parametrize("depth", [18, 50])
def test_resnets_train_end_to_end_from_uploaded_weights_on_pneumoniamnist(
    depth: int, tmp_path: Path, shared_data: Path
) -> None:
    train_x, train_y = pneumonia_subset(shared_data, 48, "train", 32)
    val_x, val_y = pneumonia_subset(shared_data, 16, "val", 32)
    test_x, test_y = pneumonia_subset(shared_data, 32, "test", 32)
    torchvision_style_resnet(tmp_path / "imagenet.pth", depth)
    spec = ModelSpec(
        architecture=f"resnet{depth}",
        in_channels=3,
        input_size=32,
        input_mean=float(train_x.mean()),
        input_std=float(train_x.std()),
    )
    model = build_model(spec, seed=0)
    load_pretrained(model, tmp_path / "imagenet.pth")
    config = TrainConfig(
        max_epochs=2,
        batch_size=16,
        min_samples_per_epoch=48,
        freeze="backbone_epochs",
        freeze_epochs=1,
        seed=0,
    )
    result = train_classifier(model, train_x, train_y, val_x, val_y, config)
    assert len(result.history) == 2 and all(np.isfinite(r.train_loss) for r in result.history)
    logits = predict(result.model, test_x, with_embeddings=False).logits
    metrics = evaluate(logits, test_y, ["normal", "pneumonia"])
    assert metrics["n"] == 32 and 0.0 <= metrics["auc"] <= 1.0
    assert np.isfinite(logits).all()

"""Network definitions: a small fast CNN (default) and MONAI ResNet-18/50 and DenseNet-121.

Every model is a `Classifier`: input standardisation -> backbone (embedding) -> dropout -> linear
head. `embed()` gives the embedding the diversity and cold-start strategies cluster; the dropout
before the head is what MC-dropout (BALD) samples. Weights are never downloaded: transfer learning
reads a local checkpoint file an admin uploaded (`load_pretrained`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from learning.model_settings import ARCHITECTURES as REGISTRY
from ml_worker.preprocess import normalise

# The classification networks of the shared registry (learning.model_settings): one list of names
# for the web's validation and this factory.
ARCHITECTURES = tuple(a.name for a in REGISTRY.values() if a.task_type == "classification")


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a network (stored with each model version and checkpoint)."""

    architecture: str = "small_cnn"
    num_classes: int = 2
    in_channels: int = 1
    input_size: int = 28
    dropout: float = 0.3
    width: int = 8  # small_cnn only: first-stage channels (doubles per stage); docs/learning.md
    input_mean: float = 0.5  # training-set statistics of the [0, 1] inputs
    input_std: float = 0.25

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; known: {ARCHITECTURES}")
        if self.num_classes < 2:
            raise ValueError("a classifier needs at least 2 classes")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSpec:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


class InputNorm(nn.Module):
    """Standardises [0, 1] inputs with stored statistics, so a checkpoint carries its own."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return normalise(x, self.mean, self.std)  # type: ignore[arg-type]


class RepeatChannels(nn.Module):
    """Grey (N, 1, H, W) inputs repeated to the network's channels: a 3-channel stem pretrained
    on RGB photographs then sees what it was trained on, with its weights unchanged."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1 and self.channels > 1:
            return x.expand(-1, self.channels, -1, -1)
        return x


class Classifier(nn.Module):
    """InputNorm -> backbone -> dropout -> linear head; `embed` returns the backbone features."""

    def __init__(self, backbone: nn.Module, feature_dim: int, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.norm = InputNorm(spec.input_mean, spec.input_std)
        self.channels = RepeatChannels(spec.in_channels)
        self.backbone = backbone
        self.dropout = nn.Dropout(spec.dropout)
        self.head = nn.Linear(feature_dim, spec.num_classes)
        self.feature_dim = feature_dim

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.backbone(self.channels(self.norm(x))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.dropout(self.embed(x)))
        return logits


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def small_cnn_backbone(in_channels: int, width: int, input_size: int) -> tuple[nn.Module, int]:
    """Three (four from 64 px) stages of conv-BN-ReLU x2 + max-pool, then global average pool.

    Above 64 px a stride-2 stem halves the input first; the cost per image stays small.
    """
    layers: list[nn.Module] = []
    cin, size = in_channels, input_size
    if input_size > 64:
        layers += [
            nn.Conv2d(cin, width, 5, stride=2, padding=2, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        cin, size = width, math.ceil(size / 2)
    stages = 3 if size < 64 else 4
    cout = width
    for stage in range(stages):
        layers += [_conv_block(cin, cout), _conv_block(cout, cout)]
        if stage < stages - 1:
            layers.append(nn.MaxPool2d(2))
        cin, cout = cout, cout * 2
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers), cin


def build_model(spec: ModelSpec, seed: int | None = None) -> Classifier:
    """Build the network named by `spec.architecture` with freshly initialised weights.

    With `seed`, initialisation is reproducible and the global torch RNG is left untouched.
    """
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _build(spec)
    return _build(spec)


def _build(spec: ModelSpec) -> Classifier:
    if spec.architecture == "small_cnn":
        backbone, dim = small_cnn_backbone(spec.in_channels, spec.width, spec.input_size)
        return Classifier(backbone, dim, spec)
    if spec.architecture in ("resnet18", "resnet50"):
        from monai.networks.nets.resnet import resnet18, resnet50

        factory = resnet18 if spec.architecture == "resnet18" else resnet50
        # conv1_t_stride=2: MONAI's default stride-1 stem is ~10x slower at 128 px (stack notes P5).
        net = factory(
            spatial_dims=2, n_input_channels=spec.in_channels, conv1_t_stride=2, feed_forward=False
        )
        return Classifier(net, 512 if spec.architecture == "resnet18" else 2048, spec)
    from monai.networks.nets.densenet import DenseNet121

    dense = DenseNet121(spatial_dims=2, in_channels=spec.in_channels, out_channels=spec.num_classes)
    dense.class_layers.out = nn.Identity()  # keep relu + pool + flatten: 1024-d embedding
    return Classifier(dense, 1024, spec)


def enable_mc_dropout(model: nn.Module) -> None:
    """Eval mode (frozen batch-norm statistics) with every Dropout layer sampling (Gal 2016)."""
    model.eval()
    for module in model.modules():
        if isinstance(module, nn.Dropout | nn.Dropout2d | nn.AlphaDropout):
            module.train()


def freeze_backbone(model: Classifier, frozen: bool) -> None:
    """Stop (or restart) the backbone's learning: no gradients, and its batch-norm layers in eval
    mode so their running statistics stay those of the source weights too. Call after
    `model.train()`: that call puts every layer back in training mode."""
    for parameter in model.backbone.parameters():
        parameter.requires_grad_(not frozen)
    if frozen:
        model.backbone.eval()


@dataclass
class TransferReport:
    """What `load_pretrained` copied: names loaded, adapted, skipped (shape) and missing."""

    loaded: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)  # RGB first conv summed to the input channels
    skipped_shape: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _extract_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "model_state_dict", "network"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and any(
                isinstance(v, torch.Tensor) for v in inner.values()
            ):
                obj = inner
                break
        tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors:
            return tensors
    raise ValueError("the file holds no state dict (expected a mapping of parameter tensors)")


# Prefixes other code bases put before the network's own names: DataParallel ("module."), MONAI
# bundles and Lightning ("model.", "net.", "network."), ours ("backbone."). torchvision and timm
# ResNets name their blocks exactly as MONAI's ResNet does (conv1, bn1, layer1.0.conv1, ...
# downsample.0/1), so once the prefix is gone only their classifier ("fc.") needs a new name.
_PREFIXES = ("module.", "model.", "net.", "network.", "backbone.")
_HEAD_NAMES = {"fc.weight": "head.weight", "fc.bias": "head.bias"}


def source_state_dict(raw: Any) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under our names (torchvision/timm/MONAI/ours), prefixes removed."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in _extract_state_dict(raw).items():
        name, changed = key, True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if name.startswith(prefix):
                    name, changed = name.removeprefix(prefix), True
        if name.startswith(("head.", "norm.")):
            out[name] = tensor  # a Radloop checkpoint: head and input statistics keep their names
        else:
            out[_HEAD_NAMES.get(name, f"backbone.{name}")] = tensor
    return out


def load_pretrained(model: Classifier, path: str | Path) -> TransferReport:
    """Copy matching weights from a local checkpoint into `model`, checking every shape.

    Accepts a bare state dict, one under "state_dict"/"model", or a Radloop checkpoint; names in
    torchvision/timm, MONAI or our own style (`source_state_dict`).
    Tensors whose shapes differ are skipped (typically the head, when the class count differs),
    except a 3-channel first convolution on a 1-channel model, which is summed over its input
    channels. Raises ValueError when nothing matches, so a wrong file can't pass silently.
    """
    raw = torch.load(Path(path), map_location="cpu", weights_only=True)
    source = source_state_dict(raw)
    report = TransferReport()
    target = model.state_dict()
    updates: dict[str, torch.Tensor] = {}
    for name, tensor in target.items():
        if name.startswith("norm."):
            continue  # input statistics belong to this project's data, not the source's
        candidate = source.get(name)
        if candidate is None:
            report.missing.append(name)
            continue
        if candidate.shape == tensor.shape:
            updates[name] = candidate.to(tensor.dtype)
            report.loaded.append(name)
        elif (
            candidate.ndim == 4
            and tensor.ndim == 4
            and candidate.shape[0] == tensor.shape[0]
            and candidate.shape[2:] == tensor.shape[2:]
            and tensor.shape[1] == 1
        ):
            updates[name] = candidate.sum(dim=1, keepdim=True).to(tensor.dtype)
            report.adapted.append(name)
        else:
            report.skipped_shape.append(name)
    if not updates:
        raise ValueError(f"no parameter of {path} matches this {model.spec.architecture} model")
    for name in list(report.missing):
        # torchvision's shortcut convolutions have no bias, MONAI's do: a bias the source's
        # convolution lacked is zero, so the network computes what the source computed.
        weight = name.removesuffix(".bias") + ".weight"
        if name.endswith(".bias") and weight in updates and target[weight].ndim == 4:
            updates[name] = torch.zeros_like(target[name])
            report.missing.remove(name)
            report.loaded.append(name)
    model.load_state_dict(updates, strict=False)
    return report

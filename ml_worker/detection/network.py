"""The detection network: MONAI's RetinaNet with a small 2D ResNet + FPN built here (decision 0360).

MONAI's own `resnet_fpn_feature_extractor` goes through torchvision (IntermediateLayerGetter,
`_validate_trainable_layers`), which cannot be installed beside our torch; the backbone below
calls the ResNet's stages itself and feeds MONAI's FeaturePyramidNetwork, so only MONAI and
torch are needed. `DetSpec` is stored with each model version so a checkpoint rebuilds exactly.

Boxes inside the detector are MONAI's 2D "xyxy" along the tensor's spatial axes, i.e.
(row0, col0, row1, col1); ml_worker.detection.boxes converts from and to the API's (x=column).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from monai.apps.detection.networks.retinanet_detector import RetinaNetDetector
from monai.apps.detection.networks.retinanet_network import RetinaNet
from monai.apps.detection.utils.anchor_utils import AnchorGeneratorWithAnchorShape
from monai.losses.giou_loss import BoxGIoULoss
from monai.networks.blocks.feature_pyramid_network import FeaturePyramidNetwork
from monai.networks.nets.resnet import ResNet, ResNetBlock
from torch import nn

from ml_worker.detection.anchors import anchor_shapes

RETURNED_LAYERS = (2, 3, 4)  # strides 8, 16, 32 after the stride-2 stem and its max-pool
BOX_LOSSES = ("smooth_l1", "giou")


@dataclass(frozen=True)
class DetSpec:
    """num_classes counts the box labels (no background class: RetinaNet uses sigmoid scores)."""

    num_classes: int = 1
    in_channels: int = 1
    input_size: int = 128
    architecture: str = "retinanet_resnet_fpn"
    block_inplanes: tuple[int, ...] = (16, 32, 64, 128)
    layers: tuple[int, ...] = (1, 1, 1, 1)
    fpn_channels: int = 64
    # Anchor sides at the finest returned level; each coarser level doubles them. (10..24) x
    # (1, 2, 4) covers 10-96 px at the 128-px input: BUS-BRA lesions span 10-97 px there.
    # `spec_for` fits sides and aspects to the training boxes (decision 0362); these defaults
    # are decision 0360's fixed squares, which older checkpoints were built with.
    base_anchor_sides: tuple[int, ...] = (10, 16, 24)
    anchor_aspects: tuple[float, ...] = (1.0,)  # height / width; each side at each aspect
    # Box regression loss: "smooth_l1" on encoded offsets (MONAI's default) or "giou" on the
    # decoded boxes (decision 0362). A training choice, kept here so a checkpoint says it.
    box_loss: str = "smooth_l1"
    input_mean: float = 0.0
    input_std: float = 1.0

    def __post_init__(self) -> None:
        if self.architecture != "retinanet_resnet_fpn":
            raise ValueError("architecture must be 'retinanet_resnet_fpn'")
        if self.num_classes < 1 or self.in_channels < 1:
            raise ValueError("num_classes and in_channels must be >= 1")
        if len(self.block_inplanes) != 4 or len(self.layers) != 4:
            raise ValueError("block_inplanes and layers name the four ResNet stages")
        if not self.base_anchor_sides or not self.anchor_aspects:
            raise ValueError("at least one anchor side and one aspect")
        if min(self.base_anchor_sides) < 1 or min(self.anchor_aspects) <= 0:
            raise ValueError("anchor sides and aspects must be positive")
        if self.box_loss not in BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {BOX_LOSSES}")
        if self.input_size % self.size_divisible:
            raise ValueError(f"input_size must be divisible by {self.size_divisible}")

    @property
    def size_divisible(self) -> int:
        return 4 * 2 ** (max(RETURNED_LAYERS) - 1)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("block_inplanes", "layers", "base_anchor_sides", "anchor_aspects"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetSpec:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("block_inplanes", "layers", "base_anchor_sides"):
            if key in values:
                values[key] = tuple(int(v) for v in values[key])
        if "anchor_aspects" in values:
            values["anchor_aspects"] = tuple(float(v) for v in values["anchor_aspects"])
        return cls(**values)


class ResNetFPN(nn.Module):
    """Input normalisation, a 2D MONAI ResNet's stages, MONAI's FPN: {level: (B, F, h, w)}."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, spec: DetSpec) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(spec.input_mean)))
        self.register_buffer("std", torch.tensor(max(float(spec.input_std), 1e-6)))
        self.resnet = ResNet(
            block=ResNetBlock,
            layers=list(spec.layers),
            block_inplanes=list(spec.block_inplanes),
            spatial_dims=2,
            n_input_channels=spec.in_channels,
            conv1_t_size=7,
            conv1_t_stride=2,
            num_classes=1,  # its classifier head is never called
        )
        self.fpn = FeaturePyramidNetwork(
            spatial_dims=2,
            in_channels_list=[spec.block_inplanes[i - 1] for i in RETURNED_LAYERS],
            out_channels=spec.fpn_channels,
        )
        self.out_channels = spec.fpn_channels

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        r = self.resnet
        x = (x - self.mean) / self.std
        x = r.maxpool(r.act(r.bn1(r.conv1(x))))
        out = []
        for index, layer in enumerate((r.layer1, r.layer2, r.layer3, r.layer4), start=1):
            x = layer(x)
            if index in RETURNED_LAYERS:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = OrderedDict(
            (f"p{i}", t) for i, t in zip(RETURNED_LAYERS, self.stages(x), strict=True)
        )
        out: dict[str, torch.Tensor] = self.fpn(features)
        return out

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) image feature for diversity: the deepest stage, average-pooled."""
        deepest = self.stages(x)[-1]
        return F.adaptive_avg_pool2d(deepest, 1).flatten(1)


class Detector(RetinaNetDetector):
    """MONAI's RetinaNetDetector with its training parts set (ATSS matching, hard negative
    sampling) and the spec kept, so checkpoints, embeddings and TTA find what they need."""

    def __init__(self, spec: DetSpec) -> None:
        shapes = anchor_shapes(spec.base_anchor_sides, spec.anchor_aspects)
        anchors = AnchorGeneratorWithAnchorShape(
            feature_map_scales=[2**i for i in range(len(RETURNED_LAYERS))],
            base_anchor_shapes=shapes,
        )
        network = RetinaNet(
            spatial_dims=2,
            num_classes=spec.num_classes,
            num_anchors=len(shapes),
            feature_extractor=ResNetFPN(spec),
            size_divisible=spec.size_divisible,
        )
        super().__init__(network=network, anchor_generator=anchors)
        self.spec = spec
        self.set_atss_matcher(num_candidates=4, center_in_gt=False)
        self.set_hard_negative_sampler(
            batch_size_per_image=64, positive_fraction=0.3, pool_size=20, min_neg=16
        )
        self.set_target_keys(box_key="boxes", label_key="labels")
        if spec.box_loss == "giou":
            # GIoU scores the decoded box against the lesion's box, the overlap FROC and mAP
            # count, instead of offsets weighted per coordinate (MONAI's documented pairing).
            self.set_box_regression_loss(
                BoxGIoULoss(reduction="mean"), encode_gt=False, decode_pred=True
            )
        self.set_box_selector_parameters(
            score_thresh=0.02, topk_candidates_per_level=300, nms_thresh=0.22, detections_per_img=20
        )

    def compute_anchor_matched_idxs(
        self,
        anchors: list[torch.Tensor],
        targets: list[dict[str, torch.Tensor]],
        num_anchor_locs_per_level: Sequence[int],
    ) -> list[torch.Tensor]:
        """ATSS matching only. MONAI's version first asks `isinstance(matcher, torchvision's
        Matcher)`, which raises without torchvision even when the ATSS matcher is set."""
        matched = []
        for anchors_per_image, target in zip(anchors, targets, strict=True):
            boxes = target[self.target_box_key]
            if boxes.numel() == 0:  # a negative image: every anchor is background
                matched.append(
                    torch.full(
                        (anchors_per_image.size(0),),
                        -1,
                        dtype=torch.int64,
                        device=anchors_per_image.device,
                    )
                )
                continue
            _, idxs = self.proposal_matcher(
                boxes.to(anchors_per_image.device),
                anchors_per_image,
                num_anchor_locs_per_level,
                self.num_anchors_per_loc,
            )
            matched.append(idxs)
        return matched

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        extractor = self.network.feature_extractor
        assert isinstance(extractor, ResNetFPN)
        return extractor.embed(x)


def build_detector(spec: DetSpec, seed: int | None = None) -> Detector:
    """A freshly initialised detector (seeded when `seed` is given)."""
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return Detector(spec)
    return Detector(spec)

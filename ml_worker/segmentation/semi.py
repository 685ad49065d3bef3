"""Semi-supervised U-Net training from unlabelled pool images: FixMatch for segmentation
(decision 0427; the classifier's FixMatch is decision 0420).

Each step also draws `ratio` x batch unlabelled images. A weak view of each goes through the same
paired augmentation as the labelled images (flip, rotation, scale, shift, mild intensity); the
strong view is that weak view with heavy intensity changes and noise only, no geometry, so the
two views stay pixel-aligned and the weak view's prediction is the strong view's target pixel by
pixel (the weak-to-strong consistency of FixMatch as UniMatch, Yang et al. 2023, applies it to
segmentation); half of the strong views then take a box of another image's strong view, and their
targets the same box of that image's targets (CutMix, as UniMatch; a plain cut-out would ask for
the weak view's lesion inside a black square). Only pixels whose weak-view confidence reaches
`threshold` count; the target is the most likely class there, background included, so the
unlabelled term also teaches "no lesion here" where the model is sure. The term is the supervised
one's Dice + cross-entropy restricted to those pixels (masked_dice_ce).

The weak view's prediction comes from the model in evaluation mode, without gradient (batch
normalisation's running statistics, no dropout), as UniMatch takes its mixing targets; the
labelled and strong images then go through one training forward pass. Measured on synthetic
lesions with 4 labelled images (decision 0427): with the weak view's prediction taken in the
training pass instead (one mixed batch, as the classifier's FixMatch does), the model called 3x
the true lesion area lesion within a few epochs, even with the strong view equal to the weak one;
in evaluation mode it did not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ml_worker.training import check_semi_schedule


@dataclass(frozen=True)
class SegSemiConfig:
    threshold: float = 0.95  # per-pixel weak-view confidence for a pixel to count
    weight: float = 1.0  # of the unlabelled term against the supervised Dice + CE
    ratio: int = 1  # unlabelled images per labelled image in a step (3 forward views each)
    min_steps: int = 300  # optimiser steps a run takes at least
    # Share of the schedule trained on the labelled images alone before the unlabelled term
    # starts: the model's early guesses, learnt back, are what it then keeps (confirmation bias;
    # on BUS-BRA without it the semi runs lost 0.075 Dice, decision 0427).
    warmup: float = 0.5
    max_unlabeled: int = 5000  # pool images the training job reads at most
    # Strong view: intensity scaled by 1 +- `strong_scale`, shifted by +- `strong_shift`, gamma
    # in [1 / strong_gamma, strong_gamma], Gaussian noise of s.d. up to `strong_noise`; then with
    # probability `cutmix_prob` a box of up to `cutmix_size` of each side from another image of
    # the batch, targets included.
    strong_scale: float = 0.35
    strong_shift: float = 0.2
    strong_gamma: float = 2.0
    strong_noise: float = 0.05
    cutmix_prob: float = 0.5
    cutmix_size: float = 0.5

    def __post_init__(self) -> None:
        check_semi_schedule(self)
        if self.strong_gamma < 1.0 or not 0.0 <= self.cutmix_prob <= 1.0:
            raise ValueError("strong_gamma >= 1 and cutmix_prob in [0, 1]")
        if not 0.0 < self.cutmix_size <= 1.0:
            raise ValueError("cutmix_size is a share of the side, in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _uniform(
    n: int, low: float, high: float, gen: torch.Generator, device: torch.device
) -> torch.Tensor:
    # Drawn from the run's (CPU) generator, then moved: the same draws on a GPU as on the CPU.
    return (low + (high - low) * torch.rand(n, 1, 1, 1, generator=gen)).to(device)


def strong_view(images: torch.Tensor, semi: SegSemiConfig, gen: torch.Generator) -> torch.Tensor:
    """(B, C, H, W) images in [0, 1] -> the strong view: intensity only, pixel-aligned."""
    n, device = len(images), images.device
    x = images.clamp(0.0, 1.0)
    log_gamma = float(torch.log(torch.tensor(semi.strong_gamma)))
    x = x.pow(torch.exp(_uniform(n, -1.0, 1.0, gen, device) * log_gamma))
    x = x * _uniform(n, 1 - semi.strong_scale, 1 + semi.strong_scale, gen, device)
    x = x + _uniform(n, -semi.strong_shift, semi.strong_shift, gen, device)
    sigma = _uniform(n, 0.0, semi.strong_noise, gen, device)
    x = x + sigma * torch.randn(x.shape, generator=gen).to(device)
    return x.clamp(0.0, 1.0)


def cutmix_boxes(
    n: int, height: int, width: int, semi: SegSemiConfig, gen: torch.Generator
) -> torch.Tensor:
    """(n, H, W) bool: for each image, with probability `cutmix_prob`, one box of up to
    `cutmix_size` of each side (position and size drawn), else nothing."""
    boxes = torch.zeros(n, height, width, dtype=torch.bool)
    chosen = torch.rand(n, generator=gen) < semi.cutmix_prob
    for i in torch.nonzero(chosen).flatten().tolist():
        rows = max(1, int(semi.cutmix_size * height * float(torch.rand(1, generator=gen))))
        cols = max(1, int(semi.cutmix_size * width * float(torch.rand(1, generator=gen))))
        top = int(torch.randint(0, height - rows + 1, (1,), generator=gen))
        left = int(torch.randint(0, width - cols + 1, (1,), generator=gen))
        boxes[i, top : top + rows, left : left + cols] = True
    return boxes


def semi_step_loss(
    model: nn.Module,
    supervised: Any,  # (logits, (B, 1, H, W) masks) -> scalar: the run's Dice + CE
    xb: torch.Tensor,
    yb: torch.Tensor,
    weak: torch.Tensor,
    semi: SegSemiConfig,
    gen: torch.Generator,
) -> tuple[torch.Tensor, int, int]:
    """The supervised loss on (xb, yb) plus `weight` x masked_dice_ce of the strong view against
    the weak view's most likely class (both CutMixed alike); also how many unlabelled pixels
    passed the threshold, and how many there were."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        probabilities = torch.softmax(model(weak).float(), dim=1)
    model.train(was_training)
    confidence, target = probabilities.max(dim=1)
    strong = strong_view(weak, semi, gen)
    if len(weak) > 1 and semi.cutmix_prob > 0:
        other = torch.randperm(len(weak), generator=gen).to(weak.device)
        height, width = int(weak.shape[-2]), int(weak.shape[-1])
        box = cutmix_boxes(len(weak), height, width, semi, gen).to(weak.device)
        strong = torch.where(box[:, None], strong[other], strong)
        target = torch.where(box, target[other], target)
        confidence = torch.where(box, confidence[other], confidence)
    labelled, strong_logits = model(torch.cat([xb, strong])).split([len(xb), len(strong)])
    mask = (confidence >= semi.threshold).float()
    unlabelled = masked_dice_ce(strong_logits.float(), target, mask)
    loss = supervised(labelled.float(), yb) + semi.weight * unlabelled
    return loss, int(mask.sum()), mask.numel()


def masked_dice_ce(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The supervised loss's two terms on the accepted pixels only (`mask` 1): pixel
    cross-entropy, averaged over every unlabelled pixel so that the term grows as the model grows
    sure and is zero while it is sure of nothing, plus the soft Dice of the foreground classes
    pooled over the batch. Cross-entropy alone let the confident background (most of the pixels
    of a lesion image) outweigh the few confident lesion pixels, and the lesions shrank run by
    run; Dice weighs each class by its own pixels, as in the supervised term (and as UniMatch's
    medical configuration does)."""
    pixel_ce = F.cross_entropy(logits, target, reduction="none")
    ce = (pixel_ce * mask).mean()
    classes = logits.shape[1]
    if classes < 2:
        return ce
    probabilities = torch.softmax(logits, dim=1)[:, 1:]
    onehot = F.one_hot(target, classes).permute(0, 3, 1, 2)[:, 1:].float()
    weight = mask[:, None]
    dims = (0, 2, 3)
    intersection = (probabilities * onehot * weight).sum(dims)
    total = (probabilities * weight).sum(dims) + (onehot * weight).sum(dims)
    dice = 1.0 - (2.0 * intersection + 1e-5) / (total + 1e-5)
    return ce + dice.mean()

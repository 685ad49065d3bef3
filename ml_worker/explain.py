"""Class-activation heat maps (Grad-CAM, Selvaraju et al. 2017) for a classifier's prediction.

Pure torch/numpy: captum's LayerGradCam on the rectified output of the model's last convolution
(the conv-BN-ReLU block that holds it, as the paper uses VGG's conv5_3 after its ReLU), upsampled
bilinearly to the model's input size, negative evidence clipped (ReLU, as in the paper) and
scaled to [0, 1]. The last convolution is used because its feature maps are the finest that still
carry the class-specific evidence the head reads; earlier layers give sharper but class-agnostic
maps. Measured on the constructed quadrant case (tests/reports), the rectified block output puts
more of the map on the deciding quadrant than the raw (pre-BatchNorm) convolution output.
`colorise` turns a map into RGBA pixels the viewer lays over the image (transparent where the
model saw nothing), and `resize_map` brings it to the image's own pixel grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn


@dataclass(frozen=True)
class Explanation:
    """A Grad-CAM map (H, W) in [0, 1] at the model's input size, for `target` class."""

    heatmap: np.ndarray
    target: int
    probabilities: np.ndarray  # (K,) softmax(logits / temperature) of the explained image


_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.PReLU)


def last_conv_layer(model: nn.Module) -> nn.Module:
    """The layer Grad-CAM reads: the last nn.Conv2d (registration order, the deepest one in every
    built-in network), or the Sequential block around it when that block ends in an activation,
    so the maps are the rectified features the rest of the network sees."""
    last: tuple[nn.Conv2d, nn.Module] | None = None
    for module in model.modules():
        for child in module.children():
            if isinstance(child, nn.Conv2d):
                last = (child, module)
    if last is None:
        raise ValueError("Grad-CAM needs a convolutional model; this one has no Conv2d layer")
    conv, parent = last
    # Only a small conv(-norm)-activation block, not a whole backbone ending in an activation.
    if (
        isinstance(parent, nn.Sequential)
        and isinstance(parent[-1], _ACTIVATIONS)
        and list(parent.children()).index(conv) >= len(parent) - 3
    ):
        return parent
    return conv


def grad_cam(
    model: nn.Module,
    image: np.ndarray,
    *,
    target: int | None = None,
    temperature: float = 1.0,
    layer: nn.Module | None = None,
) -> Explanation:
    """Explain `model`'s prediction for one (C, H, W) float32 image in [0, 1].

    `target` defaults to the predicted class. A map with no positive evidence (all zero after
    the ReLU) is returned as zeros rather than divided by zero.
    """
    if image.ndim != 3:
        raise ValueError(f"expected one (C, H, W) image, got shape {image.shape}")
    model.eval()
    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None].to(device)
    with torch.no_grad():
        logits = model(x)[0].float()
    probabilities = torch.softmax(logits / temperature, dim=0).cpu().numpy()
    chosen = int(probabilities.argmax()) if target is None else int(target)
    if not 0 <= chosen < len(probabilities):
        raise ValueError(f"target class {chosen} outside 0..{len(probabilities) - 1}")
    # captum (with the matplotlib it loads) is imported here, not with the module: the Celery
    # worker imports this module at start-up, and ~0.5 s of CPU there is wasted on every worker
    # that never draws a heat map.
    from captum.attr import LayerAttribution, LayerGradCam

    explainer = LayerGradCam(model, layer if layer is not None else last_conv_layer(model))
    x.requires_grad_(True)
    attribution = explainer.attribute(x, target=chosen, relu_attributions=True)
    upsampled = LayerAttribution.interpolate(
        attribution, tuple(image.shape[1:]), interpolate_mode="bilinear"
    )
    heatmap = upsampled[0, 0].detach().float().cpu().numpy().clip(min=0.0)
    peak = float(heatmap.max())
    heatmap = heatmap / peak if peak > 0 else np.zeros_like(heatmap)
    return Explanation(heatmap.astype(np.float32), chosen, probabilities.astype(np.float64))


def resize_map(heatmap: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Bilinear resize of a [0, 1] map to (rows, columns), values kept in [0, 1]."""
    image = Image.fromarray(np.asarray(heatmap, dtype=np.float32), mode="F")
    resized = np.asarray(image.resize((columns, rows), Image.Resampling.BILINEAR))
    return resized.clip(0.0, 1.0).astype(np.float32)


# "Jet"-like anchors (blue → cyan → yellow → red): the convention radiologists know from CAM papers.
_ANCHORS = np.array([0.0, 0.35, 0.65, 1.0])
_COLOURS = np.array([[0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0]], dtype=np.float64)


def colorise(heatmap: np.ndarray, *, max_alpha: int = 255) -> np.ndarray:
    """(H, W) [0, 1] → (H, W, 4) uint8 RGBA; alpha grows with the value, so weak evidence fades.

    The viewer's opacity slider scales this alpha further.
    """
    values = np.asarray(heatmap, dtype=np.float64).clip(0.0, 1.0)
    rgb = np.stack([np.interp(values, _ANCHORS, _COLOURS[:, c]) for c in range(3)], axis=-1)
    alpha = (np.sqrt(values) * max_alpha)[..., None]
    return np.concatenate([rgb, alpha], axis=-1).round().astype(np.uint8)


def quadrant_mass(heatmap: np.ndarray) -> dict[str, float]:
    """Share of the map's total mass per image quadrant (top_left, top_right, ...)."""
    h, w = heatmap.shape
    total = float(heatmap.sum()) or 1.0
    halves = {"top": slice(0, h // 2), "bottom": slice(h // 2, h)}
    sides = {"left": slice(0, w // 2), "right": slice(w // 2, w)}
    return {
        f"{r}_{c}": float(heatmap[rs, cs].sum()) / total
        for r, rs in halves.items()
        for c, cs in sides.items()
    }

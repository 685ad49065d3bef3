"""Run a trained detector: boxes with scores per image (in input pixels, x = column), flipped
test-time copies for disagreement, and image embeddings for diversity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ml_worker.detection.boxes import BoxTarget, from_monai
from ml_worker.detection.network import Detector
from ml_worker.training import select_device


@dataclass
class Detections:
    boxes: list[BoxTarget]  # per image: (x0, y0, x1, y1) in input pixels and class indices
    scores: list[np.ndarray]  # per image: (M,) sigmoid scores, descending
    flipped: Detections | None = None  # the same images flipped left-right (un-flipped)
    embeddings: np.ndarray | None = None  # (N, D)


def _unpack(raw: list[dict[str, torch.Tensor]]) -> tuple[list[BoxTarget], list[np.ndarray]]:
    boxes, scores = [], []
    for r in raw:
        s = r["labels_scores"].float().cpu().numpy()
        order = np.argsort(-s, kind="stable")
        b = from_monai(r["boxes"].float().cpu().numpy().reshape(-1, 4))[order]
        boxes.append(
            BoxTarget(b.astype(np.float32), r["labels"].cpu().numpy()[order].astype(np.int64))
        )
        scores.append(s[order].astype(np.float64))
    return boxes, scores


def predict_boxes(
    model: Detector,
    images: np.ndarray,
    *,
    flip_tta: bool = False,
    with_embeddings: bool = False,
    batch_size: int = 32,
    device: str | None = None,
) -> Detections:
    """(N, C, S, S) float32 images in [0, 1] -> Detections (eval mode, no gradients)."""
    dev = select_device(device)
    model.to(dev).eval()
    x_all = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    width = float(images.shape[-1])
    boxes: list[BoxTarget] = []
    scores: list[np.ndarray] = []
    flip_boxes: list[BoxTarget] = []
    flip_scores: list[np.ndarray] = []
    embeddings = []
    with torch.inference_mode():
        for start in range(0, len(x_all), batch_size):
            x = x_all[start : start + batch_size].to(dev)
            b, s = _unpack(model(x))
            boxes += b
            scores += s
            if flip_tta:
                fb, fs = _unpack(model(torch.flip(x, dims=(-1,))))
                for target in fb:  # mirror the boxes back: x -> width - x
                    mirrored = target.boxes.copy()
                    mirrored[:, [0, 2]] = width - target.boxes[:, [2, 0]]
                    flip_boxes.append(BoxTarget(mirrored, target.labels))
                flip_scores += fs
            if with_embeddings:
                embeddings.append(model.embed(x).float().cpu().numpy())
    return Detections(
        boxes=boxes,
        scores=scores,
        flipped=Detections(flip_boxes, flip_scores) if flip_tta else None,
        embeddings=np.concatenate(embeddings) if embeddings else None,
    )

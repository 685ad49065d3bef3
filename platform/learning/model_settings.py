"""The registry of network architectures and the ranges of a project's model settings.

Pure Python, shared by both sides (decision 0914): the web validates an admin's settings and
shows the choices without importing torch; the worker builds its network and augmentation from
the same names (ml_worker.models and ml_worker.augment check theirs equal, tests/ml). A setting
outside its range or a key not listed here is refused with its reason, never dropped
(decision 0380).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Architecture:
    name: str
    task_type: str  # the project task type it serves (ml_worker.task_types)
    title: str
    min_input_size: int
    default_input_size: int
    pretrained: bool  # accepts an uploaded checkpoint (transfer learning)


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("small_cnn", "classification", "Small CNN (fast, from scratch)", 16, 64, True),
        Architecture("resnet18", "classification", "ResNet-18 (MONAI)", 28, 64, True),
        Architecture("resnet50", "classification", "ResNet-50 (MONAI)", 28, 64, True),
        Architecture("densenet121", "classification", "DenseNet-121 (MONAI)", 32, 64, True),
        Architecture("unet", "segmentation", "U-Net (MONAI)", 32, 64, False),
        Architecture("basic_unet", "segmentation", "Basic U-Net (MONAI)", 32, 64, False),
    )
}

MAX_INPUT_SIZE = 512
CHANNELS = (1, 3)  # 3: the grey image repeated, so an RGB-pretrained stem applies unchanged
FREEZE_MODES = ("none", "backbone_epochs", "all_but_head")

# name -> (kind, low, high, default). Ranges are inclusive; "bool" ignores low/high.
AUGMENTATION_FIELDS: dict[str, tuple[str, float, float, Any]] = {
    "enabled": ("bool", 0, 1, True),
    "rotation_deg": ("float", 0.0, 180.0, 10.0),
    "flip_horizontal": ("bool", 0, 1, False),
    "flip_vertical": ("bool", 0, 1, False),
    "scale_min": ("float", 0.5, 1.0, 0.9),
    "scale_max": ("float", 1.0, 2.0, 1.1),
    "crop_shift": ("float", 0.0, 0.5, 0.08),
    "gamma_min": ("float", 0.3, 1.0, 0.8),
    "gamma_max": ("float", 1.0, 3.0, 1.25),
    "contrast_min": ("float", 0.3, 1.0, 0.85),
    "contrast_max": ("float", 1.0, 3.0, 1.15),
}
FREEZE_FIELDS: dict[str, tuple[str, float, float, Any]] = {
    "mode": ("choice", 0, 0, "none"),
    "epochs": ("int", 1, 500, 3),  # backbone_epochs only: how long the backbone stays frozen
}
# Semi-supervised training from the unlabelled pool (ml_worker.training.SemiConfig, decision
# 0420; the U-Net's ml_worker.segmentation.semi.SegSemiConfig, FixMatch only, decision 0427): off
# by default (it multiplies a run's CPU time several times; docs/learning.md).
SEMI_METHODS = ("fixmatch", "pseudo_label")
SEMI_TASKS = ("classification", "segmentation")
SEMI_FIELDS: dict[str, tuple[str, float, float, Any]] = {
    "enabled": ("bool", 0, 1, False),
    "method": ("choice", 0, 0, "fixmatch"),
    "threshold": ("float", 0.5, 0.99, 0.95),  # pseudo-label confidence gate
    "max_unlabeled": ("int", 1, 20_000, 5000),  # pool images a run reads at most
    "min_steps": ("int", 0, 20_000, 300),  # optimiser steps a run takes at least
}
# The allowed values of each "choice" field, by dotted name.
CHOICES: dict[str, tuple[str, ...]] = {
    "freeze.mode": FREEZE_MODES,
    "semi_supervised.method": SEMI_METHODS,
}

# The keys stored in Project.model_settings; architecture, input size and window are columns.
STORED_KEYS = ("in_channels", "augmentation", "freeze", "semi_supervised")


def default_model_settings() -> dict[str, Any]:
    return {
        "in_channels": 1,
        "augmentation": {k: v[3] for k, v in AUGMENTATION_FIELDS.items()},
        "freeze": {k: v[3] for k, v in FREEZE_FIELDS.items()},
        "semi_supervised": {k: v[3] for k, v in SEMI_FIELDS.items()},
    }


def registry_description() -> dict[str, Any]:
    """The names, ranges and defaults, as the API and the settings form show them."""

    def fields(
        spec: Mapping[str, tuple[str, float, float, Any]], prefix: str = ""
    ) -> dict[str, Any]:
        def field(key: str, kind: str, lo: float, hi: float, default: Any) -> dict[str, Any]:
            if kind in ("int", "float"):
                return {"kind": kind, "min": lo, "max": hi, "default": default}
            if kind == "choice" and f"{prefix}.{key}" in CHOICES:
                return {
                    "kind": kind,
                    "choices": list(CHOICES[f"{prefix}.{key}"]),
                    "default": default,
                }
            return {"kind": kind, "default": default}

        return {k: field(k, *v) for k, v in spec.items()}

    return {
        "architectures": [
            {
                "name": a.name,
                "task_type": a.task_type,
                "title": a.title,
                "min_input_size": a.min_input_size,
                "default_input_size": a.default_input_size,
                "pretrained": a.pretrained,
            }
            for a in ARCHITECTURES.values()
        ],
        "max_input_size": MAX_INPUT_SIZE,
        "channels": list(CHANNELS),
        "freeze_modes": list(FREEZE_MODES),
        "augmentation": fields(AUGMENTATION_FIELDS),
        "freeze": fields(FREEZE_FIELDS),
        "semi_supervised": fields(SEMI_FIELDS, "semi_supervised"),
    }


def _number(value: Any, kind: str, lo: float, hi: float) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, "must be a number"
    if kind == "int" and (not float(value).is_integer()):
        return None, "must be a whole number"
    if not lo <= value <= hi:
        return None, f"must be between {lo} and {hi}"
    return (int(value) if kind == "int" else float(value)), None


def _group(
    data: Any, spec: Mapping[str, tuple[str, float, float, Any]], prefix: str
) -> tuple[dict[str, Any], dict[str, str]]:
    if not isinstance(data, Mapping):
        return {}, {prefix: "must be an object"}
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in data.items():
        where = f"{prefix}.{key}"
        if key not in spec:
            errors[where] = f"unknown setting; known: {', '.join(spec)}"
            continue
        kind, lo, hi = spec[key][:3]
        if kind == "bool":
            if not isinstance(value, bool):
                errors[where] = "must be true or false"
            else:
                cleaned[key] = value
        elif kind == "choice":
            allowed = CHOICES[where]
            if value not in allowed:
                errors[where] = f"must be one of {', '.join(allowed)}"
            else:
                cleaned[key] = value
        else:
            number, error = _number(value, kind, lo, hi)
            if error:
                errors[where] = error
            else:
                cleaned[key] = number
    return cleaned, errors


def check_model_settings(
    data: Any, task_type: str, current: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate a (partial) settings object for a project of `task_type`.

    Returns (complete settings, errors by dotted field name). `current` is the project's settings
    before this change: a partial update keeps what it does not name. Keys: architecture,
    input_size, in_channels, window_center, window_width, augmentation{...}, freeze{...}.
    """
    base = {**default_model_settings(), **(current or {})}
    if not isinstance(data, Mapping):
        return dict(base), {"non_field_errors": "settings must be an object"}
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        **base,
        "augmentation": {
            **default_model_settings()["augmentation"],
            **dict(base.get("augmentation") or {}),
        },
        "freeze": {**default_model_settings()["freeze"], **dict(base.get("freeze") or {})},
        "semi_supervised": {
            **default_model_settings()["semi_supervised"],
            **dict(base.get("semi_supervised") or {}),
        },
    }
    known = {"architecture", "input_size", "in_channels", "window_center", "window_width"}
    known |= {"augmentation", "freeze", "semi_supervised"}
    for key in data:
        if key not in known:
            errors[str(key)] = f"unknown setting; known: {', '.join(sorted(known))}"
    if "architecture" in data:
        arch = (
            ARCHITECTURES.get(data["architecture"])
            if isinstance(data["architecture"], str)
            else None
        )
        if arch is None:
            names = [a.name for a in ARCHITECTURES.values() if a.task_type == task_type]
            errors["architecture"] = (
                f"unknown architecture; known for {task_type}: {', '.join(names)}"
            )
        elif arch.task_type != task_type:
            errors["architecture"] = f"{arch.name} is a {arch.task_type} network, not {task_type}"
        else:
            out["architecture"] = arch.name
    if "input_size" in data:
        arch = ARCHITECTURES.get(str(out.get("architecture", "")))
        low = arch.min_input_size if arch else 16
        size, error = _number(data["input_size"], "int", low, MAX_INPUT_SIZE)
        if error:
            errors["input_size"] = error
        else:
            out["input_size"] = size
    if "in_channels" in data:
        if data["in_channels"] not in CHANNELS or isinstance(data["in_channels"], bool):
            errors["in_channels"] = f"must be one of {', '.join(map(str, CHANNELS))}"
        else:
            out["in_channels"] = int(data["in_channels"])
    for key in ("window_center", "window_width"):
        if key in data and data[key] is not None:
            value, error = _number(data[key], "float", -100_000.0, 100_000.0)
            if error:
                errors[key] = error
            elif key == "window_width" and value <= 0:
                errors[key] = "must be positive"
            else:
                out[key] = value
        elif key in data:
            out[key] = None
    if "augmentation" in data:
        cleaned, group_errors = _group(data["augmentation"], AUGMENTATION_FIELDS, "augmentation")
        out["augmentation"].update(cleaned)
        errors.update(group_errors)
    if "freeze" in data:
        cleaned, group_errors = _group(data["freeze"], FREEZE_FIELDS, "freeze")
        out["freeze"].update(cleaned)
        errors.update(group_errors)
    if "semi_supervised" in data:
        cleaned, group_errors = _group(data["semi_supervised"], SEMI_FIELDS, "semi_supervised")
        out["semi_supervised"].update(cleaned)
        errors.update(group_errors)
    semi = out["semi_supervised"]
    if semi["enabled"] and task_type not in SEMI_TASKS:
        errors.setdefault(
            "semi_supervised.enabled",
            "semi-supervised training is for classification and segmentation projects",
        )
    elif semi["enabled"] and task_type == "segmentation" and semi["method"] != "fixmatch":
        errors.setdefault(
            "semi_supervised.method", "a segmentation project's semi-supervised method is fixmatch"
        )
    augmentation = out["augmentation"]
    for lower, upper in (("scale_min", "scale_max"), ("gamma_min", "gamma_max")):
        if augmentation[lower] > augmentation[upper]:
            errors.setdefault(f"augmentation.{lower}", f"must not exceed {upper}")
    arch = ARCHITECTURES.get(str(out.get("architecture", "")))
    if arch is not None and "input_size" in out and out["input_size"] < arch.min_input_size:
        errors.setdefault("input_size", f"{arch.name} needs at least {arch.min_input_size} px")
    if arch is not None and not arch.pretrained and out["freeze"]["mode"] != "none":
        errors.setdefault("freeze.mode", f"{arch.name} takes no pretrained backbone to freeze")
    return out, errors


def augmentation_kwargs(augmentation: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored augmentation settings as ml_worker.augment.AugmentConfig's arguments (None:
    augmentation off)."""
    merged = {**default_model_settings()["augmentation"], **augmentation}
    if not merged["enabled"]:
        return None
    return {
        "rotation_deg": float(merged["rotation_deg"]),
        "scale_range": (float(merged["scale_min"]), float(merged["scale_max"])),
        "crop_shift": float(merged["crop_shift"]),
        "flip_horizontal": bool(merged["flip_horizontal"]),
        "flip_vertical": bool(merged["flip_vertical"]),
        "gamma_range": (float(merged["gamma_min"]), float(merged["gamma_max"])),
        "contrast_range": (float(merged["contrast_min"]), float(merged["contrast_max"])),
    }


def semi_kwargs(semi: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored semi-supervised settings as ml_worker.training.SemiConfig's arguments (None:
    off); a segmentation run takes them but `method` (SegSemiConfig)."""
    merged = {**default_model_settings()["semi_supervised"], **semi}
    if not merged["enabled"]:
        return None
    return {
        "method": str(merged["method"]),
        "threshold": float(merged["threshold"]),
        "max_unlabeled": int(merged["max_unlabeled"]),
        "min_steps": int(merged["min_steps"]),
    }

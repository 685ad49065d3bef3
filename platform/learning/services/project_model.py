"""A project's model settings: read as one object, changed only through learning.model_settings.

Architecture, input size and window are Project columns (the preprocessing reads them); channels,
augmentation and freezing live in Project.model_settings. A change with any invalid or unknown
key changes nothing (decision 0380).
"""

from __future__ import annotations

from typing import Any

from annotations.models import Project
from learning.model_settings import (
    ARCHITECTURES,
    STORED_KEYS,
    check_model_settings,
    default_model_settings,
)

COLUMNS = ("architecture", "input_size", "window_center", "window_width")


class ModelSettingsError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def model_settings_of(project: Project) -> dict[str, Any]:
    stored = default_model_settings()
    for key in STORED_KEYS:
        if key in (project.model_settings or {}):
            value = project.model_settings[key]
            stored[key] = {**stored[key], **value} if isinstance(stored[key], dict) else value
    return {**{c: getattr(project, c) for c in COLUMNS}, **stored, **_own_architecture(project)}


def _own_architecture(project: Project) -> dict[str, str]:
    """The project's first registered architecture when its column holds another task's: the
    column's default is the classifier's (small_cnn), which a segmentation project's form could
    neither show (the form reads the task from the architecture) nor save back."""
    current = ARCHITECTURES.get(project.architecture)
    if current is None or current.task_type == project.task_type:
        return {}
    own = [a.name for a in ARCHITECTURES.values() if a.task_type == project.task_type]
    return {"architecture": own[0]} if own else {}


def do_update_model_settings(project: Project, data: Any) -> dict[str, Any]:
    """Validate `data` (partial) against the registry and save; ModelSettingsError if refused."""
    cleaned, errors = check_model_settings(data, project.task_type, model_settings_of(project))
    if errors:
        raise ModelSettingsError(errors)
    for column in COLUMNS:
        setattr(project, column, cleaned[column])
    project.model_settings = {key: cleaned[key] for key in STORED_KEYS}
    project.save(update_fields=[*COLUMNS, "model_settings"])
    return model_settings_of(project)

"""Create and change projects, their label schema and their members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotations.models import Annotation, Item, LabelClass, Membership, Project, Role
from annotations.services.errors import Invalid

# Settings that change what existing answers mean; frozen once work exists.
FROZEN_ONCE_ANNOTATED = ("task_type", "multi_label")
FROZEN_ONCE_ITEMS = ("unit",)


def do_create_project(user: AbstractBaseUser, data: dict[str, Any]) -> Project:
    classes = data.pop("label_classes", [])
    with transaction.atomic():
        project = Project.objects.create(created_by_id=user.pk, **data)
        _write_classes(project, classes)
        # The creator administers the project even without superuser rights elsewhere.
        Membership.objects.get_or_create(
            project=project, user_id=user.pk, defaults={"role": Role.ADMIN}
        )
    return project


def do_update_project(project: Project, data: dict[str, Any]) -> Project:
    classes = data.pop("label_classes", None)
    annotated = Annotation.objects.filter(item__project=project).exists()
    errors: dict[str, list[str]] = {}
    for name in FROZEN_ONCE_ANNOTATED:
        if annotated and name in data and data[name] != getattr(project, name):
            errors[name] = ["cannot change once the project has annotations"]
    for name in FROZEN_ONCE_ITEMS:
        changed = name in data and data[name] != getattr(project, name)
        if changed and Item.objects.filter(project=project).exists():
            errors[name] = ["cannot change once studies are attached"]
    if errors:
        raise Invalid(errors)
    with transaction.atomic():
        for name, value in data.items():
            setattr(project, name, value)
        project.save()
        if classes is not None:
            _write_classes(project, classes, annotated=annotated)
    return project


def _write_classes(
    project: Project, classes: list[dict[str, Any]], *, annotated: bool = False
) -> None:
    """Upsert by name, in the given order. A class may be removed only before any annotation."""
    existing = {c.name: c for c in LabelClass.objects.filter(project=project)}
    wanted = [c["name"] for c in classes]
    removed = sorted(set(existing) - set(wanted))
    if removed and annotated:
        raise Invalid({"label_classes": [f"in use, cannot remove: {', '.join(removed)}"]})
    LabelClass.objects.filter(project=project, name__in=removed).delete()
    # Move indexes out of the way first: (project, index) is unique at every step.
    for offset, cls in enumerate(existing.values()):
        if cls.name in wanted:
            LabelClass.objects.filter(pk=cls.pk).update(index=10000 + offset)
    for index, spec in enumerate(classes):
        LabelClass.objects.update_or_create(
            project=project,
            name=spec["name"],
            defaults={
                "index": index,
                "color": spec.get("color", "#ff0000"),
                "shortcut": spec.get("shortcut", ""),
                "attributes": spec.get("attributes", []),
            },
        )


def do_set_member(project: Project, data: dict[str, Any]) -> tuple[Membership, bool]:
    users = get_user_model().objects
    if data.get("user") is not None:
        user = users.filter(pk=data["user"], is_active=True).first()
    else:
        user = users.filter(username=data.get("username", ""), is_active=True).first()
    if user is None:
        raise Invalid({"user": ["no such active user"]})
    membership, created = Membership.objects.update_or_create(
        project=project,
        user=user,
        defaults={"role": data["role"], "can_export": data.get("can_export", False)},
    )
    return membership, created

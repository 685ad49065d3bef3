"""Create and change projects and their label schema (docs/projects.md)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotations.models import Annotation, Item, LabelClass, Membership, Project, Review, Role
from annotations.services.errors import Invalid

# Settings that change what existing work means, with the reason the settings page shows.
FROZEN_ONCE_ITEMS = {
    "task_type": "fixed once studies are attached: their items and answers were made for it",
    "unit": "fixed once studies are attached: items were made per instance, frame or series",
}
FROZEN_ONCE_ANNOTATED = {
    "multi_label": "fixed once the project has annotations: answers were given under it",
}


def locked_settings(project: Project) -> dict[str, str]:
    """Settings that can no longer change, each with its reason."""
    locked: dict[str, str] = {}
    if Item.objects.filter(project=project).exists():
        locked.update(FROZEN_ONCE_ITEMS)
    if Annotation.objects.filter(item__project=project).exists():
        locked.update(FROZEN_ONCE_ANNOTATED)
    return locked


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
    locked = locked_settings(project)
    errors = {
        name: [reason]
        for name, reason in locked.items()
        if name in data and data[name] != getattr(project, name)
    }
    if errors:
        raise Invalid(errors)
    with transaction.atomic():
        for name, value in data.items():
            setattr(project, name, value)
        project.save()
        if classes is not None:
            _write_classes(project, classes)
    return project


def label_usage(project: Project, names: Iterable[str]) -> Counter[str]:
    """How many current annotations (readers' and reviews') assert each class name."""
    wanted = set(names)
    counts: Counter[str] = Counter()
    if not wanted:
        return counts
    current = Annotation.objects.filter(item__project=project, is_current=True, deleted=False)
    # Class answers are short lists: read them; shapes name one label, counted by the database.
    for labels in current.filter(kind="class").values_list("payload__labels", flat=True):
        counts.update(name for name in labels or [] if name in wanted)
    for name in wanted:
        counts[name] += current.exclude(kind="class").filter(payload__label=name).count()
    return +counts


def _write_classes(project: Project, classes: list[dict[str, Any]]) -> None:
    """Make the project's classes exactly `classes`, in that order.

    A spec with the `id` of an existing class is that class (a new name is a rename, and every
    stored answer follows it); without one, an existing class of the same name is kept. Classes
    left out are removed, unless an annotation still uses them (refused with the count)."""
    existing = {c.pk: c for c in LabelClass.objects.filter(project=project)}
    by_name = {c.name: c for c in existing.values()}
    chosen: list[LabelClass | None] = []
    errors: list[str] = []
    for spec in classes:
        if spec.get("id") is not None:
            found = existing.get(spec["id"])
            if found is None:
                errors.append(f"class id {spec['id']} is not a class of this project")
        else:
            found = by_name.get(spec["name"])
        chosen.append(found)
    kept = [c.pk for c in chosen if c is not None]
    if len(set(kept)) != len(kept):
        errors.append("a class appears twice")
    if errors:
        raise Invalid({"label_classes": errors})
    removed = [c for pk, c in existing.items() if pk not in kept]
    in_use = label_usage(project, [c.name for c in removed])
    if in_use:
        raise Invalid(
            {
                "label_classes": [
                    f"cannot delete {name!r}: {count} annotation(s) use it; rename it instead "
                    "or change those answers first"
                    for name, count in sorted(in_use.items())
                ]
            }
        )
    renames = {
        cls.name: spec["name"]
        for cls, spec in zip(chosen, classes, strict=True)
        if cls is not None and cls.name != spec["name"]
    }
    LabelClass.objects.filter(pk__in=[c.pk for c in removed]).delete()
    # (project, index) and (project, name) are unique at every step: move kept rows aside first
    # (a swap of two names or positions would otherwise collide half-way).
    aside = uuid.uuid4().hex
    for offset, pk in enumerate(kept):
        LabelClass.objects.filter(pk=pk).update(index=10000 + offset, name=f"{aside} {offset}")
    for index, (cls, spec) in enumerate(zip(chosen, classes, strict=True)):
        values = {
            "name": spec["name"],
            "index": index,
            "color": spec.get("color", cls.color if cls else "#ff0000"),
            "shortcut": spec.get("shortcut", cls.shortcut if cls else ""),
            "attributes": spec.get("attributes", cls.attributes if cls else []),
        }
        if cls is None:
            LabelClass.objects.create(project=project, **values)
        else:
            LabelClass.objects.filter(pk=cls.pk).update(**values)
    if renames:
        _rename_labels(project, renames)


def _rename_labels(project: Project, renames: dict[str, str]) -> None:
    """Every stored answer of the project, each version and review, says the new names.

    A class name is the key answers use; a rename is a change of the schema, not of anyone's
    answer, so it rewrites the rows in place rather than adding versions under someone's name
    (decision 0930). Each row is read once and mapped once, so a swap (a→b, b→a) is exact."""
    rows = Annotation.objects.filter(item__project=project)
    changed: list[Annotation] = []
    for row in rows.filter(kind="class").only("pk", "payload"):
        labels = row.payload.get("labels") or []
        if any(name in renames for name in labels):
            row.payload = {**row.payload, "labels": [renames.get(n, n) for n in labels]}
            changed.append(row)
    shapes = rows.exclude(kind="class").filter(payload__label__in=list(renames))
    for row in shapes.only("pk", "payload"):
        row.payload = {**row.payload, "label": renames[row.payload["label"]]}
        changed.append(row)
    Annotation.objects.bulk_update(changed, ["payload"], batch_size=500)
    reviews = [
        review
        for review in Review.objects.filter(item__project=project).only("pk", "payload")
        if _rename_in_review(review, renames)
    ]
    Review.objects.bulk_update(reviews, ["payload"], batch_size=500)
    _rename_in_models(project, renames)


def _rename_in_review(review: Review, renames: dict[str, str]) -> bool:
    payload = dict(review.payload or {})
    before = repr(payload)
    if isinstance(payload.get("labels"), list):
        payload["labels"] = [renames.get(n, n) for n in payload["labels"]]
    shapes = []
    for shape in payload.get("annotations") or []:
        inner = dict(shape.get("payload") or {})
        if isinstance(inner.get("label"), str):
            inner["label"] = renames.get(inner["label"], inner["label"])
        if isinstance(inner.get("labels"), list):
            inner["labels"] = [renames.get(n, n) for n in inner["labels"]]
        shapes.append({**shape, "payload": inner})
    if "annotations" in payload:
        payload["annotations"] = shapes
    review.payload = payload
    return repr(payload) != before


def _rename_in_models(project: Project, renames: dict[str, str]) -> None:
    """A trained model's output i still means the class at i: its suggestions use the new name."""
    from learning.models import ModelVersion  # the registry's rows (no torch)

    for version in ModelVersion.objects.filter(project=project).only("pk", "config"):
        names = (version.config or {}).get("class_names")
        if isinstance(names, list) and any(n in renames for n in names):
            version.config = {**version.config, "class_names": [renames.get(n, n) for n in names]}
            version.save(update_fields=["config"])

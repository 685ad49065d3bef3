"""annotations' side of the seam through which `studies` reaches projects.

settings.STUDIES_PROJECT_SEAM names this module; platform/studies/projects_seam.py declares the
five functions (ProjectSeam) and is the only door studies has to projects, roles and items.
Access questions are answered by annotations.access, Items made by annotations.items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Exists, OuterRef, Q

from annotations import access, items
from annotations.models import Item, Project
from studies.models import Instance


def find_project(project_id: int, user: Any = None) -> Project | None:
    projects = Project.objects.all() if user is None else Project.objects.for_member(user)
    return projects.filter(pk=project_id).first()


def may_store(user: Any, project: Project | None) -> bool:
    return access.may_store(user, project)


def create_items(project: Project, instances: Sequence[Instance]) -> int:
    return items.create_items(project, instances)


def study_filter(user: Any, study_ref: str, project_id: int | None = None) -> Q:
    if project_id is not None:
        # Exists per study (not IN): the plan decision 0123's lean reads were measured with.
        attached_items = Item.objects.filter(project_id=project_id)
        attached = Exists(
            attached_items.filter(instance__series__study=OuterRef(study_ref))
        ) | Exists(attached_items.filter(series__study=OuterRef(study_ref)))
        if access.is_superuser(user):
            return Q(attached)
        member = Exists(Project.objects.filter(pk=project_id).filter(access.member_q(user)))
        return Q(attached) & Q(member)
    if access.is_superuser(user):
        return Q()  # every study, attached to a project or not
    # Items point at an instance (instance/frame projects) or a series (series projects).
    mine = Item.objects.filter(access.member_q(user, "project__"))
    return Q(
        **{
            f"{study_ref}__in": mine.filter(instance__isnull=False).values(
                "instance__series__study"
            )
        }
    ) | Q(**{f"{study_ref}__in": mine.filter(series__isnull=False).values("series__study")})


def projects_holding(study_pk: int) -> set[int]:
    return items.projects_holding(study_pk)

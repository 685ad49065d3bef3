"""Who may do what in a project. Querysets decide visibility; roles decide actions.

Outsiders (and anonymous callers) never learn that a project or item exists: lookups raise 404.
Members lacking a role get 403. Django superusers act as admins of every project.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import CharField, Exists, F, OuterRef, QuerySet, Value
from django.http import Http404
from rest_framework.exceptions import NotAuthenticated

from annotations.models import Item, Lease, Membership, Project, Role
from annotations.services.errors import Forbidden

User = AbstractBaseUser | AnonymousUser

REVIEW_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})


def signed_in(request: Any) -> AbstractBaseUser:
    """The caller as a real user; the API's IsAuthenticated permission already ran."""
    user = request.user
    if not user.is_authenticated:
        raise NotAuthenticated()
    return cast(AbstractBaseUser, user)


def member_projects(user: User) -> QuerySet[Project]:
    """The caller's projects, each annotated with the caller's role as `member_role`.

    One join and no DISTINCT: (project, user) is unique in Membership, so no project repeats,
    and the role comes from the row the join already found (no second query for it)."""
    if not user.is_authenticated:
        return Project.objects.none()
    if getattr(user, "is_superuser", False):
        return Project.objects.annotate(member_role=Value(Role.ADMIN, output_field=CharField()))
    return Project.objects.filter(memberships__user_id=cast(int, user.pk)).annotate(
        member_role=F("memberships__role")
    )


def project_for_member(user: User, project_id: int) -> Project:
    project = member_projects(user).filter(pk=project_id).first()
    if project is None:
        raise Http404("no such project")
    return project


def item_for_member(user: User, item_id: int) -> Item:
    item = (
        Item.objects.for_member(user)
        .select_related("project", "instance__series__study")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404("no such item")
    return item


def item_to_write(user: User, item_id: int) -> Item:
    """An item to save annotations on: with its project and image size (nothing else), and
    `given_to_caller` (the queue leased it to the caller once) for annotate.require_assignment,
    all in one query. 404 for outsiders."""
    leased = Lease.objects.filter(item=OuterRef("pk"), user_id=cast(int, user.pk))
    item = (
        Item.objects.for_member(user)
        .select_related("project", "instance")
        .defer("instance__frame_offsets")  # per-frame byte offsets: long, and not needed here
        .annotate(given_to_caller=Exists(leased))
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404("no such item")
    return item


def role_of(user: User, project: Project) -> str | None:
    """The caller's role; "admin" for superusers; None for outsiders."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    return (
        Membership.objects.filter(project=project, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )


def require_role(user: User, project: Project, roles: frozenset[str] | set[str]) -> str:
    role = role_of(user, project)
    if role is None:
        raise Http404("no such project")
    if role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(sorted(roles))} in the project")
    return role


def require_admin(user: User, project: Project) -> str:
    return require_role(user, project, {Role.ADMIN})


def require_reviewer(user: User, project: Project) -> str:
    return require_role(user, project, REVIEW_ROLES)

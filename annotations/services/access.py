"""Who may do what in a project. Querysets decide visibility; roles decide actions.

Outsiders (and anonymous callers) never learn that a project or item exists: lookups raise 404.
Members lacking a role get 403. Django superusers act as admins of every project.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404
from rest_framework.exceptions import NotAuthenticated

from annotations.models import Item, Membership, Project, Role
from annotations.services.errors import Forbidden

User = AbstractBaseUser | AnonymousUser

REVIEW_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})


def signed_in(request: Any) -> AbstractBaseUser:
    """The caller as a real user; the API's IsAuthenticated permission already ran."""
    user = request.user
    if not user.is_authenticated:
        raise NotAuthenticated()
    return cast(AbstractBaseUser, user)


def project_for_member(user: User, project_id: int) -> Project:
    project = Project.objects.for_member(user).filter(pk=project_id).first()
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

"""Who may see and steer a project's learning loop.

Members (any role) read runs and model versions; only the project's admins (and Django
superusers) start, cancel, promote or roll back. Outsiders never learn the project exists: the
lookups below raise 404 for them, never 403.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from annotations.models import Membership, Project, Role

User = AbstractBaseUser | AnonymousUser


def project_for_member(user: User, project_id: int) -> Project:
    project = Project.objects.for_member(user).filter(pk=project_id).first()
    if project is None:
        raise Http404("no such project")
    return project


def is_project_admin(user: User, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(project=project, user_id=user.pk, role=Role.ADMIN).exists()

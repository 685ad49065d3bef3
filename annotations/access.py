"""Who may see and do what, for every room (docs/decisions/0912). Querysets decide visibility;
roles decide actions. Adding a role means adding it to Role and to the role sets below; no other
module reads Membership or `is_superuser` to decide access (studies asks through its seam).

Outsiders (and anonymous callers) never learn that a project or item exists: lookups raise 404.
Members lacking a role get 403. Django superusers act as admins of every project.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from rest_framework.exceptions import NotAuthenticated

from annotations.models import Annotation, Item, Lease, Membership, Project, Role
from annotations.services.errors import Forbidden

User = AbstractBaseUser | AnonymousUser

# What each right needs. Members of any role see the project and label.
ADMIN_ROLES = frozenset({Role.ADMIN})  # settings, members, training, promotion, storing studies
REVIEW_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})
STORE_ROLES = ADMIN_ROLES  # STOW-RS and uploads into the project


def is_superuser(user: Any) -> bool:
    """A signed-in Django superuser: admin of every project, and the only one who may act
    outside any project (uploads without a project, the Django admin of studies)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_superuser", False))


def may_create_projects(user: Any) -> bool:
    """Superusers, and people a site administrator gave Django's `annotations.add_project`
    permission (a department lead who runs projects without being a site superuser)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (is_superuser(user) or user.has_perm("annotations.add_project"))
    )


def member_q(user: Any, prefix: str = "") -> Q:
    """Projects, reached from the filtered model by `prefix` (e.g. "project__"), that `user` is a
    member of: all for superusers, none for anonymous callers. (project, user) is unique in
    Membership, so the join repeats no row."""
    if not getattr(user, "is_authenticated", False):
        return Q(**{f"{prefix}pk__in": []})
    if is_superuser(user):
        return Q()
    return Q(**{f"{prefix}memberships__user_id": cast(int, user.pk)})


def exportable_q(user: Any, prefix: str = "") -> Q:
    """Projects whose datasets `user` may export: superusers all; project admins; members whose
    membership carries `can_export` (any role, reviewers included). Decision 0500."""
    if not getattr(user, "is_authenticated", False):
        return Q(**{f"{prefix}pk__in": []})
    if is_superuser(user):
        return Q()
    return Q(**{f"{prefix}memberships__user": user}) & (
        Q(**{f"{prefix}memberships__role__in": sorted(ADMIN_ROLES)})
        | Q(**{f"{prefix}memberships__can_export": True})
    )


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
    if is_superuser(user):
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
    and `caller_shapes` (the caller's current shapes) for the per-item cap, all in one
    query. 404 for outsiders."""
    leased = Lease.objects.filter(item=OuterRef("pk"), user_id=cast(int, user.pk))
    # The caller's current shapes, for annotate's per-item cap, in the same query.
    shapes = (
        Annotation.objects.filter(
            item=OuterRef("pk"), author_id=cast(int, user.pk), is_current=True, deleted=False
        )
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    item = (
        Item.objects.for_member(user)
        .select_related("project", "instance")
        .defer("instance__frame_offsets")  # per-frame byte offsets: long, and not needed here
        .annotate(given_to_caller=Exists(leased), caller_shapes=Coalesce(Subquery(shapes), 0))
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
    if is_superuser(user):
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
    return require_role(user, project, ADMIN_ROLES)


def is_project_admin(user: User, project: Project) -> bool:
    """require_admin as a question: for checks that answer 403 themselves."""
    return role_of(user, project) in ADMIN_ROLES


def may_store(user: User | None, project: Project | None) -> bool:
    """Adding studies: the operator (no user) and superusers anywhere; STORE_ROLES into their
    project."""
    if user is None or is_superuser(user):
        return True
    return project is not None and role_of(user, project) in STORE_ROLES


def may_export(user: User, project: Project) -> bool:
    return Project.objects.filter(pk=project.pk).filter(exportable_q(user)).exists()


def require_reviewer(user: User, project: Project) -> str:
    return require_role(user, project, REVIEW_ROLES)

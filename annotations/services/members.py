"""A project's team: add or invite people, change their role, remove them (docs/projects.md).

Every change takes effect on the caller's next request: access is read from Membership on each
API call, and saving or deleting a Membership bumps the DICOMweb revocation counter (decision
0161, annotations.apps), so no process keeps serving frames from its cache. A removed member's
open leases are closed at once so their items return to the queue for the others.

A project always keeps one admin: the last one can be neither removed nor demoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from annotations.models import Item, Lease, Membership, Project, Role
from annotations.services.errors import Conflict, Invalid
from core.invitations import create_invited_account, invitation_path, is_pending_invitation

LAST_ADMIN = "a project needs at least one admin: make someone else admin first"


@dataclass
class MemberChange:
    membership: Membership
    created: bool
    # Set when the person has not accepted an invitation yet: the path of a fresh one-time link.
    invite_path: str | None = None


def do_add_member(project: Project, data: dict[str, Any]) -> MemberChange:
    """Add someone (by user id, username or e-mail) with a role, or change the role of someone
    already in. An unknown e-mail becomes an invited account where ALLOW_INVITE_SIGNUP allows."""
    user = _find_user(data)
    with transaction.atomic():
        _lock(project)
        if user is None:
            user = create_invited_account(data["email"])
        current = Membership.objects.filter(project=project, user=user).first()
        if current is not None:
            _refuse_losing_last_admin(project, current, data["role"])
        membership, created = Membership.objects.update_or_create(
            project=project,
            user=user,
            defaults={"role": data["role"], "can_export": data.get("can_export", False)},
        )
    link = invitation_path(user) if is_pending_invitation(user) else None
    return MemberChange(membership, created, link)


def do_change_member(project: Project, user_id: int, data: dict[str, Any]) -> Membership:
    with transaction.atomic():
        _lock(project)
        membership = _membership(project, user_id)
        if "role" in data:
            _refuse_losing_last_admin(project, membership, data["role"])
        for name in ("role", "can_export"):
            if name in data:
                setattr(membership, name, data[name])
        membership.save()
    return membership


def do_remove_member(project: Project, user_id: int) -> None:
    with transaction.atomic():
        _lock(project)
        membership = _membership(project, user_id)
        if membership.role == Role.ADMIN and _admin_count(project) <= 1:
            raise Conflict(LAST_ADMIN)
        membership.delete()  # a model delete: its post_delete signal revokes DICOMweb caches
        now = timezone.now()
        open_leases = Lease.objects.filter(
            item__project=project, user_id=user_id, closed_at__isnull=True
        )
        item_ids = list(open_leases.values_list("item_id", flat=True))
        open_leases.update(closed_at=now, outcome="revoked")
        Item.objects.filter(pk__in=item_ids).update(lease_expires_at=None)


def send_invitation(email: str, link: str, project: Project, inviter: Any) -> str:
    """E-mail the link through Django's mail backend; "" when sent, else why not (the admin
    still sees the link and can pass it on)."""
    who = inviter.get_username()
    body = (
        f"{who} invited you to the labelling project “{project.name}” on Radloop.\n\n"
        f"Open this link to choose your password (it works once):\n{link}\n"
    )
    try:
        send_mail(f"Invitation to {project.name}", body, None, [email])
    except Exception as exc:  # an SMTP server down must not lose the invitation itself
        return f"the e-mail could not be sent: {exc}"
    return ""


def _find_user(data: dict[str, Any]) -> Any:
    users = get_user_model().objects
    if data.get("user") is not None:
        found = users.filter(pk=data["user"]).first()
        return _usable(found, "user", "no such user")
    if data.get("username"):
        found = users.filter(username=data["username"]).first()
        return _usable(found, "username", "no account with this username")
    email = data["email"]
    found = users.filter(username=email).first()
    if found is None:
        matches = list(users.filter(email__iexact=email)[:2])
        if len(matches) > 1:
            raise Invalid({"email": ["several accounts have this e-mail: invite by username"]})
        found = matches[0] if matches else None
    if found is None:
        if not settings.ALLOW_INVITE_SIGNUP:
            raise Invalid(
                {"email": ["no account with this e-mail, and this server does not create "
                           "accounts by invitation: ask its administrator"]}
            )  # fmt: skip
        return None
    return _usable(found, "email", "no account with this e-mail")


def _usable(user: Any, field: str, missing: str) -> Any:
    if user is None:
        raise Invalid({field: [missing]})
    if not user.is_active and not is_pending_invitation(user):
        raise Invalid({field: ["this account is deactivated"]})
    return user


def _lock(project: Project) -> None:
    """Membership changes of one project run one at a time: two admins demoting each other at
    once must not leave it with none."""
    list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))


def _membership(project: Project, user_id: int) -> Membership:
    membership = Membership.objects.filter(project=project, user_id=user_id).first()
    if membership is None:
        raise Http404("no such member")
    return membership


def _admin_count(project: Project) -> int:
    return Membership.objects.filter(project=project, role=Role.ADMIN).count()


def _refuse_losing_last_admin(project: Project, membership: Membership, role: str) -> None:
    if membership.role == Role.ADMIN and role != Role.ADMIN and _admin_count(project) <= 1:
        raise Invalid({"role": [LAST_ADMIN]})

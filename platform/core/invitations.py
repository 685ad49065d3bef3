"""One-time invitation links: an account created by a project admin's invitation is inactive
and has no usable password until its owner opens the link and chooses one.

Django's password-reset token machinery with a salt of its own, so a reset token and an
invitation token are not interchangeable. The token hashes the password, so the link stops
working the moment it is used; it also lapses after PASSWORD_RESET_TIMEOUT (3 days by default).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import HttpResponse
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


class InviteTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "radloop.core.invitations.InviteTokenGenerator"


invite_tokens = InviteTokenGenerator()


def is_pending_invitation(user: Any) -> bool:
    """Invited and not yet accepted: inactive and without a password (a deactivated account
    keeps its password and is not re-opened by an invitation)."""
    return not user.is_active and not user.has_usable_password()


def create_invited_account(email: str) -> Any:
    """An inactive account named by its e-mail address (unique, and what the admin typed)."""
    users = get_user_model()
    user = users(username=email, email=email, is_active=False)
    user.set_unusable_password()
    user.save()
    return user


def invitation_path(user: Any) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("invite-accept", args=[uid, invite_tokens.make_token(user)])


class InviteAccept(PasswordResetConfirmView):
    """The invitee chooses a password; the account becomes active and is signed in."""

    token_generator = invite_tokens
    template_name = "registration/invite_accept.html"
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = "/"

    def form_valid(self, form: Any) -> HttpResponse:
        # SetPasswordForm.save() saves the whole user: the flag goes in with the password.
        form.user.is_active = True
        return super().form_valid(form)

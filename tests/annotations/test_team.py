"""The team page's API: add people by username or e-mail, invite someone new with a one-time
link, change roles, remove members; the project always keeps an admin, and a removal takes
effect on the very next queue or DICOMweb request."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from annotations.models import Lease, Membership
from studies.dicomweb import hotcache
from tests.annotations.helpers import take
from tests.cast import make_project
from tests.studies.dicomweb_support import attach, ingest, instance_url, pydicom_file, token_client

P = "/api/v1/projects/"


def members(cast: Any) -> dict[str, str]:
    rows = cast.client(cast.alice).get(f"{P}{cast.project.pk}/members/").json()
    return {row["username"]: row["role"] for row in rows}


def test_an_admin_adds_an_existing_doctor_by_username_or_e_mail(cast: Any) -> None:
    url = f"{P}{cast.project.pk}/members/"
    by_name = cast.client(cast.alice).post(url, {"username": "otto", "role": "annotator"})
    assert by_name.status_code == 201, by_name.content
    assert by_name.json()["invite_link"] is None and by_name.json()["pending"] is False
    cast.person("erin")
    by_mail = cast.client(cast.alice).post(url, {"email": "ERIN@x.test", "role": "reviewer"})
    assert by_mail.status_code == 201, by_mail.content
    assert members(cast)["erin"] == "reviewer"
    assert mail.outbox == []  # people with an account need no link
    assert cast.client(cast.otto).get(f"{P}{cast.project.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"username": "nobody", "role": "annotator"}, "username", "no account with this"),
        ({"email": "not-an-address", "role": "annotator"}, "email", "valid email"),
        ({"username": "otto", "role": "owner"}, "role", "not a valid choice"),
        ({"role": "annotator"}, "username", "give one of"),
        ({"username": "otto", "email": "o@x.test", "role": "annotator"}, "username", "one of"),
    ],
)
def test_bad_additions_say_which_field_and_why(
    cast: Any, body: dict[str, Any], field: str, reason: str
) -> None:
    response = cast.client(cast.alice).post(f"{P}{cast.project.pk}/members/", body, format="json")
    assert response.status_code == 400
    assert reason in str(response.json()[field]), response.json()


def test_a_new_person_is_invited_and_sets_a_password_through_a_one_time_link(
    cast: Any, settings: Any
) -> None:
    response = cast.client(cast.alice).post(
        f"{P}{cast.project.pk}/members/", {"email": "rosa@clinic.test", "role": "reviewer"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "rosa@clinic.test" and body["pending"] is True
    assert body["invite_email_error"] == ""
    link = body["invite_link"]
    assert link.startswith("http://testserver/accounts/invite/")
    (message,) = mail.outbox
    assert message.to == ["rosa@clinic.test"] and link in message.body

    rosa = get_user_model().objects.get(username="rosa@clinic.test")
    assert not rosa.is_active and not rosa.has_usable_password()  # no sign-in before the link
    browser = Client()
    form = browser.get(link, follow=True)
    assert b"Choose a password" in form.content
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a long new secret", "new_password2": "a long new secret"},
    )
    assert done.status_code == 302 and done["Location"] == "/"
    projects = browser.get("/api/v1/projects/").json()
    rows = projects["results"] if isinstance(projects, dict) else projects
    names = [p["name"] for p in rows]
    assert names == [cast.project.name]
    # The link worked once.
    again = Client().get(link, follow=True)
    assert b"invalid, expired or was used already" in again.content
    assert members(cast)["rosa@clinic.test"] == "reviewer"
    rosa.refresh_from_db()
    assert rosa.is_active


def test_without_invite_signup_an_unknown_e_mail_is_refused(cast: Any, settings: Any) -> None:
    settings.ALLOW_INVITE_SIGNUP = False
    response = cast.client(cast.alice).post(
        f"{P}{cast.project.pk}/members/", {"email": "rosa@clinic.test", "role": "annotator"}
    )
    assert response.status_code == 400
    assert "does not create accounts by invitation" in str(response.json()["email"])
    assert not Membership.objects.filter(project=cast.project, user__username="rosa@clinic.test")


def test_a_deactivated_account_is_not_reopened_by_an_invitation(cast: Any) -> None:
    cast.otto.is_active = False
    cast.otto.save()
    response = cast.client(cast.alice).post(
        f"{P}{cast.project.pk}/members/", {"email": "otto@x.test", "role": "annotator"}
    )
    assert response.status_code == 400
    assert response.json() == {"email": ["this account is deactivated"]}


def test_roles_change_and_members_leave_by_the_admins_hand_only(cast: Any) -> None:
    url = f"{P}{cast.project.pk}/members/{cast.ben.pk}/"
    assert cast.client(cast.anna).patch(url, {"role": "admin"}, format="json").status_code == 403
    assert cast.client(cast.olga).patch(url, {"role": "admin"}, format="json").status_code == 404
    assert cast.client(cast.anna).delete(url).status_code == 403
    changed = cast.client(cast.alice).patch(url, {"role": "reviewer"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "reviewer"
    bad = cast.client(cast.alice).patch(url, {"role": "boss"}, format="json")
    assert bad.status_code == 400 and "role" in bad.json()
    assert cast.client(cast.alice).delete(url).status_code == 204
    assert cast.client(cast.alice).delete(url).status_code == 404
    assert "ben" not in members(cast)


def test_the_last_admin_can_be_neither_demoted_nor_removed(cast: Any) -> None:
    alice = f"{P}{cast.project.pk}/members/{cast.alice.pk}/"
    demoted = cast.client(cast.alice).patch(alice, {"role": "reviewer"}, format="json")
    assert demoted.status_code == 400
    assert "at least one admin" in demoted.json()["role"][0]
    # Through the add route too (re-adding with another role).
    readded = cast.client(cast.alice).post(
        f"{P}{cast.project.pk}/members/", {"username": "alice", "role": "annotator"}
    )
    assert readded.status_code == 400 and "at least one admin" in str(readded.json())
    removed = cast.client(cast.sam).delete(alice)
    assert removed.status_code == 409 and "at least one admin" in removed.json()["detail"]
    assert members(cast)["alice"] == "admin"
    # With a second admin, the first may step down.
    cast.client(cast.alice).patch(
        f"{P}{cast.project.pk}/members/{cast.rita.pk}/", {"role": "admin"}, format="json"
    )
    stepped_down = cast.client(cast.alice).patch(alice, {"role": "reviewer"}, format="json")
    assert stepped_down.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_removed_annotator_is_refused_on_the_queue_and_a_frame_at_once(make_user: Any) -> None:
    admin, doctor = make_user("alice"), make_user("anna")
    project = make_project(admin=admin, annotator=doctor, deidentify=False)
    instance = ingest(pydicom_file("CT_small.dcm"))
    attach(project, instance)
    frame_url = instance_url(instance) + "/frames/1"
    viewer = token_client(doctor)
    accept = "multipart/related; type=application/octet-stream; transfer-syntax=*"
    assert viewer.get(frame_url, HTTP_ACCEPT=accept).status_code == 200
    assert viewer.get(frame_url, HTTP_ACCEPT=accept).status_code == 200  # now from the cache
    from rest_framework.test import APIClient

    doctor_api = APIClient()
    doctor_api.force_authenticate(doctor)
    (leased,) = take(doctor_api, project.pk)
    epoch_before = _epoch()

    admin_api = APIClient()
    admin_api.force_authenticate(admin)
    assert admin_api.delete(f"{P}{project.pk}/members/{doctor.pk}/").status_code == 204

    assert viewer.get(frame_url, HTTP_ACCEPT=accept).status_code == 404
    next_item = doctor_api.post(f"{P}{project.pk}/queue/next", {"count": 1}, format="json")
    assert next_item.status_code == 404
    assert doctor_api.get(f"/api/v1/items/{leased['id']}/").status_code == 404
    # Every other process learns of it on its next request (decision 0161).
    assert _epoch() > epoch_before
    # The lease the doctor held is closed: the item is free for the others now.
    lease = Lease.objects.get(item_id=leased["id"], user=doctor)
    assert lease.closed_at is not None and lease.outcome == "revoked"


def _epoch() -> int:
    from django.core.cache import cache

    return int(cache.get(hotcache.EPOCH_KEY, 0))

"""QIDO-RS wildcard matching keeps its meaning now that a pattern's literal prefix is also a
LIKE condition (docs/scale.md): case-insensitive person names, `?` and `*` anywhere, LIKE's own
wildcards `%` and `_` taken literally, case-sensitive text attributes; pages in pk order."""

from __future__ import annotations

from typing import Any

import pytest

from studies.models import Patient, Study
from tests.studies.dicomweb_support import token_client

pytestmark = pytest.mark.django_db

NAMES = ["SMITH^JOHN", "Smith^Jane", "ASMITH^X", "SMYTHE^C", "O_BRIEN^A", "OXBRIEN^B", "10%^Z"]


@pytest.fixture
def admin(make_user: Any) -> Any:
    for i, name in enumerate(NAMES):
        patient = Patient.objects.create(patient_id=f"P{i}", patient_name=name)
        Study.objects.create(
            study_instance_uid=f"2.25.77{i}", patient=patient, accession_number=f"Acc{i}x"
        )
    return token_client(make_user("root", superuser=True))


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [obj["00100010"]["Value"][0]["Alphabetic"] for obj in response.json()]


def test_person_name_prefixes_match_whatever_the_case(admin: Any) -> None:
    assert names(admin.get("/dicomweb/studies", {"PatientName": "smi*"})) == NAMES[:2]
    assert names(admin.get("/dicomweb/studies", {"PatientName": "SM?TH*"})) == [
        "SMITH^JOHN", "Smith^Jane", "SMYTHE^C",
    ]  # fmt: skip
    assert names(admin.get("/dicomweb/studies", {"PatientName": "*smith*"})) == NAMES[:3]
    assert names(admin.get("/dicomweb/studies", {"PatientName": "smith^jane"})) == ["Smith^Jane"]


def test_like_wildcards_in_a_pattern_are_literal(admin: Any) -> None:
    assert names(admin.get("/dicomweb/studies", {"PatientName": "O_BRIEN*"})) == ["O_BRIEN^A"]
    assert names(admin.get("/dicomweb/studies", {"PatientName": "10%*"})) == ["10%^Z"]
    assert names(admin.get("/dicomweb/studies", {"PatientName": "1*"})) == ["10%^Z"]


def test_text_prefixes_are_case_sensitive(admin: Any) -> None:
    assert len(names(admin.get("/dicomweb/studies", {"AccessionNumber": "Acc*"}))) == len(NAMES)
    assert names(admin.get("/dicomweb/studies", {"AccessionNumber": "ACC*"})) == []
    assert names(admin.get("/dicomweb/studies", {"AccessionNumber": "Acc1?"})) == [NAMES[1]]


def test_pages_follow_the_primary_key_and_say_when_more_exist(admin: Any) -> None:
    first = admin.get("/dicomweb/studies", {"PatientName": "*", "limit": "3"})
    second = admin.get("/dicomweb/studies", {"PatientName": "*", "limit": "3", "offset": "3"})
    last = admin.get("/dicomweb/studies", {"PatientName": "*", "limit": "3", "offset": "6"})
    assert names(first) + names(second) + names(last) == NAMES
    assert "There are more results" in first["Warning"]
    assert "There are more results" not in last.get("Warning", "")

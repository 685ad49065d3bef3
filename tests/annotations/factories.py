"""Rows for workflow tests: DICOM hierarchy rows without pixel data, projects, personas."""

from __future__ import annotations

import itertools
from typing import Any

from annotations.models import LabelClass, Membership, Project
from annotations.services.attach import attach_instances
from studies.models import Instance, Patient, Series, Study

_seq = itertools.count(1)


def uid() -> str:
    return f"1.2.826.0.1.3680043.10.9999.{next(_seq)}"


def make_instances(
    count: int,
    *,
    patients: int = 1,
    rows: int = 64,
    columns: int = 64,
    frames: int = 1,
    modality: str = "CT",
    description: str = "AXIAL",
    study_date: str = "20240101",
) -> list[Instance]:
    """`count` instances spread over `patients` patients, one study and series each."""
    series_list = []
    for p in range(patients):
        patient = Patient.objects.create(patient_id=f"PAT{next(_seq)}-{p}")
        study = Study.objects.create(
            study_instance_uid=uid(), patient=patient, study_date=study_date, modalities=modality
        )
        series_list.append(
            Series.objects.create(
                series_instance_uid=uid(), study=study, modality=modality, description=description
            )
        )
    return [
        Instance.objects.create(
            sop_instance_uid=uid(),
            sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
            series=series_list[i % patients],
            instance_number=i + 1,
            transfer_syntax_uid="1.2.840.10008.1.2.1",
            rows=rows,
            columns=columns,
            number_of_frames=frames,
            sha256=f"{i:064x}",
        )
        for i in range(count)
    ]


def make_project(
    *,
    classes: tuple[str, ...] = ("normal", "pneumonia"),
    items: int = 0,
    **settings: Any,
) -> Project:
    settings.setdefault("name", f"project {next(_seq)}")
    settings.setdefault("task_type", "classification")
    project = Project.objects.create(**settings)
    for index, name in enumerate(classes):
        LabelClass.objects.create(project=project, name=name, index=index)
    if items:
        attach_instances(project, make_instances(items, patients=min(items, 4)))
    return project


def add_member(project: Project, user: Any, role: str) -> Membership:
    return Membership.objects.create(project=project, user=user, role=role)

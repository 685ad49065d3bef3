"""The test cast: one `make_project` and the people every test speaks about, named once.

Modelled on Healthchecks' hc/test.py (alice, bob and charlie). A persona keeps the same name,
the same role and the same password (PASSWORD) wherever it appears, so a test reads as a story:
"anna submits, rita reviews, otto is refused".

    alice  admin of the project under test
    rita   its reviewer
    anna   its annotator (the doctor of the browser tests)
    ben    a second annotator (agreement, two readers, concurrency)
    erin   an annotator whose membership may export (can_export)
    olga   admin of another project and in none of alice's: the strongest outsider
    otto   an outsider: an account in no project
    sam    a superuser in no project

The `cast` fixture (tests/conftest.py) hands a test a fresh Cast; each persona is also a fixture
of its own name. People are created when first touched (`cast.anna`), and `cast.on(project,
"alice", "anna")` gives them their role in a project and makes it `cast.project`.

`make_project` is the only project factory of the suite; its keyword arguments cover every
variant (see its docstring).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from io import BytesIO
from typing import Any

import numpy as np
import pydicom
from django.contrib.auth import get_user_model
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from rest_framework.test import APIClient

from annotations.models import Annotation, Item, LabelClass, Membership, Project, Role
from annotations.services.attach import attach_instances
from studies.frames import compute_frame_offsets
from studies.ingest import ingest_bytes
from studies.models import Instance, Patient, Series, Study
from studies.storage import get_store

PASSWORD = "pw"
CLASSES = ("normal", "pneumonia")
# Persona → the role it holds in any project it joins (otto and sam join none).
ROLES: dict[str, str] = {
    "alice": Role.ADMIN,
    "rita": Role.REVIEWER,
    "anna": Role.ANNOTATOR,
    "ben": Role.ANNOTATOR,
    "erin": Role.ANNOTATOR,
    "olga": Role.ADMIN,
}
EXPORTERS = frozenset({"erin"})
SUPERUSERS = frozenset({"sam"})
PERSONAS = (*ROLES, "otto", "sam")
# What a project with real images trains with unless told otherwise: small and quick on a CPU.
SMALL_TRAINING: dict[str, Any] = {"input_size": 28, "retrain_every": 1000, "batch_size": 4}
COLORS = ("#3fb950", "#f85149", "#58a6ff", "#d29922")

_seq = itertools.count(1)


def make_user(username: str, *, superuser: bool = False) -> Any:
    """An account with PASSWORD; for a one-off extra person beside the cast."""
    users = get_user_model().objects
    if superuser:
        return users.create_superuser(username, f"{username}@x.test", PASSWORD)
    return users.create_user(username, f"{username}@x.test", PASSWORD)


class Cast:
    """The personas of one test (module docstring), created on first use."""

    def __init__(self) -> None:
        self._people: dict[str, Any] = {}
        self._project: Project | None = None

    def person(self, name: str) -> Any:
        if name not in PERSONAS:
            raise KeyError(f"{name!r} is not in the cast {PERSONAS}")
        if name not in self._people:
            self._people[name] = make_user(name, superuser=name in SUPERUSERS)
        return self._people[name]

    @property
    def alice(self) -> Any:
        return self.person("alice")

    @property
    def rita(self) -> Any:
        return self.person("rita")

    @property
    def anna(self) -> Any:
        return self.person("anna")

    @property
    def ben(self) -> Any:
        return self.person("ben")

    @property
    def erin(self) -> Any:
        return self.person("erin")

    @property
    def olga(self) -> Any:
        return self.person("olga")

    @property
    def otto(self) -> Any:
        return self.person("otto")

    @property
    def sam(self) -> Any:
        return self.person("sam")

    @property
    def project(self) -> Project:
        if self._project is None:
            raise AttributeError("no project under test: call cast.on(project, ...) first")
        return self._project

    def join(self, project: Project, *names: str) -> Project:
        """Give these personas their role (ROLES) in the project."""
        for name in names:
            add_member(project, self.person(name), ROLES[name], can_export=name in EXPORTERS)
        return project

    def on(self, project: Project, *names: str) -> Cast:
        """These personas join the project, which becomes the project under test."""
        self.join(project, *names)
        self._project = project
        return self

    def client(self, who: str | Any | None) -> APIClient:
        """An API client signed in as a persona (by name) or any user; None: anonymous."""
        client = APIClient()
        if who is not None:
            client.force_authenticate(self.person(who) if isinstance(who, str) else who)
        return client


# Data ------------------------------------------------------------------------------------------


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
    """`count` DICOM rows without pixel data over `patients` patients, one study and series each."""
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


def synthetic_images(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images: a bright square in the left half (class 0, "normal") or the right half
    (class 1, "pneumonia") over noise, so a tiny CNN separates them in a few epochs."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, size, size)).astype(np.uint8)
    side = size // 3
    for i, label_index in enumerate(labels):
        row = int(rng.integers(2, size - side - 2))
        col = int(rng.integers(1, size // 2 - side)) + (size // 2 if label_index else 0)
        images[i, row : row + side, col : col + side] = rng.integers(180, 255)
    return images, labels


def _dicom_bytes(pixels: np.ndarray, patient_id: str, study_uid: str, series_uid: str) -> bytes:
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.PatientID, ds.PatientName, ds.Modality = patient_id, "Test^Synthetic", "OT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def dicom_images(pixels: np.ndarray, patient_prefix: str = "ML") -> list[bytes]:
    """(N, H, W) uint8 images as Secondary Capture objects, two per patient, for make_project's
    `dicom` (real images from a data set instead of the synthetic squares)."""
    return [
        _dicom_bytes(pixels[i], f"{patient_prefix}-{i // 2:03d}", generate_uid(), generate_uid())
        for i in range(len(pixels))
    ]


def _add_images(
    project: Project, count: int, labelled: int, size: int, seed: int, classes: Sequence[str]
) -> None:
    """Real Secondary Capture objects in the store, two per patient, the first `labelled` with
    an imported class label; items get priorities 0, 1/n, 2/n... (creation order)."""
    images, labels = synthetic_images(count, size, seed)
    store = get_store()
    for i in range(count):
        patient_id = f"P{project.pk}-{i // 2:03d}"
        patient, _ = Patient.objects.get_or_create(patient_id=patient_id)
        study = Study.objects.create(
            study_instance_uid=generate_uid(), patient=patient, modalities="OT"
        )
        series = Series.objects.create(
            series_instance_uid=generate_uid(), study=study, modality="OT"
        )
        data = _dicom_bytes(
            images[i], patient_id, study.study_instance_uid, series.series_instance_uid
        )
        ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(data))
        instance = Instance.objects.create(
            sop_instance_uid=ds.SOPInstanceUID,
            sop_class_uid=SecondaryCaptureImageStorage,
            series=series,
            transfer_syntax_uid=ExplicitVRLittleEndian,
            rows=size,
            columns=size,
            samples_per_pixel=1,
            bits_allocated=8,
            bits_stored=8,
            pixel_representation=0,
            photometric_interpretation="MONOCHROME2",
            frame_offsets=compute_frame_offsets(data, ds),
            storage_key=store.put(data),
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
        )
        item = Item.objects.create(
            project=project, instance=instance, patient_key=patient_id, priority=float(i) / count
        )
        if i < labelled:
            label(item, classes[int(labels[i])])


def _as_list(people: Any) -> list[Any]:
    if people is None:
        return []
    return list(people) if isinstance(people, list | tuple) else [people]


def make_project(
    *,
    name: str | None = None,
    task_type: str = "classification",
    classes: Sequence[str] = CLASSES,
    items: int = 0,
    images: int = 0,
    labelled: int | None = None,
    image_size: int = 32,
    seed: int = 0,
    dicom: Sequence[bytes] = (),
    admin: Any = None,
    reviewer: Any = None,
    annotator: Any = None,
    **fields: Any,
) -> Project:
    """The suite's one project factory.

    - name: "project N" unless given; task_type, classes: the label schema (colours from COLORS).
    - items: that many DICOM rows without pixel data (make_instances, over up to 4 patients),
      attached the way the API attaches them (cold-start priorities).
    - images: that many real 32x32 (image_size) DICOM images with pixel data in the store, two
      per patient, the first `labelled` (default: all) carrying an imported label; the project
      then trains with SMALL_TRAINING unless `fields` say otherwise.
    - dicom: DICOM objects (bytes) ingested into the project through studies.ingest.
    - admin, reviewer, annotator: a user or a list of users made members with that role
      (personas can also join with cast.join / cast.on).
    - fields: any other Project field (unit, readers_per_item, deidentify, retrain_every,
      strategy, cold_start, random_share, suggestions, queue_seed...).
    """
    if name is None:
        name = f"project {next(_seq)}"
    if images:
        fields = SMALL_TRAINING | fields
    project = Project.objects.create(name=name, task_type=task_type, **fields)
    roles = ((Role.ADMIN, admin), (Role.REVIEWER, reviewer), (Role.ANNOTATOR, annotator))
    for role, people in roles:
        for user in _as_list(people):
            add_member(project, user, role)
    for index, class_name in enumerate(classes):
        LabelClass.objects.create(
            project=project, name=class_name, index=index, color=COLORS[index % len(COLORS)]
        )
    if items:
        attach_instances(project, make_instances(items, patients=min(items, 4)))
    if images:
        _add_images(
            project, images, images if labelled is None else labelled, image_size, seed, classes
        )
    for index, data in enumerate(dicom):
        outcome = ingest_bytes(data, source_name=f"object {index}", project=project)
        assert outcome.instance is not None, outcome.reason
    if dicom:
        assert Item.objects.filter(project=project).count() >= len(dicom)
    return project


def add_member(project: Project, user: Any, role: str, *, can_export: bool = False) -> Membership:
    """Any user (a persona or a one-off account) as a member with this role."""
    return Membership.objects.create(project=project, user=user, role=role, can_export=can_export)


def label(item: Item, name: str) -> Annotation:
    """An imported class label, as annotations.datasets.import_labelled_arrays records one."""
    return Annotation.objects.create(
        item=item, kind="class", source="imported", payload={"labels": [name]}
    )


def true_label(item: Item) -> str | None:
    annotation = item.annotations.filter(is_current=True, deleted=False).first()
    return None if annotation is None else annotation.payload["labels"][0]

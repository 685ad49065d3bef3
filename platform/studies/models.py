"""The DICOM hierarchy as a PACS holds it: patient → study → series → instance (PS3.3 §A.1.2)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class StudyQuerySet(models.QuerySet["Study"]):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> StudyQuerySet:
        """Studies the user may see: superusers all, members those attached to their projects
        (the projects seam decides, studies.projects_seam)."""
        if not user.is_authenticated:
            return self.none()
        from studies.projects_seam import projects

        return self.filter(projects().study_filter(user, "pk"))


class Patient(models.Model):
    patient_id = models.CharField(max_length=64, db_index=True)
    issuer = models.CharField(max_length=64, blank=True, default="")
    patient_name = models.CharField(max_length=324, blank=True, default="")
    birth_date = models.CharField(max_length=8, blank=True, default="")
    sex = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Objects without a Patient ID get a patient per study rather than all sharing one.
            models.UniqueConstraint(
                fields=["patient_id", "issuer"],
                condition=~models.Q(patient_id=""),
                name="unique_patient_per_issuer",
            )
        ]

    def __str__(self) -> str:
        return self.patient_id or f"patient {self.pk}"


class Study(models.Model):
    study_instance_uid = models.CharField(max_length=64, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="studies")
    study_id = models.CharField(max_length=16, blank=True, default="")
    study_date = models.CharField(max_length=8, blank=True, default="", db_index=True)
    study_time = models.CharField(max_length=16, blank=True, default="")
    accession_number = models.CharField(max_length=64, blank=True, default="", db_index=True)
    description = models.CharField(max_length=256, blank=True, default="")
    referring_physician = models.CharField(max_length=324, blank=True, default="")
    modalities = models.CharField(max_length=128, blank=True, default="")  # backslash-joined
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StudyQuerySet.as_manager()

    def __str__(self) -> str:
        return self.study_instance_uid


class Series(models.Model):
    series_instance_uid = models.CharField(max_length=64, unique=True)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    modality = models.CharField(max_length=16, blank=True, default="", db_index=True)
    series_number = models.IntegerField(null=True, blank=True)
    description = models.CharField(max_length=256, blank=True, default="")
    body_part = models.CharField(max_length=64, blank=True, default="")
    frame_of_reference_uid = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "series"
        indexes = [
            # QIDO ModalitiesInStudy: the series of one modality in study order, merged with
            # the studies' primary key order (docs/scale.md).
            models.Index(fields=["modality", "study"], name="series_modality_study"),
        ]

    def __str__(self) -> str:
        return self.series_instance_uid


class Instance(models.Model):
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    sop_class_uid = models.CharField(max_length=64)
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    instance_number = models.IntegerField(null=True, blank=True)
    transfer_syntax_uid = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(null=True, blank=True)
    columns = models.PositiveIntegerField(null=True, blank=True)
    number_of_frames = models.PositiveIntegerField(default=1)
    samples_per_pixel = models.PositiveSmallIntegerField(null=True, blank=True)
    bits_allocated = models.PositiveSmallIntegerField(null=True, blank=True)
    bits_stored = models.PositiveSmallIntegerField(null=True, blank=True)
    pixel_representation = models.PositiveSmallIntegerField(null=True, blank=True)
    photometric_interpretation = models.CharField(max_length=32, blank=True, default="")
    window_center = models.FloatField(null=True, blank=True)
    window_width = models.FloatField(null=True, blank=True)
    rescale_slope = models.FloatField(null=True, blank=True)
    rescale_intercept = models.FloatField(null=True, blank=True)
    pixel_spacing = models.JSONField(null=True, blank=True)  # [row mm, column mm]
    image_position = models.JSONField(null=True, blank=True)
    image_orientation = models.JSONField(null=True, blank=True)
    planar_configuration = models.PositiveSmallIntegerField(null=True, blank=True)
    # "YES" when the object says so, or when it does not say NO and its modality commonly carries
    # text in the pixels (US, SC, OT, XC, ES...): exports and de-identification treat it as PHI risk
    # (PS3.15 E.1.1: the Basic profile does not clean pixels). "NO" when stated, "" otherwise.
    burned_in_annotation = models.CharField(max_length=3, blank=True, default="")
    # [[offset, length], ...] of each frame's bytes within the stored file (native or encapsulated).
    # An entry per frame, flat pairs: [offset, length] or, for a frame split over several
    # encapsulated fragments, [offset1, length1, offset2, length2, ...] to be joined in order.
    # Empty when offsets cannot be known from the stored bytes (Deflated transfer syntax).
    frame_offsets = models.JSONField(default=list, blank=True)
    # "local": bytes in our storage under storage_key; "upstream": an upstream DICOMweb server
    # (proxy mode) holds them and storage_key is empty until a frame is cached.
    source = models.CharField(max_length=10, default="local")
    storage_key = models.CharField(max_length=128, blank=True, default="")
    sha256 = models.CharField(max_length=64, db_index=True)
    # sha256 of the bytes as received (before de-identification): lets import_dicom skip files
    # it already ingested when it is run again.
    received_sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)
    deidentified = models.BooleanField(default=False)
    size_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sop_instance_uid


class DeidentificationMap(models.Model):
    """What de-identification replaced, so the same original always gets the same replacement.

    Rows of kind "patient" hold the pseudonymous patient ID and the per-patient date shift;
    rows of kind "uid" hold a replacement UID and the original study it came from. Re-identifying
    information: readable by superusers only (admin.py), never exposed through the API.
    """

    class Kind(models.TextChoices):
        PATIENT = "patient"
        UID = "uid"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    original = models.CharField(max_length=200)
    replacement = models.CharField(max_length=64)
    original_study_uid = models.CharField(max_length=64, blank=True, default="", db_index=True)
    date_shift_days = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "original"], name="unique_deid_original"),
            models.UniqueConstraint(fields=["kind", "replacement"], name="unique_deid_replacement"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.replacement}"


class AuditEvent(models.Model):
    """Who touched which study, when, how (PS3.15 Annex A audit expectations; HIPAA access log)."""

    user = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)  # e.g. qido, wado-metadata, wado-frames, stow, view
    study_instance_uid = models.CharField(max_length=64, blank=True, default="", db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    remote_addr = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.action} {self.study_instance_uid}"


class UploadReceipt(models.Model):
    """The answer to one browser upload request that carried an Idempotency-Key, kept so that a
    retry after a lost answer gets the same per-file outcomes ("stored", not "duplicate") and
    nothing is ingested twice (decision 0935). `fingerprint` names what was sent (project, file
    names and sizes): the same key for another upload is a client bug, answered 409."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    answer = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_upload_key_per_user")
        ]

    def __str__(self) -> str:
        return self.key

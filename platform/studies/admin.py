"""Admin pages. The de-identification map re-identifies patients: superusers only, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from studies.models import AuditEvent, DeidentificationMap, Instance, Patient, Series, Study


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SuperuserOnly:
    """Staff with model permissions still cannot see it: only superusers can."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


@admin.register(Patient)
class PatientAdmin(SuperuserOnly, ReadOnlyAdmin):
    list_display = ["patient_id", "issuer", "sex", "created_at"]
    search_fields = ["patient_id"]


@admin.register(Study)
class StudyAdmin(SuperuserOnly, ReadOnlyAdmin):
    list_display = ["study_instance_uid", "patient", "study_date", "modalities", "description"]
    search_fields = ["study_instance_uid", "accession_number", "patient__patient_id"]
    list_select_related = ["patient"]


@admin.register(Series)
class SeriesAdmin(SuperuserOnly, ReadOnlyAdmin):
    list_display = ["series_instance_uid", "modality", "description", "study"]
    search_fields = ["series_instance_uid"]
    list_select_related = ["study"]


@admin.register(Instance)
class InstanceAdmin(SuperuserOnly, ReadOnlyAdmin):
    list_display = [
        "sop_instance_uid",
        "transfer_syntax_uid",
        "number_of_frames",
        "deidentified",
        "burned_in_annotation",
        "size_bytes",
    ]
    list_filter = ["deidentified", "burned_in_annotation", "transfer_syntax_uid"]
    search_fields = ["sop_instance_uid", "sha256"]
    exclude = ["frame_offsets"]


@admin.register(DeidentificationMap)
class DeidentificationMapAdmin(SuperuserOnly, ReadOnlyAdmin):
    list_display = ["kind", "original", "replacement", "original_study_uid", "date_shift_days"]
    list_filter = ["kind"]
    search_fields = ["original", "replacement", "original_study_uid"]


@admin.register(AuditEvent)
class AuditEventAdmin(SuperuserOnly, ReadOnlyAdmin):
    list_display = ["created_at", "user", "action", "study_instance_uid", "remote_addr"]
    list_filter = ["action"]
    search_fields = ["study_instance_uid", "user__username"]
    date_hierarchy = "created_at"

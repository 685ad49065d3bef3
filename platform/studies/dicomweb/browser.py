"""GET /api/v1/studies/: the study browser's list (API.md "REST for the study browser").

Paginated studies visible to the user (Study.objects.for_user) with their series (uid,
description, modality, instance count, thumbnail URL). Filters: search (patient name or id,
accession number, study description; case-insensitive substring), patient (name or id,
substring), description (study description, substring), modality, patient_id,
date_from / date_to (YYYYMMDD, inclusive). Three queries per page whatever its size: count,
studies with their patient, series with instance counts.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request

from studies.dicomweb.links import base_url
from studies.models import Series, Study

_DATE = re.compile(r"^\d{8}$")


class SeriesSummary(serializers.ModelSerializer[Series]):
    uid = serializers.CharField(source="series_instance_uid")
    instance_count = serializers.IntegerField(source="n_instances")
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Series
        fields = ["uid", "number", "description", "modality", "instance_count", "thumbnail_url"]
        extra_kwargs = {"number": {"source": "series_number"}}

    def get_thumbnail_url(self, series: Series) -> str:
        root = f"{base_url(self.context['request'])}/dicomweb"
        study = series.study.study_instance_uid
        return f"{root}/studies/{study}/series/{series.series_instance_uid}/thumbnail"


class StudySummary(serializers.ModelSerializer[Study]):
    uid = serializers.CharField(source="study_instance_uid")
    patient_id = serializers.CharField(source="patient.patient_id")
    patient_name = serializers.CharField(source="patient.patient_name")
    date = serializers.CharField(source="study_date")
    series = SeriesSummary(many=True)

    class Meta:
        model = Study
        fields = [
            "uid",
            "patient_id",
            "patient_name",
            "date",
            "accession_number",
            "description",
            "modalities",
            "series",
        ]


def _date(params: Any, name: str) -> str | None:
    value = params.get(name)
    if value and not _DATE.match(value):
        raise ValidationError({name: "use YYYYMMDD"})
    return value or None


def filter_studies(queryset: QuerySet[Study], params: Any) -> QuerySet[Study]:
    if search := params.get("search", "").strip():
        queryset = queryset.filter(
            Q(patient__patient_name__icontains=search)
            | Q(patient__patient_id__icontains=search)
            | Q(accession_number__icontains=search)
            | Q(description__icontains=search)
        )
    if patient := params.get("patient", "").strip():
        queryset = queryset.filter(
            Q(patient__patient_name__icontains=patient) | Q(patient__patient_id__icontains=patient)
        )
    if description := params.get("description", "").strip():
        queryset = queryset.filter(description__icontains=description)
    if modality := params.get("modality", "").strip():
        queryset = queryset.filter(series__modality__iexact=modality).distinct()
    if patient_id := params.get("patient_id", "").strip():
        queryset = queryset.filter(patient__patient_id=patient_id)
    if date_from := _date(params, "date_from"):
        queryset = queryset.filter(study_date__gte=date_from)
    if date_to := _date(params, "date_to"):
        queryset = queryset.filter(study_date__lte=date_to, study_date__gt="")
    return queryset


class StudyBrowserView(ListAPIView[Study]):
    serializer_class = StudySummary

    def get_queryset(self) -> QuerySet[Study]:
        request: Request = self.request
        series = Series.objects.select_related("study").annotate(n_instances=Count("instances"))
        visible = Study.objects.filter(pk__in=Study.objects.for_user(request.user))
        return (
            filter_studies(visible, request.query_params)
            .select_related("patient")
            .prefetch_related(Prefetch("series", queryset=series.order_by("series_number", "pk")))
            .order_by("-study_date", "-pk")
        )

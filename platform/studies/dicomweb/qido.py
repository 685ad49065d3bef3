"""QIDO-RS (PS3.18 §10.6): search studies, series and instances with the standard matching keys.

Matching follows PS3.4 §C.2.2.2: single value (exact; case-insensitive for person names), wild
cards `*` and `?`, UID lists (`a,b` or `a\\b`), date and time ranges (`A-B`, `A-`, `-B`), and
an empty value meaning "return this attribute" (universal matching). ModalitiesInStudy matches
a study with any series of one of the modalities. `fuzzymatching` is accepted and ignored, and a
valid attribute we cannot match on is ignored with a `Warning: 299` header (PS3.18 §8.3.4.3),
while an attribute name that is not DICOM at all is a 400.

Results are the PS3.18 Table 10.6.3-3/4/5 attributes of each level, straight from our tables
(one query per level plus one for the modalities of a page of studies); `includefield` adds any
other attribute, taken from the cached instance metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import QueryDict
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from core.params import MAX_OFFSET, bounded_int
from studies.dicomweb import metadata
from studies.dicomweb.errors import bad_request
from studies.dicomweb.links import instance_path, series_path, study_path
from studies.dicomweb.scope import Scope
from studies.models import Instance, Series, Study

MAX_RESULTS = 1000
_RESERVED = {"limit", "offset", "fuzzymatching", "includefield"}
_DATE = re.compile(r"^\d{8}$")
_TIME = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")


@dataclass(frozen=True)
class Attr:
    keyword: str
    tag: str
    vr: str
    field: str  # ORM path from the level's model ("" when computed)
    match: str  # uid | date | time | text | pn | int | modalities | "" (not matchable)


def _attr(keyword: str, field_path: str, match: str) -> Attr:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return Attr(keyword, f"{tag:08X}", dictionary_VR(tag), field_path, match)


STUDY_ATTRS = [
    _attr("StudyDate", "study_date", "date"),
    _attr("StudyTime", "study_time", "time"),
    _attr("AccessionNumber", "accession_number", "text"),
    _attr("InstanceAvailability", "", ""),
    _attr("ModalitiesInStudy", "", "modalities"),
    _attr("ReferringPhysicianName", "referring_physician", "pn"),
    _attr("StudyDescription", "description", "text"),
    _attr("RetrieveURL", "", ""),
    _attr("PatientName", "patient__patient_name", "pn"),
    _attr("PatientID", "patient__patient_id", "text"),
    _attr("PatientBirthDate", "patient__birth_date", "date"),
    _attr("PatientSex", "patient__sex", "text"),
    _attr("StudyInstanceUID", "study_instance_uid", "uid"),
    _attr("StudyID", "study_id", "text"),
    _attr("NumberOfStudyRelatedSeries", "", ""),
    _attr("NumberOfStudyRelatedInstances", "", ""),
]
SERIES_ATTRS = [
    _attr("Modality", "modality", "text"),
    _attr("SeriesDescription", "description", "text"),
    _attr("BodyPartExamined", "body_part", "text"),
    _attr("SeriesInstanceUID", "series_instance_uid", "uid"),
    _attr("SeriesNumber", "series_number", "int"),
    _attr("FrameOfReferenceUID", "frame_of_reference_uid", "uid"),
    _attr("NumberOfSeriesRelatedInstances", "", ""),
]
INSTANCE_ATTRS = [
    _attr("SOPClassUID", "sop_class_uid", "uid"),
    _attr("SOPInstanceUID", "sop_instance_uid", "uid"),
    _attr("AvailableTransferSyntaxUID", "transfer_syntax_uid", "uid"),
    _attr("InstanceNumber", "instance_number", "int"),
    _attr("Rows", "rows", "int"),
    _attr("Columns", "columns", "int"),
    _attr("BitsAllocated", "bits_allocated", "int"),
    _attr("NumberOfFrames", "number_of_frames", "int"),
]
_BY_KEYWORD = {a.keyword: a for a in STUDY_ATTRS + SERIES_ATTRS + INSTANCE_ATTRS}
# Always present so a client can address what it found (and so /series shows its study).
_ALWAYS = {
    "study": {"StudyInstanceUID"},
    "series": {"StudyInstanceUID", "SeriesInstanceUID"},
    "instance": {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"},
}


@dataclass
class Query:
    level: str  # study | series | instance
    matches: list[tuple[Attr, str]] = field(default_factory=list)
    include: set[str] = field(default_factory=set)  # keywords
    include_all: bool = False
    limit: int = MAX_RESULTS
    offset: int = 0
    warnings: list[str] = field(default_factory=list)


def _keyword(name: str) -> str:
    """A query parameter name (keyword or 8-hex tag) → keyword; 400 when it is not DICOM."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", name):
        keyword = keyword_for_tag(int(name, 16))
        if keyword:
            return str(keyword)
    elif tag_for_keyword(name) is not None:
        return name
    raise bad_request(f"{name!r} is not a DICOM attribute keyword or tag")


def _number(params: QueryDict, name: str, default: int, *, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        # Bounded: an offset of 40 digits reached the database as OFFSET and failed there.
        return bounded_int(raw, name, minimum=minimum, maximum=MAX_OFFSET)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc


def _level_keywords(level: str) -> set[str]:
    keywords = {a.keyword for a in STUDY_ATTRS}
    if level in ("series", "instance"):
        keywords |= {a.keyword for a in SERIES_ATTRS}
    if level == "instance":
        keywords |= {a.keyword for a in INSTANCE_ATTRS}
    return keywords


def parse_query(params: QueryDict, level: str) -> Query:
    query = Query(level=level)
    query.limit = min(_number(params, "limit", MAX_RESULTS, minimum=1), MAX_RESULTS)
    query.offset = _number(params, "offset", 0, minimum=0)
    for value in params.getlist("includefield"):
        for name in filter(None, (v.strip() for v in value.split(","))):
            if name.lower() == "all":
                query.include_all = True
            else:
                query.include.add(_keyword(name))
    matchable = _level_keywords(level)
    unsupported = []
    for name in params:
        if name.lower() in _RESERVED:
            continue
        if "." in name:
            unsupported.append(name)  # sequence matching (PS3.18 §8.3.4.1) is not supported
            continue
        keyword = _keyword(name)
        for value in params.getlist(name):
            attr = _BY_KEYWORD.get(keyword)
            query.include.add(keyword)
            if value == "":
                continue  # universal matching: only asks for the attribute
            if attr is None or not attr.match or keyword not in matchable:
                unsupported.append(name)
                continue
            query.matches.append((attr, value))
    if unsupported:
        query.warnings.append(
            "The following attributes were not supported for matching: " + ", ".join(unsupported)
        )
    return query


# -- matching -----------------------------------------------------------------------------------


def _wildcard_regex(value: str) -> str:
    return (
        "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value) + "$"
    )


def _range(value: str, pattern: re.Pattern[str], path: str, kind: str) -> Q:
    low, dash, high = value.partition("-")
    for part in (low, high) if dash else (low,):
        if part and not pattern.match(part):
            raise bad_request(f"{kind} {value!r} is not in DICOM {kind} format")
    if not dash:
        return Q(**{path: low})
    if not low and not high:
        raise bad_request(f"{kind} range {value!r} has no bounds")
    condition = ~Q(**{path: ""})
    if low:
        condition &= Q(**{f"{path}__gte": low})
    if high:
        # A time range's upper bound includes the whole of its last second / minute / hour.
        condition &= Q(**{f"{path}__lte": high + ("\uffff" if kind == "time" else "")})
    return condition


def _match(attr: Attr, value: str, prefix: str, study_ref: str) -> Q:
    path = prefix + attr.field
    if attr.match == "uid":
        uids = [u.strip() for u in re.split(r"[,\\]", value) if u.strip()]
        return Q(**{f"{path}__in": uids})
    if attr.match == "date":
        return _range(value, _DATE, path, "date")
    if attr.match == "time":
        return _range(value, _TIME, path, "time")
    if attr.match == "int":
        try:
            return Q(**{path: int(value)})
        except ValueError as exc:
            raise bad_request(f"{attr.keyword} must be an integer, got {value!r}") from exc
    if attr.match == "modalities":
        wanted = [m.strip() for m in re.split(r"[,\\]", value) if m.strip()]
        return Q(Exists(Series.objects.filter(study=OuterRef(study_ref), modality__in=wanted)))
    if attr.match == "pn":
        if "*" in value or "?" in value:
            return _prefix(path, value, "istartswith") & Q(
                **{f"{path}__iregex": _wildcard_regex(value)}
            )
        return Q(**{f"{path}__iexact": value})
    if "*" in value or "?" in value:
        return _prefix(path, value, "startswith") & Q(**{f"{path}__regex": _wildcard_regex(value)})
    return Q(**{path: value})


def _prefix(path: str, value: str, lookup: str) -> Q:
    """The literal text before a pattern's first wildcard as a LIKE 'prefix%' condition: it
    changes no result (the regex still decides) but lets PostgreSQL range-scan an index
    (Patient "patient_name_upper_prefix", the varchar_pattern_ops indexes of patient_id and
    accession_number; docs/scale.md) instead of running the regex on every row."""
    literal = re.split(r"[*?]", value, maxsplit=1)[0]
    return Q(**{f"{path}__{lookup}": literal}) if literal else Q()


_PREFIXES = {
    "study": {"study": ""},
    "series": {"study": "study__", "series": ""},
    "instance": {"study": "series__study__", "series": "series__", "instance": ""},
}


def _level_of(attr: Attr) -> str:
    if attr in STUDY_ATTRS:
        return "study"
    return "series" if attr in SERIES_ATTRS else "instance"


def filtered(query: Query, base: QuerySet[Any]) -> QuerySet[Any]:
    prefixes = _PREFIXES[query.level]
    for attr, value in query.matches:
        prefix = prefixes[_level_of(attr)]
        study_ref = (prefixes["study"] + "pk") if prefixes["study"] else "pk"
        base = base.filter(_match(attr, value, prefix, study_ref))
    return base


# -- results ------------------------------------------------------------------------------------


def element(attr_or_keyword: Attr | str, value: Any) -> tuple[str, dict[str, Any]]:
    attr = _BY_KEYWORD[attr_or_keyword] if isinstance(attr_or_keyword, str) else attr_or_keyword
    if value is None or value == "" or value == []:
        return attr.tag, {"vr": attr.vr}
    values = value if isinstance(value, list) else [value]
    if attr.vr == "PN":
        values = [{"Alphabetic": v} for v in values]
    return attr.tag, {"vr": attr.vr, "Value": values}


def _study_values(study: Study, modalities: list[str], root: str) -> dict[str, Any]:
    patient = study.patient
    return {
        "StudyDate": study.study_date,
        "StudyTime": study.study_time,
        "AccessionNumber": study.accession_number,
        "InstanceAvailability": "ONLINE",
        "ModalitiesInStudy": modalities,
        "ReferringPhysicianName": study.referring_physician,
        "StudyDescription": study.description,
        "RetrieveURL": root + study_path(study.study_instance_uid),
        "PatientName": patient.patient_name,
        "PatientID": patient.patient_id,
        "PatientBirthDate": patient.birth_date,
        "PatientSex": patient.sex,
        "StudyInstanceUID": study.study_instance_uid,
        "StudyID": study.study_id,
        "NumberOfStudyRelatedSeries": getattr(study, "n_series", None),
        "NumberOfStudyRelatedInstances": getattr(study, "n_instances", None),
    }


def _series_values(series: Series, root: str) -> dict[str, Any]:
    study_uid = series.study.study_instance_uid
    return {
        "Modality": series.modality,
        "SeriesDescription": series.description,
        "BodyPartExamined": series.body_part,
        "SeriesInstanceUID": series.series_instance_uid,
        "SeriesNumber": series.series_number,
        "FrameOfReferenceUID": series.frame_of_reference_uid,
        "NumberOfSeriesRelatedInstances": getattr(series, "n_instances", None),
        "RetrieveURL": root + series_path(study_uid, series.series_instance_uid),
        "StudyInstanceUID": study_uid,
    }


def _instance_values(instance: Instance, root: str) -> dict[str, Any]:
    series = instance.series
    study_uid = series.study.study_instance_uid
    return {
        "SOPClassUID": instance.sop_class_uid,
        "SOPInstanceUID": instance.sop_instance_uid,
        "AvailableTransferSyntaxUID": instance.transfer_syntax_uid,
        "InstanceAvailability": "ONLINE",
        "InstanceNumber": instance.instance_number,
        "Rows": instance.rows,
        "Columns": instance.columns,
        "BitsAllocated": instance.bits_allocated,
        "NumberOfFrames": instance.number_of_frames,
        "RetrieveURL": root
        + instance_path(study_uid, series.series_instance_uid, instance.sop_instance_uid),
        "SeriesInstanceUID": series.series_instance_uid,
        "StudyInstanceUID": study_uid,
    }


def _default_keywords(level: str, nested: bool) -> list[str]:
    """PS3.18 Table 10.6.3-3/4/5 defaults; searches not under a study also show its study."""
    study = [a.keyword for a in STUDY_ATTRS]
    series = [a.keyword for a in SERIES_ATTRS] + ["RetrieveURL"]
    instance = [a.keyword for a in INSTANCE_ATTRS] + ["InstanceAvailability", "RetrieveURL"]
    if level == "study":
        return study
    own = series if level == "series" else instance
    if level == "instance":
        own = own + [k for k in series if k != "RetrieveURL"]
    return own if nested else own + [k for k in study if k != "RetrieveURL"]


def _object(values: dict[str, Any], keywords: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for keyword in keywords:
        if keyword in values and keyword in _BY_KEYWORD:
            tag, entry = element(keyword, values[keyword])
            result[tag] = entry
    return dict(sorted(result.items()))


def _extra_from_metadata(
    objects: list[dict[str, Any]],
    representatives: list[Instance | None],
    query: Query,
    scope: Scope,
) -> None:
    """Fill includefield attributes that are not in our tables from cached instance metadata."""
    extra_tags = {f"{tag_for_keyword(k):08X}" for k in query.include if k not in _BY_KEYWORD}
    if not extra_tags and not query.include_all:
        return
    rows = [
        (inst, inst.series.study.study_instance_uid, inst.series.series_instance_uid)
        for inst in representatives
        if inst is not None
    ]
    dicts = iter(metadata.as_dicts(rows, scope.root))
    for obj, inst in zip(objects, representatives, strict=True):
        if inst is None:
            continue
        meta = next(dicts)
        for tag, entry in meta.items():
            wanted = tag in extra_tags or (query.include_all and query.level == "instance")
            if wanted and tag not in obj and "BulkDataURI" not in entry:
                obj[tag] = entry
        obj_sorted = dict(sorted(obj.items()))
        obj.clear()
        obj.update(obj_sorted)


def _keywords_for(query: Query, nested: bool) -> list[str]:
    keywords = _default_keywords(query.level, nested)
    level_keywords = _level_keywords(query.level)
    if query.include_all:
        keywords = keywords + sorted(level_keywords - set(keywords))
    keywords = keywords + sorted((query.include & level_keywords) - set(keywords))
    return keywords + sorted(_ALWAYS[query.level] - set(keywords))


def _page(query: Query, queryset: QuerySet[Any]) -> list[Any]:
    return list(queryset.order_by("pk")[query.offset : query.offset + query.limit + 1])


def _representative(model_ref: str) -> Subquery:
    return Subquery(
        Instance.objects.filter(**{model_ref: OuterRef("pk")}).order_by("pk").values("pk")[:1]
    )


def _load_representatives(rows: list[Any], attr: str) -> list[Instance | None]:
    ids = [getattr(row, attr) for row in rows]
    found = Instance.objects.select_related("series__study").in_bulk([i for i in ids if i])
    return [found.get(i) if i else None for i in ids]


def _wants_metadata(query: Query) -> bool:
    return query.include_all or any(k not in _BY_KEYWORD for k in query.include)


def _page_ids(query: Query, queryset: QuerySet[Any]) -> tuple[list[int], bool]:
    """The page's primary keys (stable order: pk) and whether more results exist.

    The page is chosen before anything is counted: counting series and instances of every
    matching study (GROUP BY over the whole match) before LIMIT cost seconds at a million
    instances; counting them for the page's rows only costs the page (docs/scale.md)."""
    window = query.offset + query.limit + 1
    ids = list(queryset.order_by("pk").values_list("pk", flat=True)[query.offset : window])
    return ids[: query.limit], len(ids) > query.limit


def search_studies(scope: Scope, query: Query) -> tuple[list[dict[str, Any]], bool]:
    """(result objects, more results exist) for a study-level search."""
    ids, more = _page_ids(query, filtered(query, scope.studies()))
    queryset = Study.objects.filter(pk__in=ids).select_related("patient")
    queryset = queryset.annotate(
        n_series=Count("series", distinct=True), n_instances=Count("series__instances")
    )
    if _wants_metadata(query):
        queryset = queryset.annotate(rep=_representative("series__study"))
    rows = list(queryset.order_by("pk"))
    modalities: dict[int, list[str]] = {}
    pairs = Series.objects.filter(study__in=[s.pk for s in rows]).values_list(
        "study_id", "modality"
    )
    for study_id, modality in pairs.order_by("pk"):
        if modality and modality not in modalities.setdefault(study_id, []):
            modalities[study_id].append(modality)
    keywords = _keywords_for(query, nested=False)
    objects = [
        _object(_study_values(s, modalities.get(s.pk, []), scope.root), keywords) for s in rows
    ]
    if _wants_metadata(query):
        _extra_from_metadata(objects, _load_representatives(rows, "rep"), query, scope)
    return objects, more


def search_series(
    scope: Scope, query: Query, *, study: str | None
) -> tuple[list[dict[str, Any]], bool]:
    matching = filtered(query, scope.series())
    if study is not None:
        matching = matching.filter(study__study_instance_uid=study)
    ids, more = _page_ids(query, matching)
    queryset = Series.objects.filter(pk__in=ids).select_related("study__patient")
    queryset = queryset.annotate(n_instances=Count("instances"))
    if _wants_metadata(query):
        queryset = queryset.annotate(rep=_representative("series"))
    rows = list(queryset.order_by("pk"))
    nested = study is not None
    modalities = {s.study_id: [s.modality] for s in rows}
    keywords = _keywords_for(query, nested=nested)
    objects = []
    for series in rows:
        values = _series_values(series, scope.root)
        if not nested:
            study_values = _study_values(series.study, modalities[series.study_id], scope.root)
            values = {**study_values, **values}
        objects.append(_object(values, keywords))
    if _wants_metadata(query):
        _extra_from_metadata(objects, _load_representatives(rows, "rep"), query, scope)
    return objects, more


def search_instances(
    scope: Scope, query: Query, *, study: str | None, series: str | None
) -> tuple[list[dict[str, Any]], bool]:
    queryset = filtered(query, scope.instances()).select_related("series__study__patient")
    if study is not None:
        queryset = queryset.filter(series__study__study_instance_uid=study)
    if series is not None:
        queryset = queryset.filter(series__series_instance_uid=series)
    rows = _page(query, queryset)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    nested = study is not None
    keywords = _keywords_for(query, nested=nested)
    objects = []
    for instance in rows:
        values = {
            **_series_values(instance.series, scope.root),
            **_instance_values(instance, scope.root),
        }
        if not nested:
            study_obj = instance.series.study
            values = {**_study_values(study_obj, [instance.series.modality], scope.root), **values}
        objects.append(_object(values, keywords))
    if _wants_metadata(query):
        _extra_from_metadata(objects, list(rows), query, scope)
    return objects, more


def study_uids(objects: list[dict[str, Any]]) -> list[str]:
    uids = []
    for obj in objects:
        value = obj.get("0020000D", {}).get("Value", [])
        if value and value[0] not in uids:
            uids.append(value[0])
    return uids

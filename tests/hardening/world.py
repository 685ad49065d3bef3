"""One small, real world for the hardening tests, played by the cast of tests/cast.py: project A
administered by alice, reviewed by rita, annotated by anna; project B administered by olga (a
member elsewhere, the strongest outsider); otto in no project. The matrix speaks of callers by
kind (PERSONAS), each played by one persona (PLAYED_BY). A has real DICOM items (pixel data in
the store), a labelled item, an annotation, a comment, a training run, an active model
version, a snapshot and an export job, so every route has a real object to ask for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotations.exports.models import ExportJob
from annotations.models import (
    Annotation,
    Comment,
    Item,
    Lease,
    Project,
    Submission,
)
from learning.models import DatasetSnapshot, ModelStatus, ModelVersion, RunStatus, TrainingRun
from tests.cast import Cast, make_project

PERSONAS = ("anonymous", "outsider", "other", "annotator", "reviewer", "admin")
PLAYED_BY = {
    "outsider": "otto",
    "other": "olga",
    "annotator": "anna",
    "reviewer": "rita",
    "admin": "alice",
}


@dataclass
class World:
    project: Project
    other_project: Project
    users: dict[str, Any]
    tokens: dict[str, str]
    item: Item
    annotation: Annotation
    run: TrainingRun
    version: ModelVersion
    snapshot: DatasetSnapshot
    export: ExportJob
    url_values: dict[str, str] = field(default_factory=dict)


def build_world(cast: Cast | None = None) -> World:
    cast = Cast() if cast is None else cast
    users = {kind: cast.person(name) for kind, name in PLAYED_BY.items()}
    project = make_project(images=6, labelled=3, name="A")
    cast.join(project, "alice", "rita", "anna")
    other_project = make_project(images=2, labelled=0, name="B")
    cast.join(other_project, "olga")

    item = Item.objects.filter(project=project).order_by("pk").last()
    assert item is not None and item.instance is not None
    annotation = Annotation.objects.create(
        item=item, author=users["annotator"], kind="class", payload={"labels": ["normal"]}
    )
    Submission.objects.create(item=item, user=users["annotator"])
    # The queue gave the item to each reader (writes need that); only the annotator's is open.
    now = timezone.now()
    for name in ("reviewer", "admin"):
        Lease.objects.create(
            item=item, user=users[name], expires_at=now, closed_at=now, outcome="submitted"
        )
    Lease.objects.create(item=item, user=users["annotator"], expires_at=now + timedelta(hours=1))
    Comment.objects.create(item=item, author=users["annotator"], text="look at the apex")
    snapshot = DatasetSnapshot.objects.create(project=project, content_hash="0" * 64, entries=[])
    version = ModelVersion.objects.create(
        project=project,
        number=1,
        architecture="tiny",
        snapshot=snapshot,
        status=ModelStatus.ACTIVE,
    )
    run = TrainingRun.objects.create(
        project=project,
        status=RunStatus.SUCCEEDED,
        requested_by=users["admin"],
        model_version=version,
    )
    export = ExportJob.objects.create(
        project=project, snapshot=snapshot, formats=["csv"], created_by=users["admin"]
    )
    instance = item.instance
    series = instance.series
    values = {
        "project_id": str(project.pk),
        "item_id": str(item.pk),
        "uid": str(annotation.uid),
        "user_id": str(users["annotator"].pk),
        "run_id": str(run.pk),
        "version_id": str(version.pk),
        "snapshot_id": str(snapshot.pk),
        "job_id": str(export.pk),
        "study_uid": series.study.study_instance_uid,
        "study": series.study.study_instance_uid,
        "series": series.series_instance_uid,
        "sop": instance.sop_instance_uid,
        "frame_list": "1",
        "tag": "7FE00010",
        "path": "projects",
        "uidb64": "MQ",  # an invitation link naming user 1 with a token that was never made
        "token": "not-a-token",
    }
    tokens = {name: Token.objects.create(user=user).key for name, user in users.items()}
    return World(
        project=project,
        other_project=other_project,
        users=users,
        tokens=tokens,
        item=item,
        annotation=annotation,
        run=run,
        version=version,
        snapshot=snapshot,
        export=export,
        url_values=values,
    )

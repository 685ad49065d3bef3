from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Labelling workflow"

    def ready(self) -> None:
        # Memberships and items decide who sees a study: a change must clear the DICOMweb
        # access caches (studies cannot import these models; decision 0911). A membership is
        # revoked in every process at once; items change on every submit, so other processes
        # follow those within the cache TTL (decision 0161).
        from annotations.models import Item, Membership
        from studies.dicomweb import hotcache

        hotcache.revoke_when_changed(Membership)
        hotcache.forget_when_changed(Item)
        connect_seg_sync()


def connect_seg_sync() -> None:
    """Every change of an item's truth (an annotation version, a submitted read, a review) re-
    writes its stored DICOM SEG after commit (annotations.seg_store, decision 0171). Signals, so
    each writer need not remember; bulk writers (imports) call seg_store themselves."""
    from django.db.models.signals import post_save

    from annotations.models import Annotation, Review, Submission

    def changed(sender: type, instance: Annotation | Review | Submission, **_: object) -> None:
        # Imported at the first change, not at start-up: seg_store loads highdicom (~0.5 s of
        # CPU), which every web process, worker and manage.py command would pay otherwise.
        from annotations.seg_store import sync_after_commit

        sync_after_commit(instance.item_id)

    for model in (Annotation, Submission, Review):
        post_save.connect(
            changed, sender=model, weak=False, dispatch_uid=f"seg-sync-{model.__name__}"
        )

"""Django admin for the workflow: read-mostly views for support and audits."""

from django.contrib import admin

from annotations.models import (
    Annotation,
    Comment,
    Item,
    LabelClass,
    Lease,
    Membership,
    Project,
    Review,
    Skip,
    Submission,
)


class LabelClassInline(admin.TabularInline):
    model = LabelClass
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "task_type", "unit", "readers_per_item", "require_review"]
    search_fields = ["name"]
    inlines = [LabelClassInline, MembershipInline]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "frame", "priority", "reads_done", "completed", "review_state"]
    list_filter = ["completed", "review_state"]
    raw_id_fields = ["instance", "series"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    """Versions are history: never edited here."""

    list_display = ["uid", "version", "item", "kind", "author", "source", "is_current", "deleted"]
    list_filter = ["kind", "source", "is_current", "deleted"]
    search_fields = ["uid"]
    raw_id_fields = ["item", "author"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


for model in (Lease, Submission, Skip, Review, Comment):
    admin.site.register(model)

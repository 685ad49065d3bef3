"""/api/v1/ routes of the labelling workflow (docs/api.md)."""

from django.urls import path

from annotations.views import projects, review, work

urlpatterns = [
    path("me/history", review.MyHistory.as_view(), name="my-history"),
    path("projects/", projects.ProjectList.as_view(), name="projects"),
    path("project-choices", projects.ProjectChoices.as_view(), name="project-choices"),
    path("projects/<id:project_id>/", projects.ProjectDetail.as_view(), name="project"),
    path("projects/<id:project_id>/members/", projects.MemberList.as_view(), name="members"),
    path(
        "projects/<id:project_id>/members/<id:user_id>/",
        projects.MemberDetail.as_view(),
        name="member",
    ),
    path("projects/<id:project_id>/attach", projects.Attach.as_view(), name="attach"),
    path(
        "projects/<id:project_id>/import-segmentation",
        projects.ImportSegmentation.as_view(),
        name="import-segmentation",
    ),
    path("projects/<id:project_id>/queue/next", work.QueueNext.as_view(), name="queue-next"),
    path("projects/<id:project_id>/review/", review.ReviewQueue.as_view(), name="review-queue"),
    path("projects/<id:project_id>/agreement", review.Agreement.as_view(), name="agreement"),
    path("items/<id:item_id>/", work.ItemDetail.as_view(), name="item"),
    path(
        "items/<id:item_id>/annotations/<str:uid>",
        work.AnnotationDetail.as_view(),
        name="annotation",
    ),
    path("items/<id:item_id>/submit", work.Submit.as_view(), name="submit"),
    path("items/<id:item_id>/skip", work.SkipItem.as_view(), name="skip"),
    path("items/<id:item_id>/comments", work.Comments.as_view(), name="comments"),
    path("items/<id:item_id>/suggestion", work.Suggestion.as_view(), name="suggestion"),
    path("items/<id:item_id>/review", review.ReviewItem.as_view(), name="review"),
    path("items/<id:item_id>/flag", review.FlagItem.as_view(), name="flag"),
    path("annotations/<str:uid>/history", work.AnnotationHistory.as_view(), name="history"),
]

"""Every route in the URL map x every kind of caller, against an explicit rule per route.

The routes come from walking Django's resolvers, so a route added without a rule in RULES fails
`test_every_route_has_a_rule`, and a method a view starts accepting without a rule fails the
matrix (undeclared methods must answer 405). Callers: a project's admin, reviewer and annotator,
the admin of another project ("other"), a signed-in user in no project ("outsider"), and nobody.

What "denied" means (docs/workflow.md, annotations/access.py): anonymous callers get
401 (API, DICOMweb) or a redirect to the login page (HTML); callers outside the project get 404,
never 403, so they do not learn that it exists; members lacking the role get 403 (or 404 where
the object itself is hidden from their role). No caller ever gets a 5xx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib import admin as django_admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.hardening.world import PERSONAS, World, build_world

pytestmark = pytest.mark.django_db

# Who may call a route, lowest first. A caller whose rank is below the level is denied.
PUBLIC, SIGNED_IN, MEMBER, REVIEWER, ADMIN, SUPERUSER = range(6)
RANK = {"anonymous": 0, "outsider": 1, "other": 1, "annotator": 2, "reviewer": 3, "admin": 4}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ANY = "*"  # the view answers every method the same way


@dataclass(frozen=True)
class Rule:
    methods: dict[str, int]  # method (or ANY) → level
    html: bool = False  # denied anonymous callers are redirected to the login page
    # A signed-in caller allowed by role may still get 404 for this object (e.g. a heat map
    # is only for items the caller may see the model's answer on); still never a 5xx.
    allowed_may_404: bool = False
    # The status is the answer itself (a health check reports 503 while a dependency is down).
    may_503: bool = False
    multipart: bool = False  # send a multipart form (the view parses nothing else)


def api(**methods: int) -> Rule:
    return Rule(methods=methods)


# Object routes of the API and DICOMweb: outsiders and other projects' members get 404.
RULES: dict[str, Rule] = {
    # Public pages and health.
    "healthz": Rule({ANY: PUBLIC}, may_503=True),
    # Django's LoginView answers PUT like POST (ProcessFormView).
    "accounts/login/": Rule({"GET": PUBLIC, "POST": PUBLIC, "PUT": PUBLIC}),
    "accounts/logout/": Rule({"POST": PUBLIC}),
    # An invitation link: anyone holding it; a wrong token answers "invalid link" (200).
    "accounts/invite/<uidb64>/<token>/": Rule({ANY: PUBLIC}),
    "": Rule({ANY: SIGNED_IN}, html=True),
    "^app/(?P<path>.*)$": Rule({ANY: SIGNED_IN}, html=True),
    # Public while DEBUG (local development); production settings limit them to signed-in users.
    "api/schema/": api(GET=PUBLIC),
    "api/docs/": api(GET=PUBLIC),
    # The caller's own things.
    "api/v1/me": api(GET=SIGNED_IN),
    "api/v1/me/history": api(GET=SIGNED_IN),
    "api/v1/projects/": api(GET=SIGNED_IN, POST=SUPERUSER),
    "api/v1/project-choices": api(GET=SIGNED_IN),
    "api/v1/studies/": api(GET=SIGNED_IN),
    # Without a `project` field: superusers only (with one: that project's admins).
    "api/v1/uploads/": Rule({"POST": SUPERUSER}, multipart=True),
    # Projects and members.
    "api/v1/projects/<id:project_id>/": api(GET=MEMBER, PATCH=ADMIN),
    "api/v1/projects/<id:project_id>/members/": api(GET=MEMBER, POST=ADMIN),
    "api/v1/projects/<id:project_id>/members/<id:user_id>/": api(PATCH=ADMIN, DELETE=ADMIN),
    "api/v1/projects/<id:project_id>/attach": api(POST=ADMIN),
    "api/v1/projects/<id:project_id>/import-segmentation": api(POST=ADMIN),
    # Labelling.
    "api/v1/projects/<id:project_id>/queue/next": api(POST=MEMBER),
    "api/v1/items/<id:item_id>/": api(GET=MEMBER),
    "api/v1/items/<id:item_id>/annotations/<str:uid>": api(PUT=MEMBER, DELETE=MEMBER),
    "api/v1/items/<id:item_id>/submit": api(POST=MEMBER),
    "api/v1/items/<id:item_id>/skip": api(POST=MEMBER),
    "api/v1/items/<id:item_id>/comments": api(GET=MEMBER, POST=MEMBER),
    # 404 while the model has no answer for the item (none is scored in this world).
    "api/v1/items/<id:item_id>/suggestion": Rule({"GET": MEMBER}, allowed_may_404=True),
    "api/v1/annotations/<str:uid>/history": api(GET=MEMBER),
    # Review.
    "api/v1/projects/<id:project_id>/review/": api(GET=REVIEWER),
    "api/v1/projects/<id:project_id>/agreement": api(GET=REVIEWER),
    "api/v1/items/<id:item_id>/review": api(POST=REVIEWER),
    "api/v1/items/<id:item_id>/flag": api(POST=MEMBER),
    # Learning.
    "api/v1/projects/<id:project_id>/training-runs/": api(GET=MEMBER, POST=ADMIN),
    "api/v1/projects/<id:project_id>/hparam-searches/": api(GET=MEMBER, POST=ADMIN),
    "api/v1/training-runs/<id:run_id>/": api(GET=MEMBER),
    "api/v1/training-runs/<id:run_id>/cancel": api(POST=ADMIN),
    "api/v1/projects/<id:project_id>/model-versions/": api(GET=MEMBER),
    "api/v1/model-versions/<id:version_id>/": api(GET=MEMBER),
    "api/v1/model-versions/<id:version_id>/activate": api(POST=ADMIN),
    "api/v1/projects/<id:project_id>/rescore": api(POST=ADMIN),
    "api/v1/projects/<id:project_id>/pretrained-weights/": api(GET=MEMBER, POST=ADMIN),
    "api/v1/projects/<id:project_id>/model-settings": api(GET=MEMBER, PATCH=ADMIN),
    "api/v1/model-architectures/": api(GET=SIGNED_IN),
    # Exports.
    "api/v1/projects/<id:project_id>/snapshots/": api(GET=ADMIN, POST=ADMIN),
    "api/v1/snapshots/<id:snapshot_id>/": api(GET=ADMIN),
    "api/v1/projects/<id:project_id>/exports/": api(GET=ADMIN, POST=ADMIN),
    "api/v1/exports/<id:job_id>/": api(GET=ADMIN),
    "api/v1/exports/<id:job_id>/cancel": api(POST=ADMIN),
    "api/v1/exports/<id:job_id>/download": api(GET=ADMIN),
    # Dashboard, heat maps, reports.
    "api/v1/items/<id:item_id>/heatmap": Rule({"GET": MEMBER}, allowed_may_404=True),
    "api/v1/items/<id:item_id>/heatmap.dcm": Rule({"GET": MEMBER}, allowed_may_404=True),
    "api/v1/projects/<id:project_id>/dashboard": api(GET=REVIEWER),
    "api/v1/projects/<id:project_id>/workers": api(GET=REVIEWER),
    # Annotators only where suggestions show before an answer (not this world's project).
    "api/v1/projects/<id:project_id>/studies/<str:study_uid>/report": api(GET=REVIEWER),
    "api/v1/projects/<id:project_id>/studies/<str:study_uid>/report.pdf": api(GET=REVIEWER),
    # The reports of a study the caller may read (an empty list for everyone else).
    "api/v1/studies/<str:study_uid>/reports": api(GET=SIGNED_IN),
    # WADO-URI.
    "wado": api(GET=MEMBER),
}

# DICOMweb: the same resources under the global root and under each project's root. Reads are
# for members of a project the study is attached to; STOW-RS (POST .../studies) for superusers
# anywhere and a project's admins into their project.
_DICOMWEB_READS = [
    "studies/<str:study>/series/<str:series>/instances/<str:sop>/frames/<str:frame_list>",
    "studies/<str:study>/series/<str:series>/instances/<str:sop>/metadata",
    "series",
    "instances",
    "studies/<str:study>",
    "studies/<str:study>/metadata",
    "studies/<str:study>/thumbnail",
    "studies/<str:study>/series",
    "studies/<str:study>/instances",
    "studies/<str:study>/series/<str:series>",
    "studies/<str:study>/series/<str:series>/metadata",
    "studies/<str:study>/series/<str:series>/rendered",
    "studies/<str:study>/series/<str:series>/thumbnail",
    "studies/<str:study>/series/<str:series>/instances",
    "studies/<str:study>/series/<str:series>/instances/<str:sop>",
    "studies/<str:study>/series/<str:series>/instances/<str:sop>/rendered",
    "studies/<str:study>/series/<str:series>/instances/<str:sop>/thumbnail",
    "studies/<str:study>/series/<str:series>/instances/<str:sop>/frames/<str:frame_list>/rendered",
    "studies/<str:study>/series/<str:series>/instances/<str:sop>/frames/<str:frame_list>/thumbnail",
    "studies/<str:study>/series/<str:series>/instances/<str:sop>/bulkdata/<str:tag>",
]
for _root, _stow in (("dicomweb/", SUPERUSER), ("dicomweb/projects/<id:project_id>/", ADMIN)):
    for _route in _DICOMWEB_READS:
        RULES[_root + _route] = api(GET=MEMBER)
    RULES[_root + "studies"] = api(GET=SIGNED_IN if _stow == SUPERUSER else MEMBER, POST=_stow)
    RULES[_root + "studies/<str:study>"] = api(GET=MEMBER, POST=_stow)  # STOW into one study
    # Listing series/instances at the root: everyone signed in gets what they may see.
    if _stow == SUPERUSER:
        RULES[_root + "series"] = api(GET=SIGNED_IN)
        RULES[_root + "instances"] = api(GET=SIGNED_IN)

# Query strings some routes need to reach the object (WADO-URI names it in the query).
QUERIES = {
    "wado": "?requestType=WADO&studyUID={study}&seriesUID={series}&objectUID={sop}"
    "&contentType=application/dicom",
}


def walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern) == "admin/":
                continue  # Django's admin: its own test below (its routes follow the registry)
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


ROUTES = sorted({route for route, _ in walk(get_resolver().url_patterns)})


def concrete(route: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    path = re.sub(r"<(?:\w+:)?(\w+)>", fill, route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", fill, path).strip("^$")
    return "/" + path + QUERIES.get(route, "").format(**values)


def client_for(world: World, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(world.users[persona])
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {world.tokens[persona]}"
    return client


def call(client: Client, method: str, url: str, rule: Rule) -> int:
    send = getattr(client, method.lower())
    if method == "GET":
        return int(send(url).status_code)
    if rule.multipart and method == "POST":
        return int(send(url, data={"note": "x"}).status_code)
    return int(send(url, data="{}", content_type="application/json").status_code)


def level_for(rule: Rule, method: str) -> int | None:
    """The level a method needs, or None when the route does not answer it (405)."""
    if ANY in rule.methods:
        return rule.methods[ANY]
    return rule.methods.get(method)


def verdict(route: str, rule: Rule, method: str, persona: str, status: int) -> str | None:
    """None when the answer is what the rule says, else why not."""
    if status >= 500 and not (rule.may_503 and status == 503):
        return f"server error {status}"
    level = level_for(rule, method)
    anonymous_denied = {302} if rule.html else {401}
    if level is None:
        expected = anonymous_denied | {405} if persona == "anonymous" else {405}
        return None if status in expected else f"{status}, expected 405 (no rule)"
    rank = RANK[persona]
    if rank >= level:
        denied = {401, 403, 404, 405} - ({404} if rule.allowed_may_404 else set())
        return f"{status} but the rule allows it" if status in denied else None
    if persona == "anonymous":
        expected = anonymous_denied
    elif rank < MEMBER and level < SUPERUSER and ("<" in route or route == "wado"):
        expected = {404}  # outside the project or object: never learn that it exists
    elif rank < MEMBER:
        expected = {403}
    else:
        expected = {403, 404}
    return None if status in expected else f"{status}, expected one of {sorted(expected)}"


def test_every_route_has_a_rule() -> None:
    missing = [route for route in ROUTES if route not in RULES]
    stale = [route for route in RULES if route not in ROUTES]
    assert not missing, f"routes without a permission rule in {__name__}.RULES: {missing}"
    assert not stale, f"rules for routes that no longer exist: {stale}"


@pytest.mark.parametrize("route", ROUTES)
def test_route_answers_each_caller_by_its_rule(route: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    # /healthz's worker ping waits 1 s for replies (no worker runs here); as in production, the
    # verdict is reused between callers instead of 35 pings (tests/test_health.py tests that).
    settings.HEALTH_WORKERS_CACHE_S = 60
    rule = RULES.get(route)
    if rule is None:
        pytest.fail(f"no permission rule for {route}")
    world = build_world()
    url = concrete(route, world.url_values)
    failures = []
    # Denied callers first, so nothing an allowed caller changes hides a door.
    for persona in PERSONAS:
        client = client_for(world, persona)
        for method in METHODS:
            status = call(client, method, url, rule)
            problem = verdict(route, rule, method, persona, status)
            if problem:
                failures.append(f"{method} {url} as {persona}: {problem}")
    assert not failures, "\n".join(failures)


def test_the_admin_site_is_for_staff_only(settings) -> None:  # type: ignore[no-untyped-def]
    """Every registered model's admin pages redirect our (non-staff) callers to the login."""
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    world = build_world()
    urls = [reverse("admin:index")]
    for model in django_admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls += [reverse(f"admin:{info[0]}_{info[1]}_{page}") for page in ("changelist", "add")]
    failures = []
    for persona in PERSONAS:
        client = client_for(world, persona)
        for url in urls:
            for method in ("GET", "POST"):
                response = getattr(client, method.lower())(url)
                if response.status_code != 302 or "/admin/login/" not in response["Location"]:
                    failures.append(f"{method} {url} as {persona}: {response.status_code}")
    assert not failures, "\n".join(failures)

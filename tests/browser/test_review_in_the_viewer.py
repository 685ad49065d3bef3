"""Two readers (anna, ben) disagree on two CT images; rita, the reviewer, opens the review screen,
accepts ben's answer on the first with one key, edits a copy of anna's on the second (moves the
box and changes its class) and saves it, and comments. The API then holds both adjudications as
the ground truth, and the agreement figures changed accordingly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from annotations.ground_truth import ground_truth_for
from annotations.models import Item
from tests.annotations.helpers import answer, submit, take
from tests.browser.support import Browser, ct_slices, drag, sign_in, wait_ready, wait_saved
from tests.browser.test_drawing_round_trip import close_to
from tests.cast import Cast, make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def box(label: str, x0: int, y0: int, x1: int, y1: int) -> dict[str, Any]:
    return {"label": label, "points": [[x0, y0], [x1, y1]]}


def reads(cast: Cast, who: str, project_id: int, boxes: list[dict[str, Any]]) -> list[int]:
    """`who` takes each next item, draws one box on it and submits; the item ids in order."""
    client = cast.client(who)
    ids = []
    for payload in boxes:
        (item,) = take(client, project_id)
        assert answer(client, item["id"], payload, kind="box").status_code == 201
        assert submit(client, item["id"]).status_code == 200
        ids.append(item["id"])
    return ids


def wait_adjudicated(page: Any, text: str) -> None:
    page.wait_for_function(
        """(text) => {
            const s = window.__viewerTest.status();
            return s.pending === 0 && !s.editing && (s.notice || '').includes(text);
        }""",
        arg=text,
        timeout=15_000,
    )


def shapes_against_adjudication(rita: Any, project_id: int) -> dict[str, float]:
    body = rita.get(f"/api/v1/projects/{project_id}/agreement").json()
    return {
        row["reader"]: row["dice"]["estimate"] for row in body["shapes"]["readers_vs_adjudication"]
    } | {"reviewed": body["items_reviewed"]}


def test_a_reviewer_adjudicates_by_key_and_by_editing_and_comments(
    browser: Browser, live_server, cast: Cast, artifacts_dir: Path
) -> None:
    project = make_project(
        dicom=ct_slices(2), task_type="detection", classes=("nodule", "mass"), readers_per_item=2
    )
    cast.on(project, "alice", "rita", "anna", "ben")
    anna_boxes = [box("nodule", 20, 20, 60, 60), box("nodule", 10, 10, 40, 40)]
    ben_boxes = [box("mass", 90, 90, 120, 120), box("nodule", 80, 80, 120, 120)]
    items = reads(cast, "anna", project.pk, anna_boxes)
    assert reads(cast, "ben", project.pk, ben_boxes) == items
    anna_box, ben_box = (
        dict(zip(items, anna_boxes, strict=True)),
        dict(zip(items, ben_boxes, strict=True)),
    )
    assert set(Item.objects.filter(project=project).values_list("review_reason", flat=True)) == {
        "disagreement"
    }
    rita = cast.client("rita")
    assert shapes_against_adjudication(rita, project.pk) == {"reviewed": 0}

    page = browser.new_page()
    sign_in(page, live_server.url, "rita")
    page.get_by_test_id(f"review-{project.pk}").click()
    shown = wait_ready(page)["itemId"]
    accept_id, edit_id = sorted(items)  # the queue lists items in id order
    assert shown == accept_id
    # Each reader's shapes are a layer of their own, named after the reader.
    expect(page.locator('svg[data-reader="anna"] [data-kind="box"]')).to_have_count(1)
    expect(page.locator('svg[data-reader="ben"] text')).to_have_text(
        f"ben: {ben_box[accept_id]['label']}"
    )
    page.keyboard.press("t")  # anna's layer alone
    expect(page.locator('svg[data-reader="ben"]')).to_be_hidden()
    page.keyboard.press("t")
    page.keyboard.press("t")  # all layers again
    expect(page.locator('svg[data-reader="ben"]')).to_be_visible()
    page.keyboard.press("?")
    expect(page.get_by_test_id("shortcuts")).to_contain_text("Accept reader")
    page.keyboard.press("Escape")

    page.keyboard.press("2")  # accept ben's answer; the screen moves on to the next item
    wait_adjudicated(page, "accepted ben's answer")
    assert wait_ready(page, accept_id)["itemId"] == edit_id

    page.keyboard.press("Shift+Digit1")  # edit a copy of anna's answer
    page.wait_for_function("() => window.__viewerTest.status().editing === true")
    [copy] = page.evaluate("window.__viewerTest.annotations()")
    assert copy["kind"] == "box" and copy["payload"]["label"] == "nodule"
    page.keyboard.press("v")
    drag(page, [(25, 25), (45, 55)])  # move the box by (20, 30)
    page.keyboard.press("2")  # the selected box becomes a mass
    [edited] = page.evaluate("window.__viewerTest.annotations()")
    assert edited["payload"]["label"] == "mass"
    page.screenshot(path=str(artifacts_dir / "review-editing.png"))
    page.keyboard.press("Enter")
    wait_adjudicated(page, "saved the edited adjudication")
    wait_saved(page)

    # The saved adjudication now lies over the image beside the readers' layers.
    expect(page.locator('svg[data-reader="adjudicated"] text')).to_have_text("adjudicated: mass")
    page.keyboard.press("c")
    page.keyboard.type("Moved to the mass; anna marked the wrong lesion.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("comments")).to_contain_text("anna marked the wrong lesion")
    expect(page.get_by_test_id("adjudication")).to_contain_text("version 1 by rita (edited)")
    expect(page.get_by_test_id("review-progress")).to_contain_text("0 left to adjudicate")
    # 1366 x 768: the page itself never scrolls; the panels do.
    assert page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight")
    page.screenshot(path=str(artifacts_dir / "review-screen.png"))

    # The API: both adjudications are the ground truth, and the agreement follows them.
    truth = ground_truth_for(project)
    assert truth[accept_id].source == truth[edit_id].source == "review"
    accepted = truth[accept_id].shapes[0]
    assert [accepted["label"], accepted["points"]] == [
        ben_box[accept_id]["label"], ben_box[accept_id]["points"],
    ]  # fmt: skip
    moved = truth[edit_id].shapes[0]
    assert moved["label"] == "mass"
    shift = [[x + 20, y + 30] for x, y in anna_box[edit_id]["points"]]
    assert close_to(moved["points"], shift), moved["points"]
    reviewed = rita.get(f"/api/v1/projects/{project.pk}/review/?state=reviewed").json()
    by_id = {row["id"]: row for row in reviewed["results"]}
    assert by_id[accept_id]["adjudication"]["accepted_reader"] == cast.ben.pk
    assert by_id[edit_id]["adjudication"]["accepted_reader"] is None
    assert by_id[edit_id]["comments"] == 1
    comments = rita.get(f"/api/v1/items/{edit_id}/comments").json()
    assert [(c["author_name"], c["text"][:8]) for c in comments] == [("rita", "Moved to")]
    figures = shapes_against_adjudication(rita, project.pk)
    # ben's accepted box matches exactly on one item; nobody's box matches the edited one.
    assert figures == {"reviewed": 2, "anna": 0.0, "ben": 0.5}
    dashboard = rita.get(f"/api/v1/projects/{project.pk}/dashboard").json()
    per_doctor = {row["doctor"]: row for row in dashboard["agreement_per_doctor"]}
    assert per_doctor["ben"]["with_adjudication"] == 0.5
    assert per_doctor["anna"]["items_adjudicated"] == 2
    assert browser.errors == []


def test_a_doctor_flags_an_item_for_review_from_the_workspace(
    browser: Browser, live_server, cast: Cast
) -> None:
    project = make_project(dicom=ct_slices(1), name="Chest triage")
    cast.on(project, "rita", "anna")
    page = browser.new_page()
    sign_in(page, live_server.url, "anna")
    page.goto(f"{live_server.url}/app/projects/{project.pk}")
    item_id = wait_ready(page)["itemId"]
    page.get_by_test_id("flag").click()
    page.keyboard.type("Odd density at the left base.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("notice")).to_contain_text(f"Item {item_id} flagged for review")
    (row,) = cast.client("rita").get(f"/api/v1/projects/{project.pk}/review/").json()["results"]
    assert (row["id"], row["review_reason"], row["comments"]) == (item_id, "flagged", 1)
    assert browser.errors == []

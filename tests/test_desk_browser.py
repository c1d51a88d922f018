"""The desk end to end in a real headless Chromium (Debian's, driven by
Playwright): keys, edits, audio, drag and drop, downloads and retries, each
checked in the database the desk writes to."""
import json
import shutil
from pathlib import Path

import pytest

from desk_fixture import live_server, make_desk_db, many_items
from pipeline.db import open_db
from pipeline.desk import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium; scripts/setup.sh does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required",
                                                                    "--mute-audio"])
        yield browser
        browser.close()


@pytest.fixture
def desk(tmp_path, browser):
    """(page, base URL, a second connection to the database) over the items fixture."""
    path, _ = make_desk_db(tmp_path)
    with live_server(create_app(path)) as url:
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)  # generous: a loaded 2-core machine is slow, not wrong
        yield page, url, open_db(path)
        context.close()


def status_of(db, item_id):
    return db["items"].get(item_id)["status"]


def decide(page, key):
    """Press a key on the current card and wait until that card has left the queue."""
    current = page.locator("#queue .card.current").get_attribute("data-id")
    page.keyboard.press(key)
    page.wait_for_selector(f"#item-{current}", state="detached")
    return int(current)


def test_approve_reject_and_skip_with_the_keyboard_then_resume(desk):
    page, url, db = desk
    page.goto(f"{url}/queue")
    # best first: items 1 (0.9), 3 (0.7) and 5 (0.5) are pending
    assert page.locator("#queue .card").evaluate_all("cards => cards.map(c => +c.dataset.id)") == [1, 3, 5]
    assert decide(page, "a") == 1
    assert status_of(db, 1) == "approved"
    assert decide(page, "r") == 3
    assert status_of(db, 3) == "rejected"
    with page.expect_navigation():  # the last card: the page reloads with what is left
        page.keyboard.press("s")
    assert status_of(db, 5) == "pending" and db["items"].get(5)["reviewed"]
    page.wait_for_selector("#item-5.current")
    assert page.locator("#pending-count").inner_text() == "1"
    # the verbatim <script> in item 5 is text on the page, never run
    assert "<script>alert(1)</script>" in page.locator("#item-5 [data-field=text]").inner_text()


def test_edit_then_revert(desk):
    page, url, db = desk
    page.goto(f"{url}/items/3")
    page.keyboard.press("e")
    area = page.locator("#item-3 .editor textarea")
    area.fill("Prototype before you write the brief.")
    area.press("Control+Enter")
    page.wait_for_selector("#item-3 .diff ins")
    assert page.locator("#item-3 .diff del").inner_text() == "spec"
    assert page.locator("#item-3 .diff ins").inner_text() == "brief"
    row = db["items"].get(3)
    assert (row["text"], row["edited_text"]) == ("Prototype before you write the spec.",
                                                 "Prototype before you write the brief.")
    assert page.locator("#item-3 .verbatim").inner_text() == "Prototype before you write the spec."
    page.keyboard.press("v")
    page.wait_for_selector("#item-3 .edited", state="hidden")
    assert db["items"].get(3)["edited_text"] is None
    assert page.locator("#item-3 [data-field=text]").inner_text() == "Prototype before you write the spec."


def test_audio_plays_from_the_second_it_was_said(desk):
    page, url, db = desk
    page.goto(f"{url}/queue")
    page.keyboard.press("p")  # item 1, said at 65 s of a 90 s file
    page.wait_for_function("() => { const a = document.querySelector('#item-1 audio');"
                           " return a && !a.paused && a.currentTime >= 65 && a.currentTime < 80; }")
    assert page.locator("#item-1 audio").get_attribute("src") == "/audio/1"


def test_build_a_collection_by_dragging_and_export_it(desk):
    page, url, db = desk
    page.goto(f"{url}/collections")
    page.fill("input[name=name]", "customer-tips")
    page.click("text=Create")
    page.wait_for_url("**/collections/1")
    page.goto(f"{url}/queue")
    page.keyboard.press("c")  # item 1, from the queue
    page.wait_for_selector("#flash:has-text('added 1')")
    page.goto(f"{url}/search?q=prototype OR tricky")  # items 3 and 5, from a search
    page.locator("input[name=ids]").evaluate_all("boxes => boxes.forEach(b => b.checked = true)")
    page.click("text=Add the ticked items")
    page.wait_for_selector("#flash:has-text('added 2')")
    page.goto(f"{url}/collections/1")
    ids = "els => els.map(e => +e.dataset.id)"
    first_ids = page.locator("#collection-items li[data-id]").evaluate_all(ids)
    assert sorted(first_ids) == [1, 3, 5] and first_ids[0] == 1
    last = first_ids[-1]
    page.locator(f"#collection-items li[data-id='{last}']").drag_to(page.locator("#collection-items li[data-id='1']"))
    page.wait_for_selector("#flash:has-text('moved to position 1')")
    order = [last] + first_ids[:-1]
    assert page.locator("#collection-items li[data-id]").evaluate_all(ids) == order
    assert [r[0] for r in db.execute("select item_id from collection_items order by position")] == order
    with page.expect_download() as download:
        page.click("a[href$='/export/jsonl']")
    assert download.value.suggested_filename == "customer-tips.jsonl"
    lines = Path(download.value.path()).read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == order


def test_retry_a_failed_episode(desk):
    page, url, db = desk
    db["episodes"].update(2, {"status": "failed", "error": "HTTP 404 NOT FOUND", "attempts": 3})
    page.goto(f"{url}/jobs")
    assert "HTTP 404 NOT FOUND" in page.locator("#failures").inner_text()
    page.click("#failures tr[data-episode='2'] button")
    page.wait_for_selector("#no-failures")
    row = db["episodes"].get(2)
    assert (row["status"], row["attempts"]) == ("new", 3)


def test_review_a_hundred_items_without_the_mouse(tmp_path, browser):
    path, db = make_desk_db(tmp_path, items=many_items(120))
    with live_server(create_app(path)) as url:
        page = browser.new_page()
        page.set_default_timeout(30_000)  # generous: a loaded 2-core machine is slow, not wrong
        page.goto(f"{url}/queue")
        decided = [decide(page, "a" if n % 2 else "r") for n in range(100)]
        page.close()
    assert decided == list(range(1, 101))  # best first, across four pages of the queue
    counts = dict(db.execute("select status, count(*) from items group by status").fetchall())
    assert counts == {"approved": 50, "rejected": 50, "pending": 20}

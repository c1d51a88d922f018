"""The desk without a browser: its safety rules, audio with Range over real
HTTP, downloads equal to the CLI's exports, name matches, the queue's order,
and editors' writes while a CLI job holds the database."""
import io
import re
import threading
import time

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from desk_fixture import AUDIO_SECONDS, live_server, make_desk_db
from items_fixture import NASTY
from pipeline import collections as coll
from pipeline.cli import cli
from pipeline.db import open_db
from pipeline import encoder
from pipeline.desk import create_app
from pipeline.export import FORMATS, export_items
from pipeline.link import pending_matches
from pipeline.maintenance import Lock
from pipeline.review import count_pending, pending_items
from pipeline.stages import run_stages
from pipeline.transcripts import segments_around

JSON = {"accept": "application/json"}
ROW_IDS = re.compile(r'<input type="checkbox" name="ids" value="(\d+)"')


@pytest.fixture
def desk(tmp_path):
    path, db = make_desk_db(tmp_path)
    client = TestClient(create_app(path), base_url="http://127.0.0.1:8002")
    csrf = re.search(r'name="csrf" content="([^"]+)"', client.get("/queue").text).group(1)
    return client, csrf, db, path


def test_every_change_needs_the_csrf_token_and_a_post(desk):
    client, csrf, db, _ = desk
    assert client.post("/items/1/approve", headers=JSON).status_code == 403
    assert client.post("/items/1/approve", headers=dict(JSON, **{"x-csrf-token": "guess"})).status_code == 403
    # the right token from another site's page is still refused
    other = dict(JSON, **{"x-csrf-token": csrf, "origin": "http://evil.example"})
    assert client.post("/items/1/approve", headers=other).status_code == 403
    assert client.get("/items/1/approve").status_code == 405
    assert db["items"].get(1)["status"] == "pending"
    response = client.post("/items/1/approve", data={"csrf": csrf}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/items/1")
    assert db["items"].get(1)["status"] == "approved"


def test_pages_escape_text_and_load_nothing_from_elsewhere(desk):
    client, _, _, _ = desk
    page = client.get("/items/5")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert not re.search(r'(src|href)="(https?:)?//', page.text.replace('src="https://cdn.example.com/ep', ""))
    assert client.get("/queue", headers={"host": "rebound.example"}).status_code == 400


def test_a_token_when_asked(tmp_path):
    path, _ = make_desk_db(tmp_path)
    client = TestClient(create_app(path, host="0.0.0.0", token="s3cret"), base_url="http://0.0.0.0:8002")
    assert client.get("/queue").status_code == 401
    assert client.get("/queue?token=wrong").status_code == 401
    first = client.get("/queue?token=s3cret&kind=tip", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/queue?kind=tip")
    assert client.get("/queue?kind=tip").status_code == 200  # the cookie from now on


def test_cli_refuses_other_addresses_without_a_token_and_a_missing_database(tmp_path):
    path, _ = make_desk_db(tmp_path)
    result = CliRunner().invoke(cli, ["desk", "--host", "0.0.0.0", "--db", str(path)])
    assert result.exit_code == 2
    assert "--host 0.0.0.0 lets other machines in: give --token" in result.output
    result = CliRunner().invoke(cli, ["desk", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 1 and "no database at" in result.output


def test_audio_with_range_over_real_http_and_the_enclosure_when_not_local(tmp_path):
    path, db = make_desk_db(tmp_path)
    size = (tmp_path / "ep1.wav").stat().st_size
    with live_server(create_app(path)) as url:
        whole = httpx.get(f"{url}/audio/1")
        part = httpx.get(f"{url}/audio/1", headers={"range": "bytes=1000-1999"})
        missing = httpx.get(f"{url}/audio/2")
        page = httpx.get(f"{url}/items/2").text
    assert (whole.status_code, len(whole.content), whole.headers["accept-ranges"]) == (200, size, "bytes")
    assert whole.headers["content-type"].startswith("audio/")
    assert (part.status_code, part.headers["content-range"]) == (206, f"bytes 1000-1999/{size}")
    assert part.content == (tmp_path / "ep1.wav").read_bytes()[1000:2000]
    assert size > AUDIO_SECONDS * 8000
    assert missing.status_code == 404
    assert 'src="https://cdn.example.com/ep2.mp3"' in page  # not downloaded: the feed's URL


def test_context_is_three_lines_around_the_item(db):
    db["transcripts"].insert({"id": 1, "episode_id": None, "source": "whisper"})
    db["segments"].insert_all({"id": i + 1, "transcript_id": 1, "idx": i, "start": i * 5.0, "end": i * 5.0 + 5,
                               "text": f"line {i}", "speaker": "A"} for i in range(20))
    rows = segments_around(db, 1, [9, 10])  # idx 8 and 9
    assert [(r["idx"], r["own"]) for r in rows] == [(5, False), (6, False), (7, False), (8, True), (9, True),
                                                    (10, False), (11, False), (12, False)]
    assert [r["idx"] for r in segments_around(db, 1, [1])] == [0, 1, 2, 3]
    assert segments_around(db, 1, []) == [] and segments_around(db, None, [1]) == []


def test_queue_best_first_with_filters_and_skipped_last(desk):
    client, csrf, db, _ = desk
    assert [r["id"] for r in pending_items(db, order="score")] == [1, 3, 5]
    client.post("/items/1/skip", headers=dict(JSON, **{"x-csrf-token": csrf}))
    assert [r["id"] for r in pending_items(db, order="score")] == [3, 5, 1]
    assert [r["id"] for r in pending_items(db, order="score", person="dana")] == [3]
    assert [r["id"] for r in pending_items(db, order="score", min_score=0.6, topic="customers")] == [1]
    assert count_pending(db) == 3 and count_pending(db, kinds=["quote"]) == 1
    page = client.get("/queue?kind=quote").text
    assert re.findall(r'<article class="card[^"]*" id="item-(\d+)"', page) == ["5"]
    assert '<span id="pending-count">1</span>' in page
    assert client.get("/queue?min_score=high", headers=JSON).json() == {
        "error": "a score is a number between 0 and 1, not 'high'"}


def test_every_export_format_downloads_what_the_cli_writes(desk):
    client, csrf, db, _ = desk
    coll.save_collection(db, "picks", "Best of")
    coll.add_items(db, "picks", [5, 1, 2])
    for fmt in FORMATS:
        response = client.get(f"/collections/1/export/{fmt}")
        expected = io.StringIO()
        export_items(db, fmt, out=expected, collection="picks")
        assert response.status_code == 200, fmt
        assert response.content.decode() == expected.getvalue(), fmt
        suffix = "readwise.csv" if fmt == "readwise" else fmt
        assert response.headers["content-disposition"] == f'attachment; filename="picks.{suffix}"'
    assert NASTY.split("\n")[0] in client.get("/collections/1/export/json").text.replace('\\"', '"')
    assert client.get("/collections/1/export/docx").status_code == 404


def test_confirm_and_reject_name_matches(desk):
    client, csrf, db, _ = desk
    db["person_matches"].insert_all([
        {"episode_id": 1, "label": "Cory Miller", "person_id": 1, "score": 88.0, "method": "fuzzy", "status": "pending"},
        {"episode_id": 2, "label": "Dana L", "person_id": 2, "score": 82.0, "method": "fuzzy", "status": "pending"}])
    page = client.get("/people/corie-miller").text
    assert "Cory Miller" in page and "Dana L" not in page  # only the matches suggesting this person
    post = dict(JSON, **{"x-csrf-token": csrf})
    client.post("/matches/confirm", data={"episode_id": 1, "label": "Cory Miller", "person": "Corie Miller"},
                headers=post)
    client.post("/matches/reject", data={"episode_id": 2, "label": "Dana L"}, headers=post)
    assert list(pending_matches(db)) == []
    assert "Cory Miller" in db["people"].get(1)["aliases"]
    assert [r[0] for r in db.execute("select status from person_matches order by episode_id")] == [
        "confirmed", "rejected"]


def test_editors_and_a_cli_job_at_the_same_moment(desk):
    """A job holds the lock and is mid-transaction: the desk's decision and
    retry wait for the transaction and succeed; the job finishes too."""
    client, csrf, db, path = desk
    db["episodes"].update(2, {"status": "failed", "error": "boom", "attempts": 3})
    written = threading.Event()

    def run_job():
        job = open_db(path)
        with Lock(path):
            with job.atomic():
                job.execute("update episodes set title = 'renamed by the job' where id = 1")
                written.set()
                time.sleep(0.5)

    thread = threading.Thread(target=run_job)
    thread.start()
    written.wait(5)
    post = dict(JSON, **{"x-csrf-token": csrf})
    started = time.monotonic()
    assert client.post("/items/3/approve", headers=post).json()["status"] == "approved"
    assert client.post("/jobs/retry", data={"episode_id": 2}, headers=post).json() == {"requeued": 1}
    waited = time.monotonic() - started
    thread.join()
    assert waited > 0.2  # it did meet the job's transaction
    assert db["episodes"].get(1)["title"] == "renamed by the job"
    assert (db["items"].get(3)["status"], db["episodes"].get(2)["status"]) == ("approved", "new")


@pytest.mark.skipif(not encoder.available(), reason="needs the extract extra")
def test_search_by_meaning_finds_what_shares_no_words_and_adds_it(tmp_path):
    """Items embedded with the real encoder: a question sharing no word with
    "Talk to customers every week." finds it by meaning (and by both, the
    default once there are vectors), not by words; the result adds to a collection."""
    path, db = make_desk_db(tmp_path)
    run_stages(db, ["embed"])
    coll.save_collection(db, "picks")
    question = "how often should I speak with my users"
    with live_server(create_app(path)) as url:
        page = httpx.get(f"{url}/search").text
        by_words = httpx.get(f"{url}/search", params={"q": question, "mode": "fts"}).text
        by_meaning = httpx.get(f"{url}/search", params={"q": question, "mode": "semantic"})
        by_both = httpx.get(f"{url}/search", params={"q": question}).text
        tips = httpx.get(f"{url}/search", params={"q": question, "mode": "semantic", "kind": "quote"}).text
        escaped = httpx.get(f"{url}/search", params={"q": "<script>alert(2)</script>", "mode": "semantic"}).text
        bad = httpx.get(f"{url}/search", params={"q": question, "mode": "vibes"}, headers=JSON)
        csrf = re.search(r'name="csrf" content="([^"]+)"', page).group(1)
        added = httpx.post(f"{url}/collections/1/add", data={"ids": ROW_IDS.findall(by_meaning.text)[0]},
                           headers=dict(JSON, **{"x-csrf-token": csrf}))
    assert '<option value="hybrid" selected>both</option>' in page
    assert ROW_IDS.findall(by_words) == [] and "Nothing matches." in by_words
    assert ROW_IDS.findall(by_meaning.text)[0] == "1"
    assert '<option value="semantic" selected>meaning</option>' in by_meaning.text
    assert "default-src 'none'" in by_meaning.headers["content-security-policy"]
    assert ROW_IDS.findall(by_both)[0] == "1"
    assert set(ROW_IDS.findall(tips)) == {"2", "5"}  # the filters still apply
    # every item comes back by meaning, the one with markup too: all escaped, no script of ours inline
    assert "<script>alert" not in escaped and "&lt;script&gt;alert(2)&lt;/script&gt;" in escaped
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", escaped))
    assert (bad.status_code, bad.json()) == (
        400, {"error": "unknown search mode 'vibes'; choose from fts, semantic, hybrid"})
    assert added.json() == {"added": 1, "already": 0, "ids": [1]}

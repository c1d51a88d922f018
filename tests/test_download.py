import hashlib
import re
import os

import pytest
from click.testing import CliRunner
from werkzeug import Response

from conftest import static_handler
from pipeline.cli import cli
from pipeline.download import DownloadError, download, download_file
from pipeline.feeds import ingest_feed
from pipeline.http_client import RetryPolicy, make_client

FAST = RetryPolicy(attempts=3, backoff=0.01)
AUDIO = bytes(range(256)) * 400  # 100 KiB of "audio"


def feed_with(httpserver, enclosures, transcript=None):
    items = "".join(
        f"<item><title>Episode {guid}</title><guid>{guid}</guid>"
        f"<enclosure url='{httpserver.url_for(path)}' length='{length}' type='audio/mpeg'/>"
        + (f"<podcast:transcript url='{httpserver.url_for(transcript)}' type='text/vtt'/>" if transcript else "")
        + "</item>"
        for guid, path, length in enclosures)
    return (f"<rss version='2.0' xmlns:podcast='https://podcastindex.org/namespace/1.0'><channel>"
            f"<title>Fault FM</title>{items}</channel></rss>").encode()


def test_partial_file_from_a_killed_run_is_resumed(httpserver, tmp_path):
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "a.mp3").write_bytes(AUDIO)
    httpserver.expect_request("/a.mp3").respond_with_handler(static_handler(tmp_path / "srv"))
    dest = tmp_path / "a.mp3"
    (tmp_path / "a.mp3.part").write_bytes(AUDIO[:1000])
    with make_client() as client:
        download_file(httpserver.url_for("/a.mp3"), dest, client=client, policy=FAST)
    request, response = httpserver.log[0]
    assert request.headers["Range"] == "bytes=1000-" and response.status_code == 206
    assert dest.read_bytes() == AUDIO


def test_size_limit_refuses_before_downloading(raw_server, tmp_path):
    server = raw_server(reply=lambda r: [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nxxxx" % (2 * 1024 ** 3)])
    with make_client() as client, pytest.raises(DownloadError, match="over the limit"):
        download_file(server.url + "/big.mp3", tmp_path / "big.mp3", client=client,
                      max_bytes=1024 ** 3, policy=FAST)
    assert not list(tmp_path.iterdir())


def test_server_error_then_success_and_429(httpserver, tmp_path):
    httpserver.expect_ordered_request("/a.mp3").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/a.mp3").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "0"}))
    httpserver.expect_ordered_request("/a.mp3").respond_with_data(AUDIO)
    with make_client() as client:
        download_file(httpserver.url_for("/a.mp3"), tmp_path / "a.mp3", client=client, policy=FAST)
    assert (tmp_path / "a.mp3").read_bytes() == AUDIO


def run_stage(db, tmp_path, **kw):
    return download(db, audio_dir=tmp_path / "audio", policy=FAST, concurrency=2, **kw)


def test_download_stage_records_and_is_idempotent(httpserver, tmp_path, db):
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "a.mp3").write_bytes(AUDIO)
    (tmp_path / "srv" / "a.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n<v Ann>Hi\n")
    httpserver.expect_request("/feed").respond_with_data(
        feed_with(httpserver, [("e1", "/a.mp3", len(AUDIO)), ("e2", "/gone.mp3", 5)], "/a.vtt"))
    httpserver.expect_request("/gone.mp3").respond_with_data("gone", status=404)
    httpserver.expect_request(re.compile(r"^/a\..*")).respond_with_handler(static_handler(tmp_path / "srv"))
    ingest_feed(db, httpserver.url_for("/feed"))
    result = run_stage(db, tmp_path)
    assert result["downloaded"] == 1 and result["failed"] == 1
    e1, e2 = db.query("select * from episodes order by guid")
    assert e1["status"] == "downloaded" and e1["audio_bytes"] == len(AUDIO)
    assert e1["audio_sha256"] == hashlib.sha256(AUDIO).hexdigest()
    assert e1["audio_path"] == str(tmp_path / "audio" / "fault-fm" / "1-episode-e1.mp3")
    assert e2["status"] == "failed" and e2["error"] == "download: HTTP 404 NOT FOUND" and e2["attempts"] == 1
    link = db["episode_transcript_links"].get((1, httpserver.url_for("/a.vtt")))
    assert open(link["path"]).read().startswith("WEBVTT")
    # a second run only retries the failure, and stops after max_attempts
    assert run_stage(db, tmp_path)["failed"] == 1
    assert run_stage(db, tmp_path)["failed"] == 1
    assert run_stage(db, tmp_path) == {"downloaded": 0, "failed": 0, "errors": []}


def test_changed_enclosure_is_downloaded_again(httpserver, tmp_path, db):
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "v1.mp3").write_bytes(b"one" * 100)
    (tmp_path / "srv" / "v2.mp3").write_bytes(b"two" * 200)
    feeds = [feed_with(httpserver, [("e", "/v1.mp3", 300)]), feed_with(httpserver, [("e", "/v2.mp3", 600)])]
    httpserver.expect_request("/feed").respond_with_handler(lambda r: Response(feeds.pop(0)))
    httpserver.expect_request(re.compile(r"^/v.*")).respond_with_handler(static_handler(tmp_path / "srv"))
    ingest_feed(db, httpserver.url_for("/feed"))
    run_stage(db, tmp_path)
    old = db["episodes"].get(1)["audio_path"]
    assert ingest_feed(db, httpserver.url_for("/feed"))["updated"] == 1
    assert not os.path.exists(old)  # the old file is not left dangling
    assert run_stage(db, tmp_path)["downloaded"] == 1
    ep = db["episodes"].get(1)
    assert open(ep["audio_path"], "rb").read() == b"two" * 200 and ep["audio_bytes"] == 600


def test_connection_reset_mid_body_then_resume(raw_server, tmp_path):
    def reply(request):
        start = request.range
        if start is None:  # claim the whole file, send part of it, hang up
            return [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(AUDIO) + AUDIO[:30000]]
        body = AUDIO[start:]
        return [b"HTTP/1.1 206 Partial Content\r\nContent-Length: %d\r\n"
                b"Content-Range: bytes %d-%d/%d\r\n\r\n" % (len(body), start, len(AUDIO) - 1, len(AUDIO)) + body]

    server = raw_server(reply=reply)
    with make_client(timeout=5) as client:
        download_file(server.url + "/a.mp3", tmp_path / "a.mp3", client=client, policy=FAST)
    assert (tmp_path / "a.mp3").read_bytes() == AUDIO
    assert [r.range for r in server.log] == [None, 30000]
    assert not (tmp_path / "a.mp3.part").exists()


def test_server_ignoring_range_restarts_cleanly(raw_server, tmp_path):
    server = raw_server(reply=lambda r: [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(AUDIO) + AUDIO])
    (tmp_path / "a.mp3.part").write_bytes(b"garbage" * 10)
    with make_client(timeout=5) as client:
        download_file(server.url + "/a.mp3", tmp_path / "a.mp3", client=client, policy=FAST)
    assert (tmp_path / "a.mp3").read_bytes() == AUDIO


def test_download_cli_progress_and_exit_status(httpserver, tmp_path):
    httpserver.expect_request("/feed").respond_with_data(feed_with(httpserver, [("e", "/missing.mp3", 5)]))
    httpserver.expect_request("/missing.mp3").respond_with_data("no", status=410)
    db = str(tmp_path / "x.db")
    runner = CliRunner()
    runner.invoke(cli, ["ingest", "--db", db, httpserver.url_for("/feed")])
    result = runner.invoke(cli, ["download", "--db", db, "--silent", "--audio-dir", str(tmp_path / "a")])
    assert result.exit_code == 1
    assert result.output.splitlines() == ["failed: episode 1: HTTP 410 GONE", "0 downloaded, 1 failed"]


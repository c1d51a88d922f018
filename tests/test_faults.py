"""Fault injection: each stage against a loopback server that misbehaves on
purpose. For every fault we check the outcome, what is recorded in the
database and on disk, and that the next run recovers once the server behaves.
docs/faults.md summarises the matrix."""
import gzip
import os
import sys
import hashlib
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import KEEP_OPEN, RESET, ROOT, respond
from pipeline.cli import cli
from pipeline.download import download
from pipeline.feeds import MAX_FEED_BYTES, FeedError, ingest_feed
from pipeline.http_client import RetryPolicy, make_client
from pipeline.maintenance import clean_temp_files

TIMEOUT = 0.5  # the client's timeout; a stalling server waits longer than this
STALL = 1.5
FAST = RetryPolicy(attempts=2, backoff=0.01, max_retry_after=0.3)
AUDIO = bytes(range(256)) * 400  # 100 KiB of "audio"
CUT = 40000  # where a broken response stops


# --- a server that misbehaves on purpose (conftest.RawServer) ----------------------

@pytest.fixture
def server(raw_server):
    return raw_server()


@pytest.fixture
def other(raw_server):
    """A second server under another host name (localhost, not 127.0.0.1) and port."""
    return raw_server("localhost")


def serve(data, content_type="audio/mpeg", etag=None):
    """A well-behaved handler: ETag and 304, Range and 206, like a CDN."""
    def handler(request):
        headers = [f"Content-Type: {content_type}", "Accept-Ranges: bytes"] + ([f"ETag: {etag}"] if etag else [])
        if etag and request.headers.get("if-none-match") == etag:
            return [respond(304, headers=headers)]
        start = request.range
        if start is not None and start >= len(data):
            return [respond(416)]
        if start:
            return [respond(206, data[start:], headers + [f"Content-Range: bytes {start}-{len(data) - 1}/{len(data)}"])]
        return [respond(200, data, headers)]
    return handler


def status(code, *headers):
    return lambda r: [respond(code, b"busy", headers)]


def redirect(location):
    return lambda r: [respond(302, headers=[f"Location: {location}"])]


def stall(r):
    return [STALL]


def stall_mid_body(data):
    return lambda r: [respond(200, data[:CUT], length=len(data)), STALL]


def reset_mid_body(data):
    return lambda r: [respond(200, data[:CUT], length=len(data)), 0.1, RESET]


def short_body(data):
    """Content-Length says more than the server sends before it closes."""
    return lambda r: [respond(200, data[:CUT], length=len(data))]


def bad_gzip(r):
    return [respond(200, b"this is not gzip data at all", ["Content-Encoding: gzip"])]


def huge_length(r):
    return [respond(200, b"<rss>", length=2 * 1024 ** 3)]


def files(folder):
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def no_duplicates(db):
    assert db.execute("select count(*) from (select feed_id, guid from episodes "
                      "group by feed_id, guid having count(*) > 1)").fetchone()[0] == 0
    assert db.execute("select count(*) from (select url from feeds group by url having count(*) > 1)"
                      ).fetchone()[0] == 0


# --- feeds ------------------------------------------------------------------------

def rss(*guids):
    items = "".join(f"<item><title>Episode {g}</title><guid isPermaLink='false'>{g}</guid>"
                    f"<enclosure url='http://127.0.0.1:9/{g}.mp3' length='1000' type='audio/mpeg'/></item>"
                    for g in guids)
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Fault FM</title>"
            f"{items}</channel></rss>").encode()


FEED_V1 = rss("a", "b")
FEED_V2 = rss("a", "b", "c") + b"\n<!--" + b" padding to make a body worth cutting " * 2000 + b"-->"
HTML_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Fault FM</title>
<link rel="stylesheet" href="/site.css"></head>
<body><p>Listen on your favourite app!<br><a href="/feed.xml">RSS</a></body></html>"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><title>&lol9;</title></channel></rss>"""


def gzip_bomb():
    """About 50 KiB on the wire, more than MAX_FEED_BYTES once decoded."""
    if not hasattr(gzip_bomb, "body"):  # built once, before any request: it takes a moment
        gzip_bomb.body = gzip.compress(b" " * (MAX_FEED_BYTES + 1024 * 1024), compresslevel=9)
    body = gzip_bomb.body
    return lambda r: [respond(200, body, ["Content-Encoding: gzip"])]


def counts(new=0, updated=0, unchanged=0, duplicate=0, not_modified=0):
    return {"new": new, "updated": updated, "unchanged": unchanged, "duplicate": duplicate,
            "not_modified": not_modified}


PATH = "/feed.xml"


def hops(server, other, n, path, handler):
    """A chain of n redirects from path, back and forth between the two hosts,
    to a last hop that handler answers."""
    for i in range(n):
        here, there = (server, other) if i % 2 == 0 else (other, server)
        here.faults.setdefault(path if i == 0 else f"/hop{i}", []).append(redirect(f"{there.url}/hop{i + 1}"))
    (other if n % 2 else server).routes[f"/hop{n}"] = handler


# (fault, how to make the server misbehave, what ingest_feed says)
FEED_FAULTS = [
    ("slow response", lambda s, o: s.faults[PATH].extend([stall] * 2), "^timed out$"),
    ("reset mid-body", lambda s, o: s.faults[PATH].extend([reset_mid_body(FEED_V2)] * 2),
     r"^ReadError: \[Errno 104\] Connection reset by peer$"),
    ("body shorter than Content-Length", lambda s, o: s.faults[PATH].extend([short_body(FEED_V2)] * 2),
     r"^RemoteProtocolError: peer closed connection without sending complete message body "
     rf"\(received {CUT} bytes, expected {len(FEED_V2)}\)$"),
    ("body longer than Content-Length",
     lambda s, o: s.faults[PATH].append(lambda r: [respond(200, FEED_V2, length=CUT)]),
     "^not well-formed XML: unclosed token: line 2, column 0$"),
    ("500 then 200", lambda s, o: s.faults[PATH].append(status(500)), counts(new=1, unchanged=2)),
    ("500 every time", lambda s, o: s.faults[PATH].extend([status(500)] * 2), "^HTTP 500 Internal Server Error$"),
    ("429 with Retry-After, then 200", lambda s, o: s.faults[PATH].append(status(429, "Retry-After: 3600")),
     counts(new=1, unchanged=2)),
    ("429 every time", lambda s, o: s.faults[PATH].extend([status(429, "Retry-After: 0")] * 2),
     "^HTTP 429 Too Many Requests$"),
    ("429 with a Retry-After that is no date", lambda s, o: s.faults[PATH].append(status(429, "Retry-After: soon")),
     counts(new=1, unchanged=2)),
    ("redirect to another host", lambda s, o: hops(s, o, 1, PATH, s.routes[PATH]), counts(new=1, unchanged=2)),
    ("redirects past the limit (5), between two hosts", lambda s, o: hops(s, o, 6, PATH, s.routes[PATH]),
     r"^too many redirects \(a redirect loop\?\)$"),
    ("gzip that does not decode", lambda s, o: s.faults[PATH].append(bad_gzip),
     r"^the response body could not be decoded \(bad Content-Encoding\)$"),
    ("2 GB Content-Length", lambda s, o: s.faults[PATH].append(huge_length),
     f"^feed is larger than {MAX_FEED_BYTES} bytes$"),
    ("gzip bomb (50 KB that decodes to 51 MB)", lambda s, o: s.faults[PATH].append(gzip_bomb()),
     f"^feed is larger than {MAX_FEED_BYTES} bytes$"),
    ("empty body (0 bytes)", lambda s, o: s.faults[PATH].append(lambda r: [respond(200, b"")]),
     "^not well-formed XML: no element found: line 1, column 0$"),
    ("feed with no items", lambda s, o: s.faults[PATH].append(lambda r: [respond(200, rss())]), counts()),
    ("HTML page", lambda s, o: s.faults[PATH].append(lambda r: [respond(200, HTML_PAGE, ["Content-Type: text/html"])]),
     r"^not a podcast feed \(an HTML page, not RSS or Atom\)$"),
    ("truncated XML", lambda s, o: s.faults[PATH].append(lambda r: [respond(200, FEED_V1[:150])]),
     "^not well-formed XML: "),
    ("billion laughs", lambda s, o: s.faults[PATH].append(lambda r: [respond(200, BOMB)]),
     r"^refused: the feed declares XML entities or external references \(EntitiesForbidden\)$"),
]


@pytest.fixture
def client():
    with make_client(timeout=TIMEOUT) as c:
        yield c


@pytest.mark.parametrize("install, expected", [f[1:] for f in FEED_FAULTS], ids=[f[0] for f in FEED_FAULTS])
def test_feed_fault(server, other, db, client, install, expected):
    url = server.url + PATH
    server.routes[PATH] = serve(FEED_V1, "application/rss+xml", '"v1"')
    assert ingest_feed(db, url, client=client, policy=FAST) == counts(new=2)
    before = db["feeds"].get(1)

    # the publisher adds an episode, and the server starts to misbehave
    server.routes[PATH] = serve(FEED_V2, "application/rss+xml", '"v2"')
    server.faults[PATH] = []
    install(server, other)
    if isinstance(expected, str):
        with pytest.raises(FeedError, match=expected) as raised:
            ingest_feed(db, url, client=client, policy=FAST)
        feed = db["feeds"].get(1)
        # the error is recorded; the validators stay, so the next run fetches the feed again
        assert feed["last_error"] == str(raised.value) and "\n" not in feed["last_error"]
        assert {k: feed[k] for k in ("etag", "content_sha256", "title")} == {
            "etag": '"v1"', "content_sha256": hashlib.sha256(FEED_V1).hexdigest(), "title": "Fault FM"}
        assert feed["last_fetched"] >= before["last_fetched"]
        assert [r["guid"] for r in db.query("select guid from episodes order by guid")] == ["a", "b"]
        assert server.requests(PATH)[-1].headers["if-none-match"] == '"v1"'
        server.faults.clear()
        other.faults.clear()
        # the next run, with the server behaving again, recovers
        assert ingest_feed(db, url, client=client, policy=FAST) == counts(new=1, unchanged=2)
    else:
        assert ingest_feed(db, url, client=client, policy=FAST) == expected
        assert db["feeds"].get(1)["last_error"] is None
        # and the run after that is a plain 304, or picks up what it did not get
        again = counts(not_modified=1) if expected["new"] else counts(new=1, unchanged=2)
        assert ingest_feed(db, url, client=client, policy=FAST) == again
    feed = db["feeds"].get(1)
    assert feed["last_error"] is None and feed["etag"] == '"v2"'
    assert [r["guid"] for r in db.query("select guid from episodes order by guid")] == ["a", "b", "c"]
    assert db["feeds"].count == 1
    no_duplicates(db)


@pytest.mark.parametrize("install, expected", [
    (lambda s: s.faults[PATH].extend([stall] * 2), "^timed out$"),
    (lambda s: s.faults[PATH].append(lambda r: [respond(200, HTML_PAGE, ["Content-Type: text/html"])]),
     "^not a podcast feed"),
    (lambda s: s.faults[PATH].append(lambda r: [respond(200, FEED_V2[:2000])]), "^not well-formed XML: "),
], ids=["slow response", "HTML page", "truncated XML"])
def test_feed_fault_on_the_first_run_leaves_no_rows(server, db, client, install, expected):
    url = server.url + PATH
    server.routes[PATH] = serve(FEED_V2, "application/rss+xml", '"v2"')
    server.faults[PATH] = []
    install(server)
    with pytest.raises(FeedError, match=expected):
        ingest_feed(db, url, client=client, policy=FAST)
    feed = db["feeds"].get(1)
    assert feed["last_error"] and feed["etag"] is None and feed["content_sha256"] is None
    assert db["episodes"].count == 0 and db["episode_people"].count == 0
    assert ingest_feed(db, url, client=client, policy=FAST) == counts(new=3)
    assert db["feeds"].get(1)["last_error"] is None
    no_duplicates(db)


def test_feed_retry_after_is_honoured_up_to_the_cap(server, db, client):
    server.routes[PATH] = serve(FEED_V1, "application/rss+xml")
    server.faults[PATH] = [status(429, "Retry-After: 3600")]
    started = time.monotonic()
    ingest_feed(db, server.url + PATH, client=client, policy=FAST)
    first, second = server.requests(PATH)
    # not the 0.01 s backoff, and not an hour: the policy's max_retry_after
    assert FAST.max_retry_after - 0.05 <= second.time - first.time < 1.5
    assert time.monotonic() - started < 2


# --- downloads --------------------------------------------------------------------

def enclosure_feed(server, *episodes):
    items = "".join(f"<item><title>Episode {guid}</title><guid>{guid}</guid>"
                    f"<enclosure url='{server.url}{path}' length='{length}' type='audio/mpeg'/></item>"
                    for guid, path, length in episodes)
    return f"<rss version='2.0'><channel><title>Fault FM</title>{items}</channel></rss>".encode()


def ep_path(tmp_path, n):
    return tmp_path / "audio" / "fault-fm" / f"{n}-episode-e{n}.mp3"


def run_download(db, tmp_path, client):
    return download(db, audio_dir=tmp_path / "audio", policy=FAST, client=client, concurrency=2)


# (fault, how to make /e2.mp3 misbehave, the error recorded or None for success,
#  bytes of a .part file kept for the next run to resume)
DOWNLOAD_FAULTS = [
    ("slow response", lambda s, o: s.faults["/e2.mp3"].extend([stall] * 2),
     r"timed out \(after 2 attempts\)", 0),
    ("stall mid-body", lambda s, o: s.faults["/e2.mp3"].extend([stall_mid_body(AUDIO)] * 2),
     r"timed out \(after 2 attempts; the partial file is kept to resume\)", CUT),
    ("reset mid-body", lambda s, o: s.faults["/e2.mp3"].extend([reset_mid_body(AUDIO)] * 2),
     r"ReadError: \[Errno 104\] Connection reset by peer "
     r"\(after 2 attempts; the partial file is kept to resume\)", CUT),
    ("body shorter than Content-Length", lambda s, o: s.faults["/e2.mp3"].extend([short_body(AUDIO)] * 2),
     r"RemoteProtocolError: peer closed connection without sending complete message body "
     rf"\(received {CUT} bytes, expected {len(AUDIO)}\) "
     r"\(after 2 attempts; the partial file is kept to resume\)", CUT),
    ("500 then 200", lambda s, o: s.faults["/e2.mp3"].append(status(500)), None, 0),
    ("503 every time", lambda s, o: s.faults["/e2.mp3"].extend([status(503)] * 2),
     r"HTTP 503 Service Unavailable \(after 2 attempts\)", 0),
    ("429 with Retry-After, then 200", lambda s, o: s.faults["/e2.mp3"].append(status(429, "Retry-After: 1")),
     None, 0),
    ("429 with a Retry-After that is no date", lambda s, o: s.faults["/e2.mp3"].append(
        status(429, "Retry-After: in a while")), None, 0),
    ("redirect to another host", lambda s, o: hops(s, o, 1, "/e2.mp3", serve(AUDIO)), None, 0),
    ("5 redirects between two hosts (the limit)", lambda s, o: hops(s, o, 5, "/e2.mp3", serve(AUDIO)), None, 0),
    ("redirects past the limit (5), between two hosts", lambda s, o: hops(s, o, 6, "/e2.mp3", serve(AUDIO)),
     r"too many redirects \(a redirect loop\?\)", 0),
    ("gzip that does not decode", lambda s, o: s.faults["/e2.mp3"].extend([bad_gzip] * 2),
     r"the response body could not be decoded \(bad Content-Encoding\) \(after 2 attempts\)", 0),
    ("2 GB Content-Length", lambda s, o: s.faults["/e2.mp3"].append(huge_length),
     r"file is 2147483648 bytes, over the limit of 1073741824", 0),
    ("zero bytes", lambda s, o: s.faults["/e2.mp3"].append(lambda r: [respond(200, b"")]),
     r"the file is empty \(0 bytes\)", 0),
]


@pytest.mark.parametrize("install, expected, kept", [f[1:] for f in DOWNLOAD_FAULTS],
                         ids=[f[0] for f in DOWNLOAD_FAULTS])
def test_download_fault(server, other, db, client, tmp_path, install, expected, kept):
    server.routes["/feed.xml"] = serve(enclosure_feed(server, ("e1", "/e1.mp3", len(AUDIO)),
                                                      ("e2", "/e2.mp3", len(AUDIO))))
    server.routes["/e1.mp3"] = server.routes["/e2.mp3"] = serve(AUDIO)
    ingest_feed(db, server.url + "/feed.xml", client=client)
    server.faults["/e2.mp3"] = []
    install(server, other)
    good = {"status": "downloaded", "error": None, "attempts": 0, "audio_bytes": len(AUDIO),
            "audio_sha256": hashlib.sha256(AUDIO).hexdigest()}
    audio = tmp_path / "audio"
    result = run_download(db, tmp_path, client)
    # the other episode goes on whatever happens to e2
    e1 = db["episodes"].get(1)
    assert {k: e1[k] for k in good} == good and e1["audio_path"] == str(ep_path(tmp_path, 1))
    e2 = db["episodes"].get(2)
    if expected is None:
        assert result == {"downloaded": 2, "failed": 0, "errors": []}
    else:
        message = result["errors"][0][1]
        assert result == {"downloaded": 1, "failed": 1, "errors": [(2, message)]}
        assert re.fullmatch(expected, message)
        assert {k: e2[k] for k in ("status", "error", "attempts", "audio_path", "audio_sha256", "audio_bytes")} == {
            "status": "failed", "error": f"download: {message}", "attempts": 1,
            "audio_path": None, "audio_sha256": None, "audio_bytes": None}
        part = ep_path(tmp_path, 2).with_name("2-episode-e2.mp3.part")
        left = ["fault-fm/1-episode-e1.mp3"] + (["fault-fm/2-episode-e2.mp3.part"] if kept else [])
        assert [f for f in files(audio) if not Path(f).name.startswith(".")] == left
        if kept:  # with a note of the URL it is the start of
            assert part.read_bytes() == AUDIO[:kept]
            assert part.with_name(".2-episode-e2.mp3.part.url").read_text() == server.url + "/e2.mp3"
        # the server behaves again: the next run finishes the job, resuming what it kept
        server.faults.clear()
        other.faults.clear()
        seen = len(server.requests("/e2.mp3"))
        assert run_download(db, tmp_path, client) == {"downloaded": 1, "failed": 0, "errors": []}
        assert server.requests("/e2.mp3")[seen].range == (kept or None)
        e2 = db["episodes"].get(2)
    assert {k: e2[k] for k in good} == good and e2["audio_path"] == str(ep_path(tmp_path, 2))
    assert ep_path(tmp_path, 2).read_bytes() == AUDIO
    assert files(audio) == ["fault-fm/1-episode-e1.mp3", "fault-fm/2-episode-e2.mp3"]
    assert len(server.requests("/e1.mp3")) == 1  # never fetched twice
    assert run_download(db, tmp_path, client) == {"downloaded": 0, "failed": 0, "errors": []}
    no_duplicates(db)



def test_download_retry_after_is_honoured(server, db, client, tmp_path):
    server.routes["/feed.xml"] = serve(enclosure_feed(server, ("e1", "/e1.mp3", len(AUDIO))))
    server.routes["/e1.mp3"] = serve(AUDIO)
    server.faults["/e1.mp3"] = [status(429, "Retry-After: 1")]
    ingest_feed(db, server.url + "/feed.xml", client=client)
    policy = RetryPolicy(attempts=2, backoff=0.01, max_retry_after=5)
    assert download(db, audio_dir=tmp_path / "audio", policy=policy, client=client)["downloaded"] == 1
    first, second = server.requests("/e1.mp3")
    assert 1.0 <= second.time - first.time < 2.5


def test_download_body_longer_than_content_length(server, db, client, tmp_path):
    """A server that declares fewer bytes than it sends: httpx stops at the
    declared length, so we store exactly what the server declared. Nothing on
    the wire can tell us the rest was meant to be part of the file; the next
    request on the same client is not confused by the bytes left behind."""
    server.routes["/feed.xml"] = serve(enclosure_feed(server, ("e1", "/e1.mp3", len(AUDIO)),
                                                      ("e2", "/e2.mp3", len(AUDIO))))
    server.routes["/e1.mp3"] = lambda r: [respond(200, AUDIO, length=CUT, close=False), KEEP_OPEN]
    server.routes["/e2.mp3"] = serve(AUDIO)
    ingest_feed(db, server.url + "/feed.xml", client=client)
    result = download(db, audio_dir=tmp_path / "audio", policy=FAST, client=client, concurrency=1)
    assert result == {"downloaded": 2, "failed": 0, "errors": []}
    assert ep_path(tmp_path, 1).read_bytes() == AUDIO[:CUT]
    assert db["episodes"].get(1)["audio_bytes"] == CUT
    assert ep_path(tmp_path, 2).read_bytes() == AUDIO


def test_gzip_encoded_transcript_is_stored_decoded(server, db, client, tmp_path):
    """CDNs and S3 objects stored pre-compressed send Content-Encoding: gzip;
    we ask for the plain file, and decode it when the server sends gzip anyway."""
    vtt = b"WEBVTT\n\n00:00.000 --> 00:01.000\n<v Ann>Hello there\n"
    feed = (f"<rss version='2.0' xmlns:podcast='https://podcastindex.org/namespace/1.0'><channel>"
            f"<title>Fault FM</title><item><title>Episode e1</title><guid>e1</guid>"
            f"<enclosure url='{server.url}/e1.mp3' length='{len(AUDIO)}' type='audio/mpeg'/>"
            f"<podcast:transcript url='{server.url}/e1.vtt' type='text/vtt'/></item></channel></rss>").encode()
    server.routes["/feed.xml"] = serve(feed)
    server.routes["/e1.mp3"] = serve(AUDIO)
    server.routes["/e1.vtt"] = lambda r: [respond(200, gzip.compress(vtt), ["Content-Type: text/vtt",
                                                                          "Content-Encoding: gzip"])]
    ingest_feed(db, server.url + "/feed.xml", client=client)
    assert run_download(db, tmp_path, client)["downloaded"] == 1
    link = db["episode_transcript_links"].get((1, f"{server.url}/e1.vtt"))
    assert link["error"] is None and Path(link["path"]).read_bytes() == vtt
    assert link["sha256"] == hashlib.sha256(vtt).hexdigest()
    assert {r.headers["accept-encoding"] for r in server.log if r.path.endswith((".mp3", ".vtt"))} == {"identity"}


def test_partial_file_of_a_replaced_enclosure_is_not_resumed(server, db, client, tmp_path):
    """A reset leaves the start of v1 in a .part; the publisher then replaces
    the file. The next run must download v2 whole, not v1's start + v2's end."""
    v2 = bytes(reversed(AUDIO))
    feeds = [enclosure_feed(server, ("e1", "/v1.mp3", len(AUDIO))), enclosure_feed(server, ("e1", "/v2.mp3", len(v2)))]
    server.routes["/feed.xml"] = lambda r: serve(feeds[0])(r)
    server.routes["/v1.mp3"] = reset_mid_body(AUDIO)
    server.routes["/v2.mp3"] = serve(v2)
    url = server.url + "/feed.xml"
    ingest_feed(db, url, client=client)
    assert run_download(db, tmp_path, client)["failed"] == 1
    assert ep_path(tmp_path, 1).with_name("1-episode-e1.mp3.part").read_bytes() == AUDIO[:CUT]
    feeds.pop(0)
    assert ingest_feed(db, url, client=client)["updated"] == 1
    # as 'podpipe run' does first: the .part is still wanted, and so is the note of its URL
    assert clean_temp_files(db, tmp_path / "audio", tmp_path / "transcripts") == []
    assert run_download(db, tmp_path, client)["downloaded"] == 1
    assert server.requests("/v2.mp3")[0].range is None
    assert ep_path(tmp_path, 1).read_bytes() == v2
    assert db["episodes"].get(1)["audio_sha256"] == hashlib.sha256(v2).hexdigest()
    assert files(tmp_path / "audio") == ["fault-fm/1-episode-e1.mp3"]


def test_relative_enclosure_after_a_redirect_to_another_host(server, other, db, client, tmp_path):
    """A feed that moved host: its relative links are relative to where it is now."""
    server.routes[PATH] = redirect(f"{other.url}/shows/feed.xml")
    other.routes["/shows/feed.xml"] = serve(
        b"<rss version='2.0'><channel><title>Fault FM</title><item><title>Episode e1</title><guid>e1</guid>"
        b"<enclosure url='audio/e1.mp3' length='102400' type='audio/mpeg'/></item></channel></rss>")
    other.routes["/shows/audio/e1.mp3"] = serve(AUDIO)
    assert ingest_feed(db, server.url + PATH, client=client) == counts(new=1)
    assert db["feeds"].get(1)["url"] == server.url + PATH  # the address we subscribed to stays
    assert db["episodes"].get(1)["enclosure_url"] == f"{other.url}/shows/audio/e1.mp3"
    assert run_download(db, tmp_path, client)["downloaded"] == 1


def test_resume_through_a_redirect_to_another_host(server, other, db, client, tmp_path):
    server.routes["/feed.xml"] = serve(enclosure_feed(server, ("e1", "/e1.mp3", len(AUDIO))))
    server.routes["/e1.mp3"] = redirect(f"{other.url}/cdn/e1.mp3?token=abc")
    other.routes["/cdn/e1.mp3?token=abc"] = serve(AUDIO)
    other.faults["/cdn/e1.mp3?token=abc"] = [reset_mid_body(AUDIO)] * 2
    ingest_feed(db, server.url + "/feed.xml", client=client)
    assert run_download(db, tmp_path, client)["failed"] == 1
    assert run_download(db, tmp_path, client)["downloaded"] == 1
    assert [r.range for r in other.requests("/cdn/e1.mp3?token=abc")] == [None, CUT, CUT]
    assert ep_path(tmp_path, 1).read_bytes() == AUDIO


# --- audio that is not what it says -----------------------------------------------

@pytest.fixture(scope="session")
def speech_mp3(tmp_path_factory):
    """A few seconds of speech as MP3 (with the Xing/Info header LAME writes)."""
    if not (shutil.which("espeak-ng") and shutil.which("ffmpeg")):
        return (ROOT / "feeds" / "demo" / "audio" / "pp02-daniel-okoro.mp3").read_bytes()
    folder = tmp_path_factory.mktemp("faults-speech")
    wav, mp3 = folder / "s.wav", folder / "s.mp3"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav),
                    "Welcome to the show. Today we talk about customers and the roadmap."], check=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), str(mp3)], check=True)
    return mp3.read_bytes()


AUDIO_FAULTS = [
    ("text served as audio/mpeg", lambda mp3: b"Sorry, this episode is no longer available.\n" * 20,
     None, r"cannot decode 2-episode-e2\.mp3: Invalid data found when processing input"),
    ("truncated MP3 (first 4 KB)", lambda mp3: mp3[:4096],
     None, r"2-episode-e2\.mp3 looks truncated: it decodes to 0\.\d s but its header says \d+\.\d s"),
    ("zero bytes", lambda mp3: b"", r"the file is empty \(0 bytes\)", None),
]


@pytest.mark.slow
@pytest.mark.parametrize("make, download_error, transcribe_error", [f[1:] for f in AUDIO_FAULTS],
                         ids=[f[0] for f in AUDIO_FAULTS])
def test_audio_fault(server, db, client, tmp_path, speech_mp3, make, download_error, transcribe_error):
    from pipeline.transcribe import transcribe

    bad = make(speech_mp3)
    feeds = [enclosure_feed(server, ("e1", "/e1.mp3", len(speech_mp3)), ("e2", "/e2-v1.mp3", len(bad))),
             enclosure_feed(server, ("e1", "/e1.mp3", len(speech_mp3)), ("e2", "/e2-v2.mp3", len(speech_mp3)))]
    server.routes["/feed.xml"] = lambda r: serve(feeds[0])(r)
    server.routes["/e1.mp3"] = server.routes["/e2-v2.mp3"] = serve(speech_mp3)
    server.routes["/e2-v1.mp3"] = serve(bad)
    url, out = server.url + "/feed.xml", tmp_path / "transcripts"
    ingest_feed(db, url, client=client)

    result = run_download(db, tmp_path, client)
    if download_error:
        assert result["downloaded"] == 1 and re.fullmatch(download_error, result["errors"][0][1])
    else:
        assert result == {"downloaded": 2, "failed": 0, "errors": []}
        assert ep_path(tmp_path, 2).read_bytes() == bad
    result = transcribe(db, model="tiny.en", transcripts_dir=out, beam_size=1)
    # the good episode is transcribed whatever happens to the bad one
    assert result["transcribed"] == 1 and result["failed"] == (1 if transcribe_error else 0)
    assert "customers" in " ".join(r["text"] for r in db.query(
        "select text from segments s join transcripts t on t.id = s.transcript_id where t.episode_id = 1")).lower()
    e2 = db["episodes"].get(2)
    error = f"download: {download_error}" if download_error else f"transcribe: {transcribe_error}"
    assert e2["status"] == "failed" and e2["attempts"] == 1 and re.fullmatch(error, e2["error"])
    assert "\n" not in e2["error"]
    assert db.execute("select count(*) from transcripts where episode_id = 2").fetchone()[0] == 0
    assert not [f for f in files(out) if f.endswith((".tmp", ".part"))]
    assert [f for f in files(out) if f.startswith("fault-fm/2-")] == []

    # the publisher replaces the file: new URL and length, so it is fetched again
    feeds.pop(0)
    assert ingest_feed(db, url, client=client) == counts(updated=1, unchanged=1)
    e2 = db["episodes"].get(2)
    assert {k: e2[k] for k in ("status", "error", "attempts", "audio_path")} == {
        "status": "new", "error": None, "attempts": 0, "audio_path": None}
    assert run_download(db, tmp_path, client) == {"downloaded": 1, "failed": 0, "errors": []}
    result = transcribe(db, model="tiny.en", transcripts_dir=out, beam_size=1)
    assert result["transcribed"] == 1 and result["failed"] == 0
    assert [(r["episode_id"], r["status"]) for r in db.query(
        "select episode_id, status from transcripts t join episodes e on e.id = t.episode_id order by 1")] == [
        (1, "transcribed"), (2, "transcribed")]
    assert len(server.requests("/e1.mp3")) == 1
    assert transcribe(db, model="tiny.en", transcripts_dir=out, beam_size=1)["transcribed"] == 0
    no_duplicates(db)


def test_a_feed_that_trickles_hits_the_deadline(raw_server, db):
    """A byte at a time, each inside the read timeout: the whole fetch has a deadline."""
    from pipeline.feeds import fetch_feed

    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    server = raw_server(reply=lambda r: [head] + [0.1, b"<"] * 20)
    with pytest.raises(FeedError, match="took more than 1 s"):
        fetch_feed(server.url + "/feed.xml", deadline=1.0, policy=RetryPolicy(attempts=1))


# --- what a feed may point us at (urls.py) -------------------------------------------

def secret(tmp_path):
    """A local file no feed has any business reading."""
    path = tmp_path / "secret" / "passwd"
    path.parent.mkdir()
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    return path


def hostile_feed(target, next_url=None):
    nxt = f"<atom:link rel='next' href='{next_url}'/>" if next_url else ""
    return (f"<rss version='2.0' xmlns:podcast='https://podcastindex.org/namespace/1.0' "
            f"xmlns:itunes='{ITUNES}' xmlns:atom='http://www.w3.org/2005/Atom'><channel><title>Fault FM</title>"
            f"<itunes:image href='{target}'/>{nxt}"
            f"<item><title>Episode e1</title><guid>e1</guid><itunes:image href='{target}'/>"
            f"<enclosure url='{target}' length='100' type='audio/mpeg'/>"
            f"<podcast:transcript url='{target}' type='text/plain'/>"
            f"<podcast:chapters url='{target}' type='application/json+chapters'/></item>"
            f"</channel></rss>").encode()


ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"


@pytest.mark.parametrize("target", ["file://{secret}", "file://localhost{secret}", "FILE:{secret}",
                                    "ftp://127.0.0.1/x.mp3", "javascript:alert(1)"],
                         ids=["file URL", "file URL with a host", "file: in capitals", "ftp", "javascript"])
def test_a_web_feed_cannot_point_at_local_files(server, db, client, tmp_path, target):
    target = target.format(secret=secret(tmp_path))
    server.routes[PATH] = serve(hostile_feed(target, next_url=target), "application/rss+xml")
    warnings = []
    assert ingest_feed(db, server.url + PATH, client=client, warn=warnings.append) == counts(new=1)
    episode = db["episodes"].get(1)
    assert {k: episode[k] for k in ("enclosure_url", "image")} == {"enclosure_url": None, "image": None}
    assert db["feeds"].get(1)["image"] is None
    assert db["episode_transcript_links"].count == db["chapters"].count == 0
    assert len(warnings) == 7 and all(w.startswith("refused ") for w in warnings[:6])
    assert warnings[6] == "none of its 1 items has audio or a transcript, so all were skipped"
    assert run_download(db, tmp_path, client) == {"downloaded": 0, "failed": 0, "errors": []}
    assert files(tmp_path / "audio") == []
    no_duplicates(db)


def test_download_refuses_local_links_already_in_the_database(server, db, client, tmp_path):
    """A database filled before the rule: the download stage checks again."""
    path = secret(tmp_path)
    server.routes[PATH] = serve(enclosure_feed(server, ("e1", "/e1.mp3", len(AUDIO))))
    server.routes["/e1.mp3"] = serve(AUDIO)
    ingest_feed(db, server.url + PATH, client=client)
    db["episodes"].update(1, {"enclosure_url": path.as_uri()})
    result = run_download(db, tmp_path, client)
    assert result == {"downloaded": 0, "failed": 1, "errors": [
        (1, f"refused {path.as_uri()}: a feed on the web may only link to http(s) URLs, not to local files")]}
    assert files(tmp_path / "audio") == []


def test_a_redirect_to_a_file_url_is_refused(server, db, client, tmp_path):
    path = secret(tmp_path)
    server.routes[PATH] = serve(enclosure_feed(server, ("e1", "/e1.mp3", len(AUDIO))))
    server.routes["/e1.mp3"] = redirect(path.as_uri())
    ingest_feed(db, server.url + PATH, client=client)
    result = run_download(db, tmp_path, client)
    assert result["errors"] == [(1, f"refused a redirect to {path.as_uri()}: podpipe follows only http(s)")]
    assert len(server.requests("/e1.mp3")) == 1  # not retried: it would never work
    assert files(tmp_path / "audio") == []
    # a feed that redirects there is refused the same way
    server.routes["/moved.xml"] = redirect(path.as_uri())
    with pytest.raises(FeedError, match="^refused a redirect to file:"):
        ingest_feed(db, server.url + "/moved.xml", client=client, policy=FAST)


def test_a_local_feed_may_point_at_files_beside_it_and_nowhere_else(db, client, tmp_path):
    path = secret(tmp_path)
    show = tmp_path / "show"
    (show / "audio").mkdir(parents=True)
    (show / "audio" / "e1.mp3").write_bytes(AUDIO)
    (show / "e2.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n")
    feed = show / "feed.xml"
    feed.write_text(
        "<rss version='2.0' xmlns:podcast='https://podcastindex.org/namespace/1.0'><channel><title>Fault FM</title>"
        "<item><title>e1</title><guid>e1</guid><enclosure url='audio/e1.mp3' length='1' type='audio/mpeg'/>"
        "<podcast:transcript url='../secret/passwd' type='text/plain'/></item>"
        f"<item><title>e2</title><guid>e2</guid><enclosure url='{path.as_uri()}' length='1' type='audio/mpeg'/>"
        "<podcast:transcript url='e2.vtt' type='text/vtt'/></item>"
        "<item><title>e3</title><guid>e3</guid><enclosure url='audio/../../secret/passwd' length='1'/></item>"
        "</channel></rss>")
    warnings = []
    assert ingest_feed(db, str(feed), warn=warnings.append) == counts(new=3)
    assert [r["enclosure_url"] for r in db.query("select enclosure_url from episodes order by id")] == [
        (show / "audio" / "e1.mp3").as_uri(), None, None]
    assert [r["url"] for r in db.query("select url from episode_transcript_links")] == [(show / "e2.vtt").as_uri()]
    assert warnings == [f"refused {u}: a local feed may only link to files in its own folder ({show})"
                        for u in [(tmp_path / "secret/passwd").as_uri(), path.as_uri(),
                                  (tmp_path / "secret/passwd").as_uri()]]
    assert run_download(db, tmp_path, client)["downloaded"] == 1
    assert files(tmp_path / "audio") == ["fault-fm/1-e1.mp3"]


# --- feeds that podcast apps accept ---------------------------------------------------

UNDECLARED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Hand Made FM</title><itunes:author>Jo Host</itunes:author>
<podcast:person role="host">Jo Host</podcast:person>
<item><title>One</title><guid>one</guid><itunes:duration>1:02:03</itunes:duration>
<itunes:episode>7</itunes:episode><enclosure url="one.mp3" length="10" type="audio/mpeg"/>
<podcast:transcript url="one.vtt" type="text/vtt"/>
<podcast:person role="guest" href="https://example.com/mira">Mira Patel</podcast:person></item>
</channel></rss>"""


def test_a_feed_with_undeclared_prefixes_is_read(server, db, client):
    server.routes[PATH] = serve(UNDECLARED, "application/rss+xml")
    assert ingest_feed(db, server.url + PATH, client=client) == counts(new=1)
    episode = db["episodes"].get(1)
    assert {k: episode[k] for k in ("title", "duration_s", "episode", "enclosure_url")} == {
        "title": "One", "duration_s": 3723.0, "episode": 7, "enclosure_url": server.url + "/one.mp3"}
    assert db["feeds"].get(1)["author"] == "Jo Host"
    assert [r["url"] for r in db.query("select url from episode_transcript_links")] == [server.url + "/one.vtt"]
    assert [(r["name"], r["role"]) for r in db.query(
        "select p.name, ep.role from episode_people ep join people p on p.id = ep.person_id")] == [
        ("Mira Patel", "guest")]


def test_media_content_is_an_enclosure(server, db, client):
    feed = (f"<rss version='2.0' xmlns:media='http://search.yahoo.com/mrss/'><channel><title>Fault FM</title>"
            f"<item><title>Flat</title><guid>a</guid><media:content url='{server.url}/thumb.jpg' type='image/jpeg'/>"
            f"<media:content url='{server.url}/a.mp3' type='audio/mpeg' fileSize='{len(AUDIO)}'/></item>"
            f"<item><title>Grouped</title><guid>b</guid><media:group>"
            f"<media:content url='{server.url}/b.m4a' medium='audio'/></media:group></item>"
            f"<item><title>Both</title><guid>c</guid><enclosure url='{server.url}/c.mp3' length='5' type='audio/mpeg'/>"
            f"<media:content url='{server.url}/c-hq.mp3' type='audio/mpeg'/></item>"
            f"</channel></rss>").encode()
    server.routes[PATH] = serve(feed, "application/rss+xml")
    assert ingest_feed(db, server.url + PATH, client=client) == counts(new=3)
    assert [tuple(r.values()) for r in db.query(
        "select enclosure_url, enclosure_type, enclosure_length from episodes order by id")] == [
        (server.url + "/a.mp3", "audio/mpeg", len(AUDIO)), (server.url + "/b.m4a", None, None),
        (server.url + "/c.mp3", "audio/mpeg", 5)]


def test_items_without_a_title_get_one(server, db, client):
    feed = (f"<rss version='2.0'><channel><title>Fault FM</title>"
            f"<item><guid>a</guid><enclosure url='{server.url}/files/ep-42_final%20cut.mp3' length='5'/></item>"
            f"<item><title> </title><guid>b</guid><description>&lt;p&gt;Mira Patel on saying &lt;b&gt;no&lt;/b&gt; "
            f"to the roadmap, and what it cost her team.&lt;/p&gt;</description></item>"
            f"<item><guid>c</guid></item></channel></rss>").encode()
    server.routes[PATH] = serve(feed, "application/rss+xml")
    ingest_feed(db, server.url + PATH, client=client)
    assert [r["title"] for r in db.query("select title from episodes order by id")] == [
        "ep-42 final cut", "Mira Patel on saying no to the roadmap…", None]


@pytest.mark.parametrize("feed, warning", [
    (rss(), "the feed has no items"),
    (b"<rss version='2.0'><channel><title>Blog</title><item><title>Post</title><guid>p</guid></item>"
     b"<item><title>Post 2</title><guid>q</guid></item></channel></rss>",
     "none of its 2 items has audio or a transcript, so all were skipped"),
], ids=["no items", "no item has audio"])
def test_a_feed_that_gives_nothing_says_so(server, tmp_path, feed, warning):
    from click.testing import CliRunner
    from pipeline.cli import cli

    server.routes[PATH] = serve(feed, "application/rss+xml")
    result = CliRunner().invoke(cli, ["ingest", "--db", str(tmp_path / "x.db"), server.url + PATH])
    assert result.exit_code == 0, result.output
    assert f"warning: {server.url + PATH}: {warning}\n" in result.stderr


# --- bad local input ----------------------------------------------------------------

def test_a_folder_as_a_feed_does_not_stop_the_others(tmp_path):
    from click.testing import CliRunner
    from pipeline.cli import cli

    folder = tmp_path / "not-a-feed"
    folder.mkdir()
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss("a"))
    runner = CliRunner()
    db = str(tmp_path / "x.db")
    for args in ([str(folder), str(feed)], []):  # named, then every subscribed feed on a later run
        result = runner.invoke(cli, ["ingest", "--db", db, *args])
        assert result.exit_code == 1, result.output
        assert f"failed: {folder}: {folder} is a folder, not a feed file\n" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout
    assert open_db_rows(db) == [("a", f"{feed}")]


def open_db_rows(path):
    from pipeline.db import open_db

    return [(r["guid"], r["url"]) for r in open_db(path).query(
        "select e.guid, f.url from episodes e join feeds f on f.id = e.feed_id")]


def test_an_endless_local_file_hits_the_size_limit(db, tmp_path):
    """/dev/zero says it has 0 bytes; we read at most the limit, never all of it."""
    with pytest.raises(FeedError, match=f"^feed is larger than {MAX_FEED_BYTES} bytes$"):
        ingest_feed(db, "/dev/zero")
    assert db["feeds"].get(1)["last_error"] == f"feed is larger than {MAX_FEED_BYTES} bytes"
    from pipeline.download import DownloadError, download_file

    with pytest.raises(DownloadError, match="over the limit of 1000000 bytes"):
        download_file("/dev/zero", tmp_path / "audio" / "a.mp3", client=None, max_bytes=1_000_000)
    assert files(tmp_path / "audio") == []


def elf_bytes():
    return Path("/bin/true").read_bytes() if Path("/bin/true").exists() else b"\x7fELF\x02\x01\x01" + bytes(4000)


@pytest.mark.parametrize("name, make", [
    ("random.txt", lambda: __import__("random").Random(12).randbytes(4096)),
    ("program.txt", elf_bytes),
    ("talk.vtt", lambda: b"WEBVTT\n\n" + __import__("random").Random(3).randbytes(2000)),
    ("audio.md", lambda: b"ID3\x04\x00\x00\x00\x00\x00#TSSE\x00\x00\x00\x0f\x00\x00\x03Lavf" + bytes(3000)),
], ids=["random bytes", "an ELF file named .txt", "VTT header then bytes", "MP3 named .md"])
def test_transcripts_import_refuses_binary_files(tmp_path, name, make):
    path = tmp_path / name
    path.write_bytes(make())
    db = tmp_path / "x.db"
    result = CliRunner().invoke(cli, ["transcripts", "import", str(path), "--db", str(db),
                                      "--transcripts-dir", str(tmp_path / "t")])
    assert result.exit_code == 1
    assert result.output == (f"failed: {path}: not a text file (binary data); expected a transcript in VTT, SRT, "
                             "JSON, HTML, text or Markdown\n")
    assert open_db_rows(db) == [] and files(tmp_path / "t") == []


def test_transcripts_import_still_reads_text_in_other_encodings(tmp_path):
    utf16 = tmp_path / "a.txt"
    utf16.write_bytes("Ann: Talk to customers every week, naïvely.\n".encode("utf-16"))
    latin = tmp_path / "b.txt"
    latin.write_bytes(b"Bo: Caf\xe9 strategy, every week.\n")
    result = CliRunner().invoke(cli, ["transcripts", "import", str(utf16), str(latin), "--db", str(tmp_path / "x.db"),
                                      "--transcripts-dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    from pipeline.db import open_db
    assert [r["text"] for r in open_db(tmp_path / "x.db").query("select text from segments order by id")] == [
        "Talk to customers every week, naïvely.", "Caf\ufffd strategy, every week."]


@pytest.mark.parametrize("yaml_text, message", [
    ("people:\n- name: Corie Miller\n  tips: 5\n", 'profile 1 (Corie Miller): "tips" must be a list of text, not a number'),
    ("people:\n- name: Corie Miller\n  quotes: not a list\n",
     'profile 1 (Corie Miller): "quotes" must be a list of text, not a string'),
    ("- name: Ann\n- name: Corie Miller\n  quotes: [fine, {nested: map}]\n",
     'profile 2 (Corie Miller): "quotes" item 2 must be text, not a mapping'),
    ("- name: Corie Miller\n  title: [Product, Manager]\n",
     'profile 1 (Corie Miller): "title" must be text, not a list'),
    ("- name: Corie Miller\n  tips: ['']\n", 'profile 1 (Corie Miller): "tips" item 1 is empty'),
], ids=["tips a number", "quotes a string", "a quote that is a mapping", "title a list", "an empty tip"])
def test_profiles_import_says_which_field_is_wrong(tmp_path, yaml_text, message):
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml_text)
    db = tmp_path / "x.db"
    result = CliRunner().invoke(cli, ["profiles", "import", str(path), "--db", str(db)])
    assert (result.exit_code, result.output) == (1, f"failed: {path}: {message}\n")
    from pipeline.db import open_db
    assert open_db(db)["items"].count == 0 and open_db(db)["people"].count == 0


def test_profiles_import_takes_numbers_as_text(tmp_path):
    path = tmp_path / "profiles.yaml"
    path.write_text("- name: Corie Miller\n  education: 2010\n  tips: [Talk to customers every week.]\n")
    db = tmp_path / "x.db"
    result = CliRunner().invoke(cli, ["profiles", "import", str(path), "--db", str(db)])
    assert result.output == f"imported: {path}: 0 roles, 1 people, 1 new quotes and tips\n"


# --- which database ------------------------------------------------------------------

READERS = [["status"], ["search", "customers"], ["feeds", "list"], ["feeds", "export"], ["episodes"], ["runs"],
           ["export"], ["collections", "list"], ["items", "show", "1"], ["profiles", "list"],
           ["transcripts", "show", "1"], ["check"], ["speakers", "1"], ["items", "approve", "1"], ["review"]]


@pytest.mark.parametrize("args", READERS, ids=[" ".join(a) for a in READERS])
def test_a_mistyped_db_is_an_error_not_a_new_database(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    typo = tmp_path / "dbb" / "podpipe.db"
    result = CliRunner().invoke(cli, ["--db", str(typo), *args])
    assert result.exit_code == 1, result.output
    assert result.output == (f"Error: no database at {typo} (check --db or $PODPIPE_DB; "
                             "'podpipe ingest FEED' creates one)\n")
    assert files(tmp_path) == [] and not typo.parent.exists()


def test_db_option_beats_the_environment(tmp_path, monkeypatch):
    from pipeline.db import open_db

    monkeypatch.chdir(tmp_path)
    for name in ("a", "b", "c"):
        open_db(tmp_path / f"{name}.db")["feeds"].insert({"url": f"http://127.0.0.1:9/{name}.xml", "added": "x"})
    (tmp_path / "podpipe.toml").write_text('db = "c.db"\n')
    monkeypatch.setenv("PODPIPE_DB", str(tmp_path / "a.db"))

    def feed(*args):
        result = CliRunner().invoke(cli, [*args, "--nl"] if args[-1] == "list" else list(args))
        assert result.exit_code == 0, result.output
        return result.output.split('"url": "')[1].split('"')[0].rsplit("/", 1)[1]

    assert feed("--db", str(tmp_path / "b.db"), "feeds", "list") == "b.xml"
    assert feed("feeds", "list", "--db", str(tmp_path / "b.db")) == "b.xml"
    assert feed("feeds", "list") == "a.xml"  # the environment beats podpipe.toml
    monkeypatch.delenv("PODPIPE_DB")
    assert feed("feeds", "list") == "c.xml"


# --- a base install, without the extras -------------------------------------------------

BLOCK_EXTRAS = """
import sys
for name in ("numpy", "torch", "resemblyzer", "webrtcvad", "faster_whisper", "ctranslate2", "whisper"):
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
from pipeline.cli import cli
cli(sys.argv[1:], prog_name="podpipe")
"""


def base_install(*args, cwd):
    return subprocess.run([sys.executable, "-c", BLOCK_EXTRAS, *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_speaker_commands_without_the_diarize_extra(tmp_path):
    from items_fixture import make_db

    db = tmp_path / "x.db"
    make_db(db)
    listed = base_install("speakers", "1", "--db", str(db), "--nl", cwd=tmp_path)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    for args in (["diarize", "--episode", "1"], ["transcribe", "--diarize", "--episode", "1", "--silent"]):
        result = base_install(*args, "--db", str(db), cwd=tmp_path)
        assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr, result.stderr
        assert "pip install 'podpipe[diarize]'" in result.stdout + result.stderr, (args, result.stderr)


def test_the_asr_tests_skip_without_the_whisper_extra(tmp_path):
    script = BLOCK_EXTRAS.replace("from pipeline.cli import cli\ncli(sys.argv[1:], prog_name=\"podpipe\")",
                                  "import pytest\nsys.exit(pytest.main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", script, "-q", "-p", "no:cacheprovider", "-m", "not slow",
                             str(ROOT / "tests" / "test_asr.py")], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode in (0, 5), result.stdout[-2000:]  # 5: every test skipped or deselected
    assert "error" not in result.stdout.lower().replace("errors=0", ""), result.stdout[-2000:]

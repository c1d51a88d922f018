import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug import Response

from conftest import FIXTURES, ROOT, build_corpus, serve_dir
from pipeline.cli import cli
from pipeline.db import open_db
from pipeline.feeds import FeedError, ingest_feed, parse_feed
from pipeline.http_client import RetryPolicy

FAST = RetryPolicy(attempts=2, backoff=0.01)


def rss(items, extra_channel=""):
    body = "".join(
        f"<item><title>{t}</title><guid>{g}</guid>"
        f"<enclosure url='http://127.0.0.1:1/{g}.mp3' length='10' type='audio/mpeg'/></item>"
        for g, t in items)
    return (f"<?xml version='1.0'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'>"
            f"<channel><title>Test feed</title>{extra_channel}{body}</channel></rss>").encode()


def test_parse_podcasting20_fixture():
    parsed = parse_feed((FIXTURES / "podcast20.xml").read_bytes(), "https://example.com/roadmap/feed.xml")
    assert parsed["feed"] == {
        "title": "Roadmap Radio", "author": "Roadmap Radio",
        "description": "Interviews with people who build products.",
        "image": "https://example.com/roadmap/cover.jpg", "link": "https://example.com/roadmap",
        "language": "en-us", "podcast_guid": "917393e3-1b1e-5cef-ace4-edaa54e1f810",
    }
    ep2, ep1 = parsed["episodes"]
    assert ep2 == {
        "guid": "https://example.com/roadmap/2", "title": "Episode 2 - Saying no to the roadmap",
        "description": "Mira Patel on saying no.", "link": "https://example.com/roadmap/2",
        "published": "2026-10-09T04:30:38+00:00", "duration_s": 3723.0, "season": 1, "episode": 2,
        "episode_type": "full", "explicit": 0, "image": None,
        "enclosure_url": "https://example.com/roadmap/audio/ep2.mp3", "enclosure_type": "audio/mpeg",
        "enclosure_length": 1234, "podcast_guid": "ep-2-podcast-guid",
        # item-level persons replace the channel's
        "people": [
            {"name": "Jo Host", "role": "host", "group": "cast", "href": None, "img": None},
            {"name": "Mira Patel", "role": "guest", "group": "cast", "href": "https://example.com/mira",
             "img": "https://example.com/mira.jpg"},
        ],
        "transcripts": [
            {"url": "https://example.com/roadmap/2.vtt", "type": "text/vtt", "language": "en", "rel": "captions"},
            {"url": "https://example.com/roadmap/2.json", "type": "application/json", "language": None, "rel": None},
            {"url": "https://example.com/roadmap/2.html", "type": "text/html", "language": None, "rel": None},
        ],
        "chapters": [{"url": "https://example.com/roadmap/2-chapters.json", "type": "application/json+chapters"}],
        "soundbites": [{"start": 73.0, "duration": 60.0, "title": "Why we said no"},
                       {"start": 1234.5, "duration": 42.25, "title": None}],
    }
    assert ep1["guid"] == "roadmap-1"
    assert ep1["published"] == "2026-10-01T07:00:00+00:00"
    assert ep1["duration_s"] == 754.0
    assert ep1["description"] == "The first one & only."
    # no item-level persons: the channel's apply
    assert [p["name"] for p in ep1["people"]] == ["Jo Host", "Pat Producer"]
    assert ep1["people"][1]["group"] == "crew"


XXE_16 = """<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss><channel><title>&xxe;</title></channel></rss>"""


@pytest.mark.parametrize("content, message", [
    (b"<rss><channel><title>x</title><item><title>cut", "not well-formed XML"),
    (b"<html><body><h1>Welcome</h1></body></html>", "not a podcast feed"),
    (b"", "not well-formed XML"),
    (b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<rss><channel><title>&lol2;</title></channel></rss>""", "refused"),
    (b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss><channel><title>&xxe;</title></channel></rss>""", "refused"),
    # the same in UTF-16, where "<!DOCTYPE" is not written in ASCII bytes (feeds without one skip defusedxml)
    (XXE_16.encode("utf-16"), "refused"),
    (XXE_16.encode("utf-16-le"), "refused"),
])
def test_bad_feeds_are_refused(content, message):
    with pytest.raises(FeedError, match=message):
        parse_feed(content, "http://127.0.0.1/feed.xml")


def test_ingest_dev_corpus_then_304(httpserver, tmp_path, db_path):
    base = httpserver.url_for("/")
    build_corpus(tmp_path / "pm", base, "--no-audio")
    serve_dir(httpserver, tmp_path / "pm")
    url = base + "feed.xml"
    db = open_db(db_path)
    counts = ingest_feed(db, url)
    assert counts == {"new": 3, "updated": 0, "unchanged": 0, "duplicate": 0, "not_modified": 0}
    rows = list(db.query("""
        select e.guid, group_concat(p.name || ':' || ep.role, ',') as people,
               (select count(*) from episode_transcript_links l where l.episode_id = e.id) as links
        from episodes e join episode_people ep on ep.episode_id = e.id join people p on p.id = ep.person_id
        group by e.id order by e.guid"""))
    assert rows == [
        {"guid": "pmtalks-d01", "people": "Sam Okafor:host,Corie Miller:guest", "links": 2},
        {"guid": "pmtalks-d02", "people": "Sam Okafor:host,Hana Kobayashi:guest", "links": 2},
        {"guid": "pmtalks-d03", "people": "Sam Okafor:host,Rafael Mendes:guest", "links": 2},
    ]
    feed = db["feeds"].get(1)
    assert feed["title"] == "PM Talks: interviews with product people" and feed["etag"]
    db.close()
    # a new process: the ETag comes from the database and the server answers 304
    before = len(httpserver.log)
    db = open_db(db_path)
    assert ingest_feed(db, url)["not_modified"] == 1
    request, response = httpserver.log[before]
    assert request.headers["If-None-Match"] == feed["etag"]
    assert response.status_code == 304
    assert db["episodes"].count == 3 and db["people"].count == 4 and db["episode_people"].count == 6


def test_paged_feed_is_followed(httpserver, db):
    page2 = httpserver.url_for("/feed?page=2")
    httpserver.expect_request("/feed", query_string="page=2").respond_with_data(rss([("b", "B")]))
    httpserver.expect_request("/feed").respond_with_data(
        rss([("a", "A")], f"<atom:link rel='next' href='{page2}'/>"))
    counts = ingest_feed(db, httpserver.url_for("/feed"), policy=FAST)
    assert counts["new"] == 2
    assert [r["guid"] for r in db.query("select guid from episodes order by guid")] == ["a", "b"]


def test_same_item_twice_and_updates(httpserver, db):
    httpserver.expect_ordered_request("/f").respond_with_data(rss([("a", "A"), ("a", "A again"), ("b", "B")]))
    httpserver.expect_ordered_request("/f").respond_with_data(rss([("a", "A renamed"), ("b", "B"), ("c", "C")]))
    url = httpserver.url_for("/f")
    assert ingest_feed(db, url) == {"new": 2, "updated": 0, "unchanged": 0, "duplicate": 1, "not_modified": 0}
    assert ingest_feed(db, url) == {"new": 1, "updated": 1, "unchanged": 1, "duplicate": 0, "not_modified": 0}
    assert [(r["guid"], r["title"]) for r in db.query("select guid, title from episodes order by guid")] == [
        ("a", "A renamed"), ("b", "B"), ("c", "C")]


@pytest.mark.parametrize("status", [404, 410, 500])
def test_http_errors_recorded_on_feed(httpserver, db, status):
    httpserver.expect_request("/f").respond_with_data("nope", status=status)
    with pytest.raises(FeedError, match=f"HTTP {status}"):
        ingest_feed(db, httpserver.url_for("/f"), policy=FAST)
    assert db["feeds"].get(1)["last_error"].startswith(f"HTTP {status}")


def test_500_then_200_is_retried(httpserver, db):
    httpserver.expect_ordered_request("/f").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/f").respond_with_data(rss([("a", "A")]))
    assert ingest_feed(db, httpserver.url_for("/f"), policy=FAST)["new"] == 1


def test_redirect_loop(httpserver, db):
    httpserver.expect_request("/a").respond_with_response(Response(status=302, headers={"Location": "/b"}))
    httpserver.expect_request("/b").respond_with_response(Response(status=302, headers={"Location": "/a"}))
    with pytest.raises(FeedError, match="redirect"):
        ingest_feed(db, httpserver.url_for("/a"), policy=FAST)


def test_timeout(httpserver, db):
    from pipeline.http_client import make_client

    httpserver.expect_request("/slow").respond_with_handler(lambda r: time.sleep(1.0) or Response(rss([])))
    with make_client(timeout=0.2) as client:
        with pytest.raises(FeedError, match="timed out"):
            ingest_feed(db, httpserver.url_for("/slow"), client=client, policy=FAST)


def test_cli_one_bad_feed_does_not_stop_the_others(httpserver, tmp_path):
    httpserver.expect_request("/good").respond_with_data(rss([("a", "A")]))
    httpserver.expect_request("/bad").respond_with_data(b"<rss><channel><item>")
    httpserver.expect_request("/html").respond_with_data(b"<!DOCTYPE html><html><body>hi</body></html>")
    db = str(tmp_path / "x.db")
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", "--db", db, httpserver.url_for("/bad"),
                                 httpserver.url_for("/good"), httpserver.url_for("/html")])
    assert result.exit_code == 1, result.output
    assert "not well-formed XML" in result.output
    assert "not a podcast feed" in result.output
    assert result.output.strip().splitlines()[-1] == (
        "1 new, 0 updated, 0 unchanged, 0 feeds not modified, 2 feeds failed")
    assert "Traceback" not in result.output
    # nothing lost or duplicated by a second run
    result = runner.invoke(cli, ["ingest", "--db", db])
    assert open_db(db)["episodes"].count == 1
    run = list(open_db(db).query("select command, status from runs order by id"))
    assert run == [{"command": "ingest", "status": "partial"}, {"command": "ingest", "status": "partial"}]


def test_local_feed_unchanged_is_not_parsed(tmp_path, db):
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss([("a", "A")]))
    assert ingest_feed(db, str(feed))["new"] == 1
    assert ingest_feed(db, str(feed))["not_modified"] == 1


def test_feeds_commands_and_opml(tmp_path):
    db = str(tmp_path / "x.db")
    runner = CliRunner()
    feed = tmp_path / "f.xml"
    feed.write_bytes(rss([("a", "A")]))
    opml = tmp_path / "subs.opml"
    opml.write_text(f"""<?xml version="1.0"?><opml version="2.0"><head/><body>
        <outline text="One" type="rss" xmlUrl="http://127.0.0.1:9/one.xml"/>
        <outline text="Group"><outline text="Two &amp; co" type="rss" xmlUrl="{feed}"/></outline>
        </body></opml>""")
    result = runner.invoke(cli, ["feeds", "import", str(opml), "--db", db])
    assert result.output == "2 feeds added, 0 already subscribed\n"
    result = runner.invoke(cli, ["feeds", "add", str(feed), "--db", db])
    assert result.output == f"already subscribed: {feed}\n"
    result = runner.invoke(cli, ["feeds", "list", "--db", db, "--csv"])
    assert result.output.splitlines() == [
        "id,url,title,episodes,last_fetched,last_error", "1,http://127.0.0.1:9/one.xml,,0,,", f"2,{feed},,0,,"]
    result = runner.invoke(cli, ["feeds", "export", "--db", db])
    assert 'xmlUrl="http://127.0.0.1:9/one.xml"' in result.output
    result = runner.invoke(cli, ["feeds", "remove", "1", "--yes", "--db", db])
    assert result.output == ("http://127.0.0.1:9/one.xml: 0 episodes, 0 files, 0 items (0 approved, 0 rejected, "
                             "0 edited)\nremoved: http://127.0.0.1:9/one.xml (0 episodes)\n")
    result = runner.invoke(cli, ["feeds", "remove", "99", "--db", db])
    assert result.exit_code == 1 and "no feed matches '99'" in result.output
    bad = tmp_path / "bad.opml"
    bad.write_text("<html/>")
    result = runner.invoke(cli, ["feeds", "import", str(bad), "--db", db])
    assert result.exit_code == 1 and "not an OPML file" in result.output


def test_one_ingest_run_uses_one_connection_for_every_feed(db):
    # one client (connection pool) per run: three feeds on a keep-alive server
    # arrive on one connection, and their people go in together
    import http.server
    import threading

    from pipeline.stages import ingest
    from pipeline.subscriptions import subscribe

    ports = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            ports.append(self.client_address[1])
            n = self.path.strip("/").split(".")[0]
            body = rss([(f"{n}-{i}", f"Episode {i}") for i in range(3)],
                       extra_channel="<podcast:person xmlns:podcast='https://podcastindex.org/namespace/1.0'>"
                                     f"Host {n}</podcast:person>").replace(b"'http://127.0.0.1:1/", b"'http://x/")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        result = ingest(db, feeds=subscribe(db, [f"{base}/a.xml", f"{base}/b.xml", f"{base}/c.xml"]))
    finally:
        server.shutdown()
        server.server_close()
    assert result.counts["new"] == 9 and result.errors == []
    assert len(ports) == 3 and len(set(ports)) == 1
    assert [r["name"] for r in db.query("select name from people order by name")] == ["Host a", "Host b", "Host c"]
    assert db.execute("select count(*) from episode_people").fetchone()[0] == 9


def test_links_skip_urljoin_only_where_it_would_change_nothing():
    from urllib.parse import urljoin

    from pipeline.feeds import _PLAIN_WEB_URL, _link

    urls = ["https://cdn.example.com/a/1.mp3", "http://h/p?x=1&y=2", "http://h", "http://h?q", "http://h/p?",
            "http://h/p;v=1", "http://h/p#t=10", "HTTP://H/P", "http://[::1]/a", "http://h/a/../b.mp3",
            "http://h/a b", "http://h/\tx", "https://h/é.mp3", "http://h/p??", "https://u:p@h:8080/x%20y.mp3",
            "//cdn.example.com/x.mp3", "/x.mp3", "x.mp3", "https:x.mp3", "http://h/./x", "ftp://h/x"]
    bases = ["https://feeds.example.com/show/feed.xml", "http://feeds.example.com/f", "file:///srv/feed.xml"]
    for url in urls:
        for base in bases:
            if _PLAIN_WEB_URL.match(url):
                assert urljoin(base, url) == url, (base, url)
            assert _link(base, url, None, []) == _link_joined(base, url), (base, url)
    assert [u for u in urls if _PLAIN_WEB_URL.match(u)] == [
        "https://cdn.example.com/a/1.mp3", "http://h/p?x=1&y=2", "http://h", "http://h?q",
        "http://h/a/../b.mp3", "https://u:p@h:8080/x%20y.mp3", "http://h/./x"]  # "p??" too, but we are careful


def _link_joined(base, url):
    """What _link gave before its shortcut: every link through urljoin."""
    from urllib.parse import urljoin

    from pipeline.urls import refusal

    url = urljoin(base, url.strip())
    return url if url.startswith(("http://", "https://")) or not refusal(url, None) else None


def test_many_feeds_are_parsed_in_worker_processes_and_saved_as_one_at_a_time_would(tmp_path, httpserver, monkeypatch):
    # from stages.PARALLEL_FEEDS feeds on, changed feeds are parsed in forked workers;
    # the rows, the counts and the order of the messages are those of parsing here
    from pipeline import stages
    from pipeline.subscriptions import subscribe

    for n in range(6):
        body = rss([(f"f{n}-{i}", f"Episode {i} of feed {n}") for i in range(20)])
        httpserver.expect_request(f"/f{n}.xml").respond_with_data(body if n != 3 else b"<rss><channel>",
                                                                  content_type="application/rss+xml")
    urls = [httpserver.url_for(f"/f{n}.xml") for n in range(6)]
    outcomes, pools = {}, []
    make_pool = stages._parse_pool
    monkeypatch.setattr(stages, "_parse_pool", lambda: pools.append(make_pool()) or pools[-1])
    for parallel in (True, False):
        db = open_db(tmp_path / f"{parallel}.db")
        feeds = subscribe(db, urls)
        messages = []
        monkeypatch.setattr(stages, "PARALLEL_FEEDS", 4 if parallel else 10 ** 6)
        result = stages.ingest(db, feeds=feeds, notify=messages.append)
        rows = db.execute("select e.id, f.url, e.guid, e.title from episodes e join feeds f on f.id = e.feed_id "
                          "order by e.id").fetchall()
        errors = db.execute("select url, last_error from feeds order by id").fetchall()
        outcomes[parallel] = (result.counts, messages, rows, errors)
    assert len(pools) == 1  # the parallel run had workers, the other none
    assert outcomes[True] == outcomes[False]
    counts, messages, rows, errors = outcomes[True]
    assert counts["new"] == 100 and counts["failed"] == 1 and len(rows) == 100
    assert [m.split(":")[0] for m in messages] == ["ingested"] * 3 + ["failed"] + ["ingested"] * 2
    assert "not well-formed XML" in dict(errors)[urls[3]]


KILLED_INGEST = """
import sys
from pipeline.db import open_db
from pipeline.stages import ingest
from pipeline.subscriptions import subscribe
db = open_db(sys.argv[1])
ingest(db, feeds=subscribe(db, sys.argv[2:]), notify=lambda message: print(message, flush=True))
"""


def test_a_killed_ingest_leaves_no_parsing_worker_behind_and_a_rerun_finishes_it(tmp_path, httpserver):
    for n in range(8):
        httpserver.expect_request(f"/k{n}.xml").respond_with_data(
            rss([(f"k{n}-{i}", f"Episode {i}") for i in range(300)]), content_type="application/rss+xml")
    urls = [httpserver.url_for(f"/k{n}.xml") for n in range(8)]
    db_path = tmp_path / "killed.db"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, str(db_path), *urls],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().startswith("ingested:")  # the workers are parsing the next ones
    workers = _children(proc.pid)
    assert workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)]
    rerun = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(db_path), *urls],
                           capture_output=True, text=True, cwd=ROOT, check=True)
    assert rerun.stdout.count("ingested:") + rerun.stdout.count("not modified:") == 8
    db = open_db(db_path)
    assert db.execute("select count(*), count(distinct guid) from episodes").fetchone() == (2400, 2400)


def _children(parent):
    """Ids of the processes whose parent is parent (from /proc: no procps needed)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            out.append(stat.parent.name)
    return out


def _running(pid):
    """True while process pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

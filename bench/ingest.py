"""Ingest speed: `podpipe ingest` of a generated 5,000-item feed against
feedparser.parse alone on the same bytes, in the same run.

    .venv/bin/python bench/ingest.py [--items 5000] [--repeat 3]

Prints the ratio (target: at most 1.5x) and the time of an unchanged
re-ingest, which the server answers with 304.
"""
import argparse
import hashlib
import http.server
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.db import open_db  # noqa: E402
from pipeline.feeds import ingest_feed  # noqa: E402


def make_feed(n):
    items = []
    for i in range(n):
        items.append(f"""<item>
  <title>Episode {i}: product lessons from guest {i}</title>
  <guid isPermaLink="false">bench-{i}</guid>
  <pubDate>Mon, 0{1 + i % 9} Jun 2026 09:00:00 GMT</pubDate>
  <description>Guest {i} talks about roadmaps, customers and shipping. &lt;b&gt;Show notes&lt;/b&gt; and links.</description>
  <itunes:duration>{1800 + i}</itunes:duration>
  <itunes:episode>{i}</itunes:episode>
  <enclosure url="https://cdn.example.com/audio/{i}.mp3" length="{10_000_000 + i}" type="audio/mpeg"/>
  <podcast:person role="host">Sam Host</podcast:person>
  <podcast:person role="guest">Guest Number {i}</podcast:person>
  <podcast:transcript url="https://cdn.example.com/t/{i}.vtt" type="text/vtt"/>
</item>""")
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>Bench FM</title><link>https://example.com</link><language>en</language>
<description>A big generated feed.</description>
""" + "\n".join(items) + "\n</channel></rss>\n").encode()


def serve(body):
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/feed.xml"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    body = make_feed(args.items)
    server, url = serve(body)
    parse_times, ingest_times, reingest_times = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            t = time.perf_counter()
            parsed = feedparser.parse(body)
            parse_times.append(time.perf_counter() - t)
            assert len(parsed.entries) == args.items
            db = open_db(Path(tmp) / f"bench{r}.db")
            t = time.perf_counter()
            counts = ingest_feed(db, url)
            ingest_times.append(time.perf_counter() - t)
            assert counts["new"] == args.items, counts
            db.close()
            db = open_db(Path(tmp) / f"bench{r}.db")  # a new process would start like this
            t = time.perf_counter()
            assert ingest_feed(db, url)["not_modified"] == 1
            reingest_times.append(time.perf_counter() - t)
    server.shutdown()
    p, i, u = (statistics.median(x) for x in (parse_times, ingest_times, reingest_times))
    print(f"feed: {args.items} items, {len(body) / 1e6:.1f} MB; median of {args.repeat} runs")
    print(f"feedparser.parse alone:    {p:.3f} s")
    print(f"podpipe ingest (fetch, parse, save): {i:.3f} s")
    print(f"ratio ingest / feedparser: {i / p:.2f}x (target <= 1.5x)")
    print(f"unchanged re-ingest (304): {u * 1000:.1f} ms")


if __name__ == "__main__":
    main()

"""Ingest + download against podcast-archiver on the same loopback feed.

    .venv/bin/python bench/download.py --archiver PATH/TO/podcast-archiver [--episodes 40] [--mib 2] [--repeat 3]

One feed of --episodes episodes of --mib MiB each (random bytes) on a local
HTTP server. Ours: `podpipe run FEED --stages ingest,download --concurrency 4`
as a whole process into a new database and folder; the floor:
`podcast-archiver -f FEED -d DIR --concurrency 4` (2.3.5) as a whole process into
a new folder and database. podcast-archiver is not a podpipe dependency: install
it into a separate virtualenv for the bench (pip install podcast-archiver==2.3.5)
and pass its executable. The two take turns; medians. Target: 1.2x.
"""
import argparse
import http.server
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import loopback  # bench/loopback.py: this script's folder is on sys.path

ROOT = Path(__file__).resolve().parents[1]


def make_feed(base, n, size):
    items = "\n".join(f"""<item><title>Episode {i}</title><guid>dl-{i}</guid>
  <pubDate>Mon, 0{1 + i % 9} Jun 2026 09:00:00 GMT</pubDate>
  <enclosure url="{base}/audio/{i}.mp3" length="{size}" type="audio/mpeg"/></item>""" for i in range(n))
    return (f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Download Bench</title>
<link>{base}</link><description>d</description>{items}</channel></rss>""").encode()


def serve(files):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = files.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml" if self.path.endswith(".xml") else "audio/mpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return loopback.serve(Handler)


def timed(argv, cwd, env=None):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archiver", required=True, help="The podcast-archiver executable")
    ap.add_argument("--episodes", type=int, default=40)
    ap.add_argument("--mib", type=float, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(13)
    files = {f"/audio/{i}.mp3": rng.randbytes(int(args.mib * 2 ** 20)) for i in range(args.episodes)}
    server, base = serve(files)
    files["/feed.xml"] = make_feed(base, args.episodes, int(args.mib * 2 ** 20))
    feed = base + "/feed.xml"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat + 1):  # the first round warms caches and is not counted
            a = timed([sys.executable, "-c", "import sys; from pipeline.cli import cli; sys.exit(cli())",
                       "--db", f"{tmp}/p{r}.db", "run", feed, "--stages", "ingest,download", "--concurrency", "4",
                       "--audio-dir", f"{tmp}/p{r}", "--silent"], cwd=tmp, env=env)
            Path(f"{tmp}/a{r}").mkdir()  # podcast-archiver wants its folder to exist
            b = timed([args.archiver, "-f", feed, "-d", f"{tmp}/a{r}", "--database", f"{tmp}/a{r}.db",
                       "--concurrency", "4", "--quiet"], cwd=tmp)
            got = sum(1 for _ in Path(f"{tmp}/p{r}").rglob("*.mp3")), sum(1 for _ in Path(f"{tmp}/a{r}").rglob("*.mp3"))
            assert got == (args.episodes, args.episodes), got
            if r:
                ours.append(a)
                theirs.append(b)
    server.shutdown()
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.episodes} x {args.mib:g} MiB; "
          f"median of {args.repeat}")
    print(f"podpipe run --stages ingest,download: {a:.2f} s; podcast-archiver: {b:.2f} s; ratio {a / b:.2f}x "
          f"(target 1.2x: {'met' if a / b <= 1.2 else 'NOT met'})")


if __name__ == "__main__":
    main()

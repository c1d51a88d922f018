"""Crash safety: run `podpipe run` on the dev corpus, kill it with SIGKILL at
random points N times, let a last run finish, and compare the database with a
clean run (same rows, nothing lost, nothing twice, no temp files left).

    .venv/bin/python bench/kill_resume.py [-n 20] [--whisper] [--seed 1]

--whisper leaves the publisher transcripts out of the feed, so every episode
is transcribed (with tiny.en) and kills land during transcription too.
"""
import argparse
import functools
import http.server
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.db import open_db  # noqa: E402
from pipeline.maintenance import content_summary  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder):
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(workdir, feed_url):
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", feed_url, "--model", "tiny.en",
                             "--silent"], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20, help="how many runs to kill")
    ap.add_argument("--whisper", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="podpipe-kill-"))
    out = tmp / "pm"
    server = serve(out.parent)  # the folder exists before build writes into it
    base = f"http://127.0.0.1:{server.server_address[1]}/pm/"
    subprocess.run([sys.executable, str(CORPUS / "build.py"), str(CORPUS / "interviews"), str(out),
                    "--base-url", base, *(["--no-feed-transcripts"] if args.whisper else [])],
                   check=True, capture_output=True)
    feed = base + "feed.xml"

    clean = tmp / "clean"
    clean.mkdir()
    t = time.perf_counter()
    proc = run(clean, feed)
    assert proc.wait() == 0, proc.stderr.read().decode()
    clean_seconds = time.perf_counter() - t
    expected = content_summary(open_db(clean / "db" / "podpipe.db"))

    work = tmp / "killed"
    work.mkdir()
    finished_early = 0
    for _ in range(args.n):
        proc = run(work, feed)
        time.sleep(rng.uniform(0, clean_seconds))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            finished_early += 1
        proc.wait()
    proc = run(work, feed)
    assert proc.wait() == 0, proc.stderr.read().decode()
    got = content_summary(open_db(work / "db" / "podpipe.db"))
    leftovers = [str(p) for p in work.rglob("*") if p.name.endswith((".part", ".tmp"))]
    runs = [r["status"] for r in open_db(work / "db" / "podpipe.db").query("select status from runs")]
    same = got == expected
    print(f"clean run: {clean_seconds:.1f} s; {len(expected['episodes'])} episodes, "
          f"{sum(n for _, n, _ in expected['segments'])} segments, {len(expected['items'])} items")
    print(f"killed {args.n - finished_early} of {args.n} runs with SIGKILL at random points "
          f"({finished_early} finished before the kill)")
    print(f"after a final run: database {'identical to' if same else 'DIFFERENT from'} the clean run; "
          f"duplicates: {got['duplicate_items']} items, {got['duplicate_segments']} segments; "
          f"temp files left: {len(leftovers)}; runs: {runs.count('interrupted')} interrupted, "
          f"{runs.count('running')} still 'running'")
    if not same:
        for key in expected:
            if expected[key] != got[key]:
                print(f"  {key}: expected {expected[key]!r}\n  {' ' * len(key)}  got      {got[key]!r}")
    server.shutdown()
    return 0 if same and not leftovers else 1


if __name__ == "__main__":
    sys.exit(main())

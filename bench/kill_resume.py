"""Crash safety: run `podpipe run` on the dev corpus and kill it with SIGKILL
at a random point, then let a second run finish and compare the database with
a clean run (same rows, nothing lost, nothing twice, no temp files left).
Each of the N trials starts from an empty folder, so every kill lands at a
different point of a fresh run; with --chain the kills instead follow each
other on one database before the final run.

    .venv/bin/python bench/kill_resume.py [-n 20] [--whisper] [--chain] [--seed 1]

--whisper leaves the publisher transcripts out of the feed, so every episode
is transcribed (tiny.en, with --diarize when the extra is installed) and kills
land during transcription and diarization too.
"""
import argparse
import functools
import http.server
import os
import random
import shutil
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


def run(workdir, feed_url, extra=()):
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", feed_url, "--model", "tiny.en",
                             "--silent", *extra], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def finish(workdir, feed, extra):
    proc = run(workdir, feed, extra)
    assert proc.wait() == 0, proc.stderr.read().decode()
    db = open_db(workdir / "db" / "podpipe.db")
    leftovers = [str(p) for p in workdir.rglob("*") if p.name.endswith((".part", ".tmp", ".part.url"))]
    runs = [r["status"] for r in db.query("select status from runs")]
    return content_summary(db), leftovers, runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20, help="how many runs to kill")
    ap.add_argument("--whisper", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chain", action="store_true", help="kill one database again and again, then finish")
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

    extra = []
    if args.whisper:
        from pipeline.diarize import available
        extra = ["--diarize"] if available() else []
    clean = tmp / "clean"
    clean.mkdir()
    t = time.perf_counter()
    expected, _, _ = finish(clean, feed, extra)
    clean_seconds = time.perf_counter() - t

    killed, failures, leftovers_total, still_running = 0, 0, 0, 0
    work = tmp / "killed"
    for trial in range(args.n):
        if not args.chain:
            shutil.rmtree(work, ignore_errors=True)
        work.mkdir(exist_ok=True)
        proc = run(work, feed, extra)
        time.sleep(rng.uniform(0, clean_seconds))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        if args.chain and trial < args.n - 1:
            continue
        got, leftovers, runs = finish(work, feed, extra)
        leftovers_total += len(leftovers)
        still_running += runs.count("running")
        if got != expected:
            failures += 1
            for key in expected:
                if expected[key] != got[key]:
                    print(f"trial {trial}: {key} differs:\n  expected {expected[key]!r}\n  got      {got[key]!r}")
    print(f"clean run: {clean_seconds:.1f} s; {len(expected['episodes'])} episodes, "
          f"{sum(n for _, n, _ in expected['segments'])} segments, {len(expected['items'])} items"
          f"{' (Whisper' + (' + diarization' if extra else '') + ')' if args.whisper else ' (publisher transcripts)'}")
    checks = 1 if args.chain else args.n
    print(f"{args.n} runs, {killed} killed with SIGKILL at a random point (the rest finished first); "
          f"{checks - failures} of {checks} recoveries identical to the clean run; "
          f"temp files left: {leftovers_total}; runs left 'running': {still_running}")
    server.shutdown()
    return 0 if not failures and not leftovers_total and not still_running else 1


if __name__ == "__main__":
    sys.exit(main())

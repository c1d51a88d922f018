"""The cluster executor against the local path, on this machine.

    PYTHONPATH=. .venv/bin/python bench/cluster.py [--rounds 3] [--copies 3] [--model tiny.en]

1. Throughput: the demo's two Whisper episodes, ``--copies`` times each, through
   ``transcribe.run_whisper`` in this process (the local path) and on a
   LocalCluster of 1, 2 and 4 worker processes (one Dask thread each), audio
   shipped as bytes; each worker's Whisper uses its share of the cores
   (``cluster.task_threads``). Models are loaded before the clock starts (a
   warm-up round), as they stay loaded on a long run; the rounds interleave.
   Reported: audio seconds per wall second, and the ratio to the local path
   measured in the same process.
2. Overhead per episode: a job that does nearly nothing (extraction of one
   short transcript) through the cluster against in process, with the
   episode's audio bytes shipped and without.
3. The single writer: how many Whisper results per second this machine's
   SQLite takes through ``save_whisper`` (an hour-long episode is ~700
   segments), for docs/scale.md.

Every figure is the median of ``--rounds``; the machine is shared, so the
spread is printed too.
"""
import argparse
import contextlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import pipeline  # noqa: E402,F401
from pipeline.asr import SAMPLE_RATE, load_audio  # noqa: E402
from pipeline.cluster import DaskExecutor, InProcess, start_local  # noqa: E402
from pipeline.db import open_db  # noqa: E402
from pipeline.download import download  # noqa: E402
from pipeline.extract.stage import run_extraction  # noqa: E402
from pipeline.feeds import ingest_feed  # noqa: E402
from pipeline.transcribe import pending_transcriptions, publisher_transcript, run_whisper, save_whisper, whisper_job  # noqa: E402,E501


def drain(executor, fn, jobs):
    with contextlib.closing(executor.map(fn, ((None, job) for job in jobs))) as outcomes:
        return [outcome() for _, outcome in outcomes]


def timed(executor, fn, jobs):
    started = time.perf_counter()
    drain(executor, fn, jobs)
    return time.perf_counter() - started


def spread(values):
    return f"median {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


def demo_jobs(work, model):
    db = open_db(work / "bench.db")
    shutil.copytree(ROOT / "feeds" / "demo", work / "demo")
    ingest_feed(db, str(work / "demo" / "feed.xml"))
    download(db, audio_dir=work / "audio")
    episodes = [e for e in pending_transcriptions(db) if not publisher_transcript(db, e["id"])]
    return db, episodes, [whisper_job(db, e, model=model) for e in episodes]


def cpu_seconds():
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def throughput(jobs, audio_s, rounds, worker_counts):
    """{name: ([audio s per wall s], [CPU s per audio s])}, one per round. The rounds
    interleave (local, 1 worker, 2 workers, ..., local, ...) so that a change in the
    machine's load hits every setup alike; idle clusters wait their turn. CPU
    seconds (this process and the workers') do not depend on the load: they say
    what the work costs, where the wall clock says what share of the machine we got."""
    import distributed

    with contextlib.ExitStack() as stack:
        setups = {"local": (InProcess(), None)}
        for n in worker_counts:
            cluster = stack.enter_context(start_local(n, port=0, dashboard=":0"))
            client = stack.enter_context(distributed.Client(cluster))
            setups[f"{n} workers"] = (DaskExecutor(client, audio="bytes"), client)
        for executor, _ in setups.values():
            drain(executor, run_whisper, jobs)  # warm: a round, so that every worker loads the model
        rows = {name: ([], []) for name in setups}
        for _ in range(rounds):
            for name, (executor, client) in setups.items():
                def cpu():
                    return cpu_seconds() + (sum(client.run(cpu_seconds).values()) if client else 0)
                before = cpu()
                wall = timed(executor, run_whisper, jobs)
                rows[name][0].append(audio_s / wall)
                rows[name][1].append((cpu() - before) / audio_s)
    return rows


def overhead(db, episodes, rounds, tasks=60):
    import distributed

    from pipeline.transcripts import segments_of, transcript_of

    # one episode's transcript, saved by a local Whisper run, as the tiny job
    save_whisper(db, episodes[0], run_whisper(whisper_job(db, episodes[0], model="tiny.en")))
    segments = segments_of(db, transcript_of(db, episodes[0]["id"])["id"], "id, start, end, text, speaker")
    job = {"episode_id": episodes[0]["id"], "hosts": set(),
           "segments": [{**s, "speaker": "Guest"} for s in segments]}
    with_audio = {**job, "audio": whisper_job(db, episodes[0])["audio"]}
    out = {}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        executor = DaskExecutor(client, audio="bytes")
        drain(executor, run_extraction, [job] * 4)
        for name, ex, j in (("in process", InProcess(), job), ("cluster", executor, job),
                            ("cluster + audio bytes", executor, with_audio)):
            out[name] = [1000 * timed(ex, run_extraction, [j] * tasks) / tasks for _ in range(rounds)]
    return out


def writer(work, rounds, episodes_n=30, segments_n=700):
    db = open_db(work / "writer.db")
    db["feeds"].insert({"id": 1, "url": "bench://feed", "title": "Bench"})
    words = [{"start": 0.0, "end": 0.4, "word": "word", "probability": 0.9}] * 12
    segments = [{"start": i * 5.0, "end": i * 5.0 + 4.8, "text": "a sentence of about twelve words said by "
                 "someone on a podcast", "speaker": None, "words": words} for i in range(segments_n)]
    result = {"engine": "faster-whisper", "model": "bench", "language": "en", "duration": 3600.0,
              "segments": segments, "seconds": 1.0, "diarization": None, "diarize_seconds": 0.0}
    rates = []
    for r in range(rounds):
        eps = []
        for i in range(episodes_n):
            eid = db["episodes"].insert({"feed_id": 1, "guid": f"{r}-{i}", "title": f"Episode {r}-{i}",
                                         "status": "downloaded"}).last_pk
            eps.append({"id": eid, "feed_id": 1, "feed_title": "Bench", "title": f"Episode {r}-{i}"})
        started = time.perf_counter()
        for ep in eps:
            save_whisper(db, ep, result, transcripts_dir=work / "transcripts")
        rates.append(episodes_n / (time.perf_counter() - started))
    return rates, segments_n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=3, help="Times each demo episode is transcribed a round")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--skip", default="", help="Comma-separated parts to skip: throughput,overhead,writer")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db, episodes, jobs = demo_jobs(work, args.model)
        jobs = jobs * args.copies
        audio_s = sum(len(load_audio(e["audio_path"])) / SAMPLE_RATE for e in episodes) * args.copies
        if "throughput" not in skip:
            rows = throughput(jobs, audio_s, args.rounds, [int(n) for n in args.workers.split(",")])
            base = statistics.median(rows["local"][0])
            print(f"\nThroughput: {len(jobs)} Whisper jobs ({audio_s:.0f} s audio, {args.model}) a round, "
                  f"{args.rounds} rounds interleaved; audio seconds per wall second; load average "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores after the runs")
            for name, (values, cpu) in rows.items():
                print(f"  {name:10} {spread(values)}   x{statistics.median(values) / base:.2f} of local;"
                      f"   CPU s per audio s {statistics.median(cpu):.3f}")
        if "overhead" not in skip:
            print("\nOverhead per episode (ms per task, a near-empty job, 2 workers):")
            for name, values in overhead(db, episodes, args.rounds).items():
                print(f"  {name:22} {spread(values)}")
        if "writer" not in skip:
            rates, n = writer(work, args.rounds)
            print(f"\nSingle writer: save_whisper of a {n}-segment transcript (files + one transaction): "
                  f"{spread(rates)} episodes/s, so {statistics.median(rates) * n:.0f} segment rows/s")


if __name__ == "__main__":
    main()

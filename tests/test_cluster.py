"""The heavy work on a real Dask cluster: a LocalCluster with two worker
processes, the demo feed and the bundled tiny.en Whisper model.

One module-scoped cluster and one local reference run keep this to a few
minutes on two shared cores.
"""
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from conftest import ROOT, serve_dir
from pipeline.cli import cli
from pipeline.db import open_db

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

DEMO = ROOT / "feeds" / "demo"
MODEL = "tiny.en"
# what must come out the same, whoever computed it; timestamps and paths differ by design
TABLES = {
    "segments": "select * from segments order by id",
    "items": "select * from items order by id",
    "speaker_labels": "select * from speaker_labels order by episode_id, label",
    "episodes": "select id, status, error, attempts from episodes order by id",
    "transcripts": "select id, episode_id, source, engine, model, language, audio_duration from transcripts",
    "passages": "select * from passages order by id",
    "embeddings": "select * from embeddings order by id",
}
VOLATILE = {"created", "updated"}


def contents(db):
    return {table: [{k: v for k, v in row.items() if k not in VOLATILE} for row in db.query(sql)]
            for table, sql in TABLES.items()}


def demo_copy(tmp_path):
    feed = tmp_path / "demo"
    shutil.copytree(DEMO, feed)
    return feed


def run_args(tmp_path, feed, *extra):
    return ["--db", str(tmp_path / "p.db"), "run", str(feed / "feed.xml"), "--model", MODEL, "--diarize",
            "--audio-dir", str(tmp_path / "audio"), "--transcripts-dir", str(tmp_path / "transcripts"),
            "--silent", *extra]


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("resemblyzer")
    from pipeline.cluster import start_local

    with start_local(2, port=0, dashboard=":0") as local, distributed.Client(local) as client:
        yield local, client


@pytest.fixture(scope="module")
def local_db(tmp_path_factory):
    """The demo through `podpipe run` in this process: what the cluster must reproduce."""
    tmp = tmp_path_factory.mktemp("local")
    result = CliRunner().invoke(cli, run_args(tmp, demo_copy(tmp)))
    assert result.exit_code == 0, result.output
    return tmp / "p.db"


@pytest.fixture(scope="module")
def local_run(local_db):
    return contents(open_db(local_db))


def test_run_on_the_cluster_gives_the_local_database(cluster, local_run, tmp_path):
    local, client = cluster
    result = CliRunner().invoke(cli, run_args(tmp_path, demo_copy(tmp_path),
                                                              "--cluster", local.scheduler_address))
    assert result.exit_code == 0, (result.output, result.stderr)
    assert f"running on the Dask cluster at {local.scheduler_address} (2 workers), dashboard http" in result.stderr
    # the demo's enclosures are files beside the feed: the workers get the bytes
    assert "audio to workers: bytes (the enclosures are not web URLs)" in result.stderr
    got = contents(open_db(tmp_path / "p.db"))
    assert got == local_run
    assert len(got["items"]) > 0 and {s["speaker_label"] for s in got["segments"]} >= {"SPEAKER_0", "SPEAKER_1"}
    # Whisper loaded once per worker, not once per task, with the worker's share of
    # the cores (two 1-thread workers here: half each), not every core of the machine
    from pipeline import asr
    share = max(1, asr.available_cores() // 2)
    loaded = client.run(lambda: [key[-1] for key in asr._loaded])
    assert all(threads == [share] for threads in loaded.values()) and any(loaded.values()), loaded
    # and glibc's own malloc trimming, not Dask's (it cost Whisper +50% CPU)
    assert set(client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()) == {None}


def test_a_worker_killed_mid_task_changes_nothing(cluster, local_run, tmp_path):
    from pipeline.cluster import DaskExecutor
    from pipeline.stages import run_stages
    from pipeline.subscriptions import subscribe

    local, client = cluster
    before = client.run(os.getpid)
    killed, stop = [], threading.Event()

    def kill_a_busy_worker():
        while not stop.is_set():
            for address, keys in client.processing().items():
                if any("run_whisper" in str(k) for k in keys) and address in before:
                    time.sleep(0.5)  # inside the task: decoding, or Whisper
                    os.kill(before[address], signal.SIGKILL)
                    killed.append(address)
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    feed = demo_copy(tmp_path)
    db = open_db(tmp_path / "p.db")
    try:
        results = run_stages(db, ["ingest", "download", "transcribe", "extract", "embed", "link"],
                             feeds=subscribe(db, [str(feed / "feed.xml")]), model=MODEL, diarize=True,
                             audio_dir=tmp_path / "audio", transcripts_dir=tmp_path / "transcripts",
                             executor=DaskExecutor(client))
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was busy with Whisper to kill"
    assert not any(r.errors for r in results)
    assert contents(db) == local_run
    client.wait_for_workers(2, timeout=60)  # the nanny brings the killed one back for the next test


def test_corrupt_audio_fails_only_its_episode_as_locally(cluster, tmp_path, httpserver):
    """Enclosures on the web: the workers download them (checked against the
    SHA-256), and episode 2's broken file is its failure alone."""
    from pipeline.asr import AudioError, load_audio

    local, _ = cluster
    served = demo_copy(tmp_path)
    (served / "audio" / "pp02-daniel-okoro.mp3").write_bytes(b"ID3 this is not an mp3 " * 2000)
    base = serve_dir(httpserver, served)
    args = ["--db", str(tmp_path / "p.db"), "run", base + "feed.xml", "--model", MODEL, "--silent",
            "--stages", "ingest,download,transcribe", "--audio-dir", str(tmp_path / "audio"),
            "--transcripts-dir", str(tmp_path / "transcripts"), "--cluster", local.scheduler_address]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, (result.output, result.stderr)
    assert f"audio to workers: url (a worker reached {base}audio/pp02-daniel-okoro.mp3)" in result.stderr
    db = open_db(tmp_path / "p.db")
    path = db["episodes"].get(2)["audio_path"]
    with pytest.raises(AudioError) as local_error:
        load_audio(path)
    assert contents(db)["episodes"] == [
        {"id": 1, "status": "transcribed", "error": None, "attempts": 0},
        {"id": 2, "status": "failed", "error": f"transcribe: {local_error.value}", "attempts": 1},
        {"id": 3, "status": "transcribed", "error": None, "attempts": 0},
    ]
    assert "failed: episode 2: cannot decode 2-" in result.stderr


def test_at_most_a_window_of_tasks_is_out_and_closing_cancels_them(cluster):
    """Back-pressure, and what Ctrl-C does: the stage's loop closes the results."""
    from pipeline.cluster import DaskExecutor

    _, client = cluster
    executor = DaskExecutor(client, window=3)

    def out():
        return sorted(str(k) for k in client.futures if "-episode-" in str(k) and "lambda" in str(k))

    outcomes = executor.map(lambda job: time.sleep(job["s"]), ((i, {"episode_id": i, "s": 30}) for i in range(100)))
    tag, _ = next(outcomes)
    assert tag == 0 and len(out()) == 3
    outcomes.close()
    deadline = time.monotonic() + 10
    while out() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out() == []


def test_embed_on_the_cluster_stores_the_local_vectors(cluster, local_db, local_run, tmp_path):
    """`podpipe embed --cluster`: the encoder runs on the workers, this process writes."""
    local, client = cluster
    with contextlib.closing(sqlite3.connect(local_db)) as src, \
            contextlib.closing(sqlite3.connect(tmp_path / "p.db")) as dst:
        src.backup(dst)  # the file alone may miss what is still in its WAL
    db = open_db(tmp_path / "p.db")
    with db.atomic():
        for table in ("embeddings", "passages", "embedded_transcripts", "near_duplicates", "vector_index"):
            db.execute(f"delete from {table}")
    with distributed.get_task_stream(client) as tasks:
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "p.db"), "embed", "--cluster",
                                          local.scheduler_address])
    assert result.exit_code == 0, (result.output, result.stderr)
    assert f"running on the Dask cluster at {local.scheduler_address}" in result.stderr
    episodes = [t["key"].split("-")[2] for t in tasks.data if t["key"].startswith("run_embedding-")]
    assert sorted(episodes) == ["1", "2", "3"]
    got = contents(open_db(tmp_path / "p.db"))
    assert got["embeddings"] and got["passages"]
    assert got == local_run


# --- the coordinator: killed, or Ctrl-C --------------------------------------------

def start_run(tmp_path, feed, address):
    """`podpipe run --cluster` in its own process, as a user starts it."""
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", *run_args(tmp_path, feed, "--cluster", address)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def ours(keys):
    return [k for k in keys if "-episode-" in str(k)]


def wait_for_whisper_on_a_worker(client, proc, db_path):
    """Until a worker runs Whisper for the run, with the publisher's episode 1 saved."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        busy = [k for keys in client.processing().values() for k in keys if "run_whisper" in str(k)]
        if busy and db_path.exists():
            with contextlib.closing(sqlite3.connect(db_path, timeout=5)) as conn:
                with contextlib.suppress(sqlite3.OperationalError):  # not yet migrated
                    if conn.execute("select count(*) from transcripts").fetchone()[0]:
                        return
        time.sleep(0.05)
    raise AssertionError("no Whisper task went out")


def saved_so_far(db_path):
    db = open_db(db_path)
    return ([dict(r) for r in db.query("select episode_id, source from transcripts order by episode_id")],
            [r["status"] for r in db.query("select status from episodes order by id")])


def test_a_killed_coordinator_resumes_like_a_local_run(cluster, local_run, tmp_path):
    local, client = cluster
    feed = demo_copy(tmp_path)
    proc = start_run(tmp_path, feed, local.scheduler_address)
    wait_for_whisper_on_a_worker(client, proc, tmp_path / "p.db")
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    # killed with episode 1 (the publisher's transcript) saved and Whisper still out
    assert saved_so_far(tmp_path / "p.db") == (
        [{"episode_id": 1, "source": "publisher"}], ["transcribed", "downloaded", "downloaded"])
    result = CliRunner().invoke(cli, run_args(tmp_path, feed, "--cluster", local.scheduler_address))
    assert result.exit_code == 0, (result.output, result.stderr)
    assert contents(open_db(tmp_path / "p.db")) == local_run


def test_ctrl_c_cancels_the_tasks_on_the_cluster(cluster, tmp_path):
    local, client = cluster
    started = time.time()
    proc = start_run(tmp_path, demo_copy(tmp_path), local.scheduler_address)
    wait_for_whisper_on_a_worker(client, proc, tmp_path / "p.db")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("interrupted; finished and saved: ingest: "), err
    assert err.splitlines()[-1].endswith("Run again to continue.")
    # what was saved stays saved: the feed, the downloads, episode 1's transcript
    assert saved_so_far(tmp_path / "p.db") == (
        [{"episode_id": 1, "source": "publisher"}], ["transcribed", "downloaded", "downloaded"])
    assert [r["status"] for r in open_db(tmp_path / "p.db").query("select status from runs")] == ["interrupted"]
    # the run cancelled its tasks before it went (not merely left them to the scheduler)
    cancels = [msg for events in client.get_events().values() for at, msg in events
               if at >= started and isinstance(msg, dict) and msg.get("action") == "cancel"]
    assert cancels and all(msg["count"] >= 1 for msg in cancels), cancels
    # and nothing of ours is left on the scheduler: not running, not held in memory
    deadline = time.monotonic() + 10
    left = None
    while time.monotonic() < deadline:
        processing = [k for keys in client.processing().values() for k in ours(keys)]
        held = [k for keys in client.has_what().values() for k in ours(keys)]
        left = processing + held + ours(client.who_has())
        if not left:
            break
        time.sleep(0.1)
    assert left == []

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from conftest import ROOT
from pipeline.cli import cli
from pipeline.db import open_db
from pipeline.maintenance import Lock, content_summary

DEMO = ROOT / "feeds" / "demo"
PODPIPE = [sys.executable, "-m", "pipeline.cli"]


def rss(guids, base):
    items = "".join(f"<item><title>{g}</title><guid>{g}</guid>"
                    f"<enclosure url='{base}{g}.mp3' length='3' type='audio/mpeg'/></item>" for g in guids)
    return f"<rss version='2.0'><channel><title>Ops</title>{items}</channel></rss>"


def test_second_job_on_the_same_database_is_refused(tmp_path):
    db = tmp_path / "x.db"
    feed = tmp_path / "f.xml"
    feed.write_text(rss(["a"], "http://127.0.0.1:9/"))
    with Lock(db):
        result = CliRunner().invoke(cli, ["ingest", "--db", str(db), str(feed)])
    assert result.exit_code == 1
    assert f"another podpipe job (pid {os.getpid()}) is working on this database" in result.output
    # once the first job is done, the second goes through
    result = CliRunner().invoke(cli, ["ingest", "--db", str(db), str(feed)])
    assert result.exit_code == 0, result.output


def test_config_file_and_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podpipe.toml").write_text('db = "data/main.db"\nconcurrency = 2\n')
    monkeypatch.setenv("PODPIPE_MAX_ATTEMPTS", "5")
    monkeypatch.delenv("PODPIPE_DB", raising=False)
    result = CliRunner().invoke(cli, ["config"])
    lines = result.output.splitlines()
    assert "db = 'data/main.db'  # podpipe.toml" in lines
    assert "concurrency = 2  # podpipe.toml" in lines
    assert "max_attempts = 5  # $PODPIPE_MAX_ATTEMPTS" in lines
    assert "model = 'base'  # default" in lines
    CliRunner().invoke(cli, ["feeds", "add", "http://127.0.0.1:9/f.xml"])
    assert (tmp_path / "data" / "main.db").exists()
    (tmp_path / "bad.toml").write_text("colour = 'blue'\n")
    result = CliRunner().invoke(cli, ["--config", "bad.toml", "config"])
    assert result.exit_code == 2 and "unknown setting 'colour'" in result.output


def test_failures_status_retry_and_attempt_limit(httpserver, tmp_path):
    httpserver.expect_request("/feed").respond_with_data(rss(["a", "b"], httpserver.url_for("/")))
    httpserver.expect_request("/a.mp3").respond_with_data("abc")
    httpserver.expect_request("/b.mp3").respond_with_data("gone", status=404)
    db_path = str(tmp_path / "x.db")
    runner = CliRunner()
    args = ["--db", db_path, "--audio-dir", str(tmp_path / "audio"), "--silent"]
    result = runner.invoke(cli, ["run", httpserver.url_for("/feed"), "--stages", "ingest,download", *args])
    assert result.exit_code == 1
    assert "download: 1 downloaded, 1 failed" in result.output
    for _ in range(3):
        runner.invoke(cli, ["run", "--stages", "download", *args])
    db = open_db(db_path)
    assert db["episodes"].get(2)["attempts"] == 3  # stopped at max_attempts
    result = runner.invoke(cli, ["run", "--stages", "download", *args])
    assert result.exit_code == 0 and "download: 0 downloaded, 0 failed" in result.output
    result = runner.invoke(cli, ["status", "--db", db_path])
    assert "Failed episodes" in result.output and "download: HTTP 404 NOT FOUND" in result.output
    result = runner.invoke(cli, ["retry", "--db", db_path])
    assert result.output == "1 episodes re-queued; 'podpipe run' will try them again\n"
    assert db["episodes"].get(2)["status"] == "new" and db["episodes"].get(2)["attempts"] == 3
    result = runner.invoke(cli, ["run", "--stages", "download", *args])
    assert result.exit_code == 1 and db["episodes"].get(2)["attempts"] == 4
    result = runner.invoke(cli, ["runs", "--failed", "--db", db_path, "--csv"])
    assert result.output.count("partial") >= 4


def test_backup_and_check(tmp_path):
    db_path = tmp_path / "x.db"
    db = open_db(db_path)
    feed_id = db["feeds"].insert({"url": "http://127.0.0.1:9/f"}).last_pk
    audio = tmp_path / "audio"
    (audio / "f").mkdir(parents=True)
    (audio / "f" / "1-a.mp3").write_bytes(b"abc")
    (audio / "f" / "stray.mp3").write_bytes(b"x")
    db["episodes"].insert({"feed_id": feed_id, "guid": "a", "audio_path": str(audio / "f" / "1-a.mp3")})
    db["episodes"].insert({"feed_id": feed_id, "guid": "b", "audio_path": str(audio / "f" / "2-b.mp3")})
    runner = CliRunner()
    result = runner.invoke(cli, ["backup", str(tmp_path / "copy.db"), "--db", str(db_path)])
    assert result.exit_code == 0
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("select count(*) from episodes").fetchone() == (2,)
    assert copy.execute("pragma integrity_check").fetchone() == ("ok",)
    result = runner.invoke(cli, ["check", "--db", str(db_path), "--audio-dir", str(audio),
                                 "--transcripts-dir", str(tmp_path / "t")])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"missing file: {audio / 'f' / '2-b.mp3'} (named in episodes.audio_path)",
        f"unknown file: {audio / 'f' / 'stray.mp3'} (not named in the database)",
        "2 problems found"]


def snapshot(db_path):
    return content_summary(open_db(db_path))


def podpipe_run(workdir, *extra):
    return subprocess.Popen(
        [*PODPIPE, "run", str(workdir / "demo" / "feed.xml"), "--model", "tiny.en", "--silent", *extra],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(DEMO, tmp_path / "demo")
    return tmp_path


@pytest.mark.slow
def test_killed_runs_finish_like_a_clean_run(workdir, tmp_path_factory):
    clean = tmp_path_factory.mktemp("clean")
    shutil.copytree(DEMO, clean / "demo")
    proc = podpipe_run(clean)
    assert proc.wait(300) == 0, proc.stderr.read()
    expected = snapshot(clean / "db" / "podpipe.db")
    assert expected["segments"] and expected["items"]

    for delay in (0.3, 1.2, 2.5, 4.0):  # during ingest, download, model load, transcription
        proc = podpipe_run(workdir)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    proc = podpipe_run(workdir)
    assert proc.wait(300) == 0, proc.stderr.read()
    assert snapshot(workdir / "db" / "podpipe.db") == expected
    leftovers = [p for p in workdir.rglob("*") if p.name.endswith((".part", ".tmp"))]
    assert leftovers == []
    statuses = [r["status"] for r in open_db(workdir / "db" / "podpipe.db").query("select status from runs")]
    assert statuses[-1] == "ok" and "running" not in statuses


@pytest.mark.slow
def test_ctrl_c_stops_cleanly(workdir):
    proc = podpipe_run(workdir, "--force-whisper")
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130
    assert "interrupted; finished and saved:" in proc.stderr.read()
    db = open_db(workdir / "db" / "podpipe.db")
    assert [r["status"] for r in db.query("select status from runs")] == ["interrupted"]
    # whatever was transcribed is whole: every transcript has its segments
    assert db.execute("select count(*) from transcripts t where not exists "
                      "(select 1 from segments s where s.transcript_id = t.id)").fetchone()[0] == 0
    proc = podpipe_run(workdir, "--force-whisper")
    assert proc.wait(300) == 0
    assert db["transcripts"].count == 3


def test_unwritable_folders_give_a_clear_error_and_nothing_half_written(tmp_path, monkeypatch):
    """A file where a folder should be stands in for a folder we may not write
    (we run as root, so permissions alone would not stop us)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(DEMO, tmp_path / "demo")
    (tmp_path / "blocked").write_text("a file, not a folder")
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "demo/feed.xml", "--stages", "ingest,download", "--silent",
                                 "--audio-dir", "blocked/audio"])
    assert result.exit_code == 1
    assert "failed: episode 1: cannot write: Not a directory" in result.output
    assert "Traceback" not in result.output
    db = open_db(tmp_path / "db" / "podpipe.db")
    assert {r["status"] for r in db.query("select status from episodes")} == {"failed"}
    # with a folder we can write, the next run does the work
    result = runner.invoke(cli, ["run", "--stages", "download", "--silent"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["run", "--stages", "transcribe", "--silent", "--episode", "1",
                                 "--transcripts-dir", "blocked/t"])
    assert result.exit_code == 1
    assert "cannot write transcript files" in result.output
    assert db["transcripts"].count == 0 and db["segments"].count == 0
    result = runner.invoke(cli, ["backup", "blocked/copy.db"])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_run_since_skips_older_episodes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(DEMO, tmp_path / "demo")
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "demo/feed.xml", "--stages", "ingest,download", "--silent",
                                 "--since", "2025-03-05"])
    assert result.exit_code == 0, result.output
    db = open_db(tmp_path / "db" / "podpipe.db")
    downloaded = [r["published"][:10] for r in db.query("select published from episodes "
                                                        "where audio_path is not null order by published")]
    assert downloaded and all(d >= "2025-03-05" for d in downloaded)
    assert db.execute("select count(*) from episodes where published < '2025-03-05' "
                      "and audio_path is null").fetchone()[0] >= 1

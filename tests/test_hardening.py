"""Hardening (issue 12): editors and jobs on one database at the same time,
stopping downloads, removing feeds without losing editors' work, replaced
audio, and diarizing a stored transcript. Like test_faults.py, each case is
driven through the real thing: podpipe subprocesses, loopback HTTP, a real
SQLite file."""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from werkzeug import Response

from conftest import CORPUS, ROOT, build_corpus, serve_dir

PODPIPE = [sys.executable, "-m", "pipeline.cli"]
LENNY = CORPUS / "lenny"


@pytest.fixture
def site(httpserver, tmp_path):
    """A folder served over HTTP on loopback: ``site.folder`` and ``site.url``."""
    folder = tmp_path / "site"
    folder.mkdir()
    return SimpleNamespace(folder=folder, url=serve_dir(httpserver, folder))


def write_feed(site, episodes, title="Lenny"):
    """A feed of episodes [(guid, audio bytes, transcript file or None)] on the site."""
    items = []
    for guid, audio, transcript in episodes:
        (site.folder / f"{guid}.mp3").write_bytes(audio)
        tag = ""
        if transcript:
            shutil.copy(transcript, site.folder / f"{guid}.md")
            tag = f"<podcast:transcript url='{site.url}{guid}.md' type='text/markdown'/>"
        items.append(f"<item><title>{guid}</title><guid>{guid}</guid>"
                     f"<enclosure url='{site.url}{guid}.mp3' length='{len(audio)}' type='audio/mpeg'/>{tag}</item>")
    (site.folder / "feed.xml").write_text(
        "<rss version='2.0' xmlns:podcast='https://podcastindex.org/namespace/1.0'><channel>"
        f"<title>{title}</title>{''.join(items)}</channel></rss>")
    return site.url + "feed.xml"


def podpipe(tmp_path, *args, input=None, check=False):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PODPIPE_DB": str(tmp_path / "x.db")}
    result = subprocess.run(PODPIPE + [str(a) for a in args], env=env, cwd=tmp_path, input=input,
                            capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def lenny(n):
    if not LENNY.is_dir():
        pytest.skip("../shared/corpus/lenny is not beside the project")
    return sorted(LENNY.glob("*.md"))[:n]


# --- 4: editors and a job at the same time ------------------------------------------

def test_editors_work_while_a_run_writes(tmp_path, site):
    """A real `podpipe run` over episodes with publisher transcripts, while
    three editors approve, edit, collect and review in a loop: no editor
    command fails, the run finishes ok, and every decision is kept."""
    seed, *episodes = lenny(7)
    podpipe(tmp_path, "transcripts", "import", seed, check=True)
    podpipe(tmp_path, "extract", check=True)
    podpipe(tmp_path, "collections", "create", "best", check=True)
    ids = [r[0] for r in sqlite3.connect(tmp_path / "x.db").execute("select id from items order by id")]
    assert len(ids) > 20
    feed = write_feed(site, [(f.stem, b"ID3" + os.urandom(2000), f) for f in episodes])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PODPIPE_DB": str(tmp_path / "x.db")}
    job = subprocess.Popen(PODPIPE + ["run", feed, "--silent"], env=env, cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    failures, approved, edited, collected = [], set(), set(), set()

    def editor(k):
        n = 0
        while job.poll() is None and n < 3:
            a, b, c = ids[(3 * n + k) % len(ids)], ids[(3 * n + k + 7) % len(ids)], ids[(3 * n + k + 13) % len(ids)]
            for args, stdin in [(("items", "approve", a), None), (("items", "edit", b, "--text", f"edited {k} {n}"), None),
                                (("collections", "add", "best", c), None), (("review", "--episode", 1), "s\nq\n")]:
                result = podpipe(tmp_path, *args, input=stdin)
                if result.returncode:
                    failures.append((args, result.stderr.strip()))
            approved.add(a)
            edited.add(b)
            collected.add(c)
            n += 1

    editors = [threading.Thread(target=editor, args=(k,)) for k in range(3)]
    for t in editors:
        t.start()
    for t in editors:
        t.join()
    output = job.communicate(timeout=300)[0]
    assert failures == []
    assert job.returncode == 0, output
    assert f"transcribe: {len(episodes)} transcribed ({len(episodes)} publisher, 0 Whisper), 0 failed" in output
    db = sqlite3.connect(tmp_path / "x.db")
    assert db.execute("select status from runs order by id desc limit 1").fetchone() == ("ok",)
    assert db.execute("select count(*) from episodes where status = 'extracted'").fetchone() == (len(episodes) + 1,)
    rows = dict(db.execute("select id, status from items"))
    assert all(rows[i] == "approved" for i in approved)
    assert all(text for (text,) in db.execute(f"select edited_text from items where id in ({','.join(map(str, edited))})"))
    assert {i for (i,) in db.execute("select item_id from collection_items")} == collected


# --- 6: removing a feed asks, keeps editors' decisions and removes its files --------

def test_removing_a_feed_asks_saves_decisions_and_removes_files(tmp_path, site):
    import json

    feed = write_feed(site, [(f.stem, b"ID3" + os.urandom(2000), f) for f in lenny(2)])
    podpipe(tmp_path, "run", feed, "--silent", check=True)
    db = sqlite3.connect(tmp_path / "x.db")
    first, second, third = [r[0] for r in db.execute("select id from items order by id limit 3")]
    podpipe(tmp_path, "items", "approve", first, check=True)
    podpipe(tmp_path, "items", "edit", second, "--text", "Shorter.", check=True)
    podpipe(tmp_path, "collections", "create", "best", check=True)
    podpipe(tmp_path, "collections", "add", "best", first, third, check=True)
    files = sorted(p for p in (tmp_path / "audio").rglob("*") if p.is_file()) + \
        sorted(p for p in (tmp_path / "transcripts").rglob("*") if p.is_file())
    assert len(files) >= 2 + 2 * 4  # two audio files, two transcripts in four formats
    items = db.execute("select count(*) from items").fetchone()[0]

    # without --yes and without an answer, nothing goes
    result = podpipe(tmp_path, "feeds", "remove", "1")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{feed}: 2 episodes, {len(files)} files, {items} items (1 approved, 0 rejected, 1 edited)",
        "  collection best loses 2 of its 2 items"]
    assert "nothing removed (answer y, or give --yes)" in result.stderr
    result = podpipe(tmp_path, "feeds", "remove", "1", input="n\n")
    assert result.returncode == 1 and "nothing removed" in result.stderr
    assert db.execute("select count(*) from items").fetchone()[0] == items
    assert all(p.exists() for p in files)

    result = podpipe(tmp_path, "feeds", "remove", "1", input="y\n")
    assert result.returncode == 0, result.stderr
    saved = result.stdout.splitlines()[-2]
    assert saved.startswith("saved editors' decisions on 3 items to ")
    assert result.stdout.splitlines()[-1] == f"removed: {feed} (2 episodes)"
    decisions = [json.loads(line) for line in Path(tmp_path / saved.split(" to ", 1)[1]).read_text().splitlines()]
    assert [(d["id"], d["status"], d["edited_text"], [c["name"] for c in d["collections"]]) for d in decisions] == [
        (first, "approved", None, ["best"]), (second, "pending", "Shorter.", []), (third, "pending", None, ["best"])]
    assert all(d["feed_url"] == feed and d["episode_guid"] and d["text"] for d in decisions)
    assert not any(p.exists() for p in files)
    assert db.execute("select count(*) from items").fetchone()[0] == 0
    result = podpipe(tmp_path, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_removing_a_feed_with_yes_does_not_ask(tmp_path, site):
    feed = write_feed(site, [("one", b"ID3" + os.urandom(500), None)])
    podpipe(tmp_path, "run", feed, "--stages", "ingest,download", "--silent", check=True)
    decisions = tmp_path / "kept.jsonl"
    result = podpipe(tmp_path, "feeds", "remove", feed, "--yes", "--decisions", decisions)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{feed}: 1 episode, 1 file, 0 items (0 approved, 0 rejected, 0 edited)",
                                          f"removed: {feed} (1 episodes)"]
    assert not decisions.exists()  # no decisions, no file
    assert [p for p in (tmp_path / "audio").rglob("*") if p.is_file()] == []
    assert podpipe(tmp_path, "check").returncode == 0


# --- 5: Ctrl-C or SIGTERM during downloads --------------------------------------------

def slow_audio(feed, started):
    """A handler: every path but the feed is 1 MiB of audio sent in 64 KiB chunks,
    20 ms apart; each GET is logged in ``started`` with its time."""
    def chunks():
        for _ in range(16):
            yield b"\xff" * 65536
            time.sleep(0.02)

    def handler(request):
        started.append((request.path, time.monotonic()))
        if request.path.endswith(".xml"):
            return Response(feed)
        return Response(chunks(), mimetype="audio/mpeg", headers={"Content-Length": str(16 * 65536)})

    return handler


@pytest.mark.parametrize("command", ["run", "download"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_downloads_is_prompt_and_records_every_finished_file(tmp_path, sig, command, httpserver):
    base = httpserver.url_for("/")
    feed = ("<rss version='2.0'><channel><title>Slow</title>" + "".join(
        f"<item><title>e{n}</title><guid>e{n}</guid><enclosure url='{base}e{n}.mp3' length='1048576' "
        f"type='audio/mpeg'/></item>" for n in range(12)) + "</channel></rss>")
    started = []
    httpserver.expect_request(re.compile(r"^/.*$")).respond_with_handler(slow_audio(feed, started))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PODPIPE_DB": str(tmp_path / "x.db")}
    if command == "run":
        argv = ["run", base + "feed.xml", "--stages", "ingest,download"]
    else:  # the download command on its own, after an ingest
        podpipe(tmp_path, "ingest", base + "feed.xml", check=True)
        argv = ["download"]
    job = subprocess.Popen(PODPIPE + argv + ["--silent", "--concurrency", "2"], env=env, cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    audio = tmp_path / "audio"
    deadline = time.monotonic() + 60
    while not [p for p in audio.rglob("*.mp3")] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # some files done, two in the middle
    stopped_at = time.monotonic()
    job.send_signal(sig)
    _, err = job.communicate(timeout=60)
    assert job.returncode == 130, err
    assert "interrupted; finished and saved" in err
    assert command == "run" or "download: what completed before the stop" in err
    assert "Traceback" not in err
    # nothing new is started once we are told to stop
    assert [path for path, at in started if at > stopped_at + 0.1] == []
    finished = sorted(p.name for p in audio.rglob("*.mp3"))
    assert 0 < len(finished) < 12
    db = sqlite3.connect(tmp_path / "x.db")
    known = sorted(Path(p).name for (p,) in db.execute("select audio_path from episodes where audio_path is not null"))
    assert known == finished
    problems = podpipe(tmp_path, "check").stdout
    assert "unknown file" not in problems
    # and the next run takes up where this one stopped
    result = podpipe(tmp_path, "run", "--stages", "download", "--silent")
    assert result.returncode == 0, result.stderr
    assert f"download: {12 - len(finished)} downloaded, 0 failed" in result.stdout
    assert podpipe(tmp_path, "check").returncode == 0


# --- 7: new audio under the same guid ----------------------------------------------

def test_new_audio_under_the_same_guid_is_transcribed_and_extracted_again(tmp_path, site):
    (source,) = lenny(1)
    words = source.read_text()
    feed = write_feed(site, [("ep", b"ID3" + os.urandom(3000), source)])
    podpipe(tmp_path, "run", feed, "--silent", check=True)
    db = sqlite3.connect(tmp_path / "x.db")
    items = db.execute("select id, text from items order by id").fetchall()
    (approved, kept_text), (edited, _), (dropped, dropped_text) = items[0], items[1], items[2]
    podpipe(tmp_path, "items", "approve", approved, check=True)
    podpipe(tmp_path, "items", "edit", edited, "--text", "Edited by an editor.", check=True)
    assert dropped_text in words and kept_text in words

    # the publisher replaces the audio (and its transcript: one sentence is gone)
    changed = tmp_path / "v2.md"
    changed.write_text(words.replace(dropped_text, "We talked about the weather for a while."))
    (site.folder / "ep.mp3").unlink()
    v2 = write_feed(site, [("ep", b"ID3" + os.urandom(4000), changed)]).replace("feed.xml", "")
    (site.folder / "feed.xml").write_text((site.folder / "feed.xml").read_text()
                                          .replace(f"{v2}ep.mp3", f"{v2}ep.mp3?v=2"))
    result = podpipe(tmp_path, "run", "--silent", check=True)
    assert "transcribe: 1 transcribed (1 publisher, 0 Whisper), 0 failed" in result.stdout
    assert db.execute("select status, audio_bytes from episodes").fetchone() == ("extracted", 4003)
    segments = " ".join(t for (t,) in db.execute("select text from segments"))
    assert "We talked about the weather for a while." in segments and dropped_text not in segments
    rows = {i: (status, edited_text) for i, status, edited_text in db.execute("select id, status, edited_text from items")}
    assert rows[approved] == ("approved", None)
    assert rows[edited] == ("pending", "Edited by an editor.")
    assert dropped not in rows
    (tid,) = db.execute("select id from transcripts").fetchone()
    assert {t for (t,) in db.execute("select distinct transcript_id from items")} == {tid}
    assert podpipe(tmp_path, "check").returncode == 0


# --- 8: diarizing a stored Whisper transcript ----------------------------------------

@pytest.mark.slow
def test_diarizing_a_stored_whisper_transcript_finds_both_voices_and_items(tmp_path):
    import json

    from pipeline.diarize import available

    if not available() or not shutil.which("espeak-ng") or not shutil.which("ffmpeg"):
        pytest.skip("needs the diarize extra, espeak-ng and ffmpeg")
    if not CORPUS.exists():
        pytest.skip("../shared/corpus is not beside the project")
    out = tmp_path / "corpus"
    build_corpus(out, out.as_uri() + "/", "--no-feed-transcripts", only="d01-corie-miller.yaml")
    podpipe(tmp_path, "run", out / "feed.xml", "--model", "tiny.en", "--silent", check=True)
    db = sqlite3.connect(tmp_path / "x.db")
    assert db.execute("select count(*) from items").fetchone() == (0,)  # no speakers, no items
    result = podpipe(tmp_path, "diarize", "--episode", 1, "--silent", check=True)
    speakers = json.loads(podpipe(tmp_path, "speakers", 1, "--json", check=True).stdout)
    assert sorted(r["name"] for r in speakers) == ["Corie Miller", "Sam Okafor"], result.stdout
    said = {s for (s,) in db.execute("select distinct speaker from segments")}
    assert said == {"Corie Miller", "Sam Okafor"}
    podpipe(tmp_path, "run", "--silent", check=True)
    assert db.execute("select count(*) from items where speaker = 'Corie Miller'").fetchone()[0] > 0
    assert podpipe(tmp_path, "check").returncode == 0

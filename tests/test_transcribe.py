import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, ROOT
from pipeline.cli import cli
from pipeline.download import download
from pipeline.feeds import ingest_feed
from pipeline.transcribe import transcribe
from pipeline.transcript_import import import_transcript

DEMO = ROOT / "feeds" / "demo"
LENNY = CORPUS / "lenny"


@pytest.fixture
def demo_db(tmp_path, db):
    """The bundled demo feed, ingested and downloaded into a temporary folder."""
    feed = tmp_path / "demo"
    shutil.copytree(DEMO, feed)
    ingest_feed(db, str(feed / "feed.xml"))
    assert download(db, audio_dir=tmp_path / "audio")["downloaded"] == 3
    return db


def words_of(db, episode_id):
    return " ".join(r["text"] for r in db.query(
        "select s.text from segments s join transcripts t on t.id = s.transcript_id "
        "where t.episode_id = ? order by s.idx", [episode_id])).lower()


@pytest.mark.slow
def test_demo_end_to_end_with_real_whisper(demo_db, tmp_path):
    db = demo_db
    out = tmp_path / "transcripts"
    result = transcribe(db, model="tiny.en", transcripts_dir=out)
    assert {k: result[k] for k in ("transcribed", "publisher", "whisper", "failed")} == {
        "transcribed": 3, "publisher": 1, "whisper": 2, "failed": 0}
    rows = list(db.query("select episode_id, source, engine, model from transcripts order by episode_id"))
    assert rows == [
        {"episode_id": 1, "source": "publisher", "engine": "publisher-vtt", "model": None},
        {"episode_id": 2, "source": "whisper", "engine": "faster-whisper", "model": "faster-whisper-tiny.en"},
        {"episode_id": 3, "source": "whisper", "engine": "faster-whisper", "model": "faster-whisper-tiny.en"},
    ]
    # the publisher VTT keeps its speaker names
    speakers = {r["speaker"] for r in db.query(
        "select distinct speaker from segments s join transcripts t on t.id = s.transcript_id "
        "where t.episode_id = 1")}
    assert speakers == {"Owen Hartley", "Corie Miller"}
    # real speech, recognised
    for word in ("welcome to the show", "roadmap", "customers"):
        assert word in words_of(db, 2)
    assert "welcome to the show" in words_of(db, 3)
    # files beside the database rows, and FTS kept in sync
    files = sorted(p.name for p in (out / "product-people-demo-interviews").iterdir())
    assert len(files) == 12 and not [f for f in files if f.endswith(".tmp")]
    vtt = (out / "product-people-demo-interviews" / "1-customers-and-the-business-with-corie-miller.vtt")
    assert "<v Corie Miller>" in vtt.read_text()
    hits = list(db.query("select rowid from segments_fts where segments_fts match 'customers'"))
    assert hits
    # nothing left to do: a second run changes nothing
    count = db["segments"].count
    assert transcribe(db, model="tiny.en", transcripts_dir=out)["transcribed"] == 0
    assert db["segments"].count == count
    assert {r["status"] for r in db.query("select status from episodes")} == {"transcribed"}


@pytest.mark.slow
def test_interrupted_transcription_leaves_nothing_half_done(demo_db, tmp_path):
    db = demo_db
    out = tmp_path / "transcripts"

    def interrupt(event, **fields):
        if event == "audio" and fields["done"] > 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transcribe(db, model="tiny.en", transcripts_dir=out, force_whisper=True, progress=interrupt)
    assert db["transcripts"].count == 0 and db["segments"].count == 0
    assert not out.exists() or not list(out.rglob("*"))
    result = transcribe(db, model="tiny.en", transcripts_dir=out, force_whisper=True)
    assert result["transcribed"] == 3
    assert db["transcripts"].count == 3
    assert db.execute("select count(*) from (select transcript_id, idx from segments "
                      "group by transcript_id, idx having count(*) > 1)").fetchone()[0] == 0


@pytest.mark.slow
def test_corrupt_audio_fails_that_episode_only(demo_db, tmp_path):
    db = demo_db
    bad = db["episodes"].get(2)["audio_path"]
    Path(bad).write_text("this is not audio")
    result = transcribe(db, model="tiny.en", transcripts_dir=tmp_path / "t", force_whisper=True)
    assert result["transcribed"] == 2 and result["failed"] == 1
    ep = db["episodes"].get(2)
    assert ep["status"] == "failed" and ep["error"].startswith("transcribe: ") and ep["attempts"] == 1
    assert "\n" not in ep["error"]


def test_publisher_transcript_prefers_vtt_with_speakers(tmp_path, db):
    from pipeline.transcribe import publisher_transcript

    feed = tmp_path / "demo"
    shutil.copytree(DEMO, feed)
    ingest_feed(db, str(feed / "feed.xml"))
    download(db, audio_dir=tmp_path / "audio")
    parsed = publisher_transcript(db, 1)
    assert parsed["format"] == "vtt"
    assert parsed["segments"][0]["speaker"] == "Owen Hartley"
    assert publisher_transcript(db, 2) is None


@pytest.mark.skipif(not LENNY.exists(), reason="../shared/corpus/lenny is not beside the project")
def test_import_the_real_transcripts(tmp_path, db):
    paths = sorted(LENNY.glob("*.md"))
    for path in paths:
        episode_id, created = import_transcript(db, path, transcripts_dir=tmp_path / "t")
        assert created
    assert db["episodes"].count == 40 and db["transcripts"].count == 40
    segments = db["segments"].count
    assert segments > 9000
    # every transcript keeps its speakers, and the guest from the front matter
    missing = db.execute("select count(*) from segments where speaker is null").fetchone()[0]
    assert missing == 0
    claire = next(db.query("select e.id from episodes e where e.title like 'Bending the universe%'"))
    people = list(db.query("select p.name, ep.role from episode_people ep join people p on p.id = ep.person_id "
                           "where ep.episode_id = ? order by ep.role", [claire["id"]]))
    # "Lenny" in this file is the same human as "Lenny Rachitsky" elsewhere: one person
    assert people == [{"name": "Claire Vo", "role": "guest"}, {"name": "Lenny Rachitsky", "role": "host"}]
    # importing again matches the same episodes and replaces, never duplicates
    for path in paths[:5]:
        assert import_transcript(db, path, transcripts_dir=tmp_path / "t")[1] is False
    assert db["episodes"].count == 40 and db["segments"].count == segments


def test_transcripts_cli(tmp_path):
    vtt = tmp_path / "talk.vtt"
    vtt.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<v Ann Lee>Ship small &amp; often.\n\n"
                   "00:00:03.000 --> 00:00:04.000\n<v Bo>Agreed.\n")
    db = str(tmp_path / "x.db")
    runner = CliRunner()
    result = runner.invoke(cli, ["transcripts", "import", str(vtt), "--db", db,
                                 "--transcripts-dir", str(tmp_path / "t")])
    assert result.output == f"imported: {vtt} -> episode 1 (new)\n"
    result = runner.invoke(cli, ["transcripts", "show", "1", "--db", db])
    assert result.output == "Ann Lee: Ship small & often.\n\nBo: Agreed.\n"
    result = runner.invoke(cli, ["transcripts", "show", "1", "--format", "json", "--db", db])
    assert json.loads(result.output)["segments"][0] == {
        "speaker": "Ann Lee", "startTime": 1.0, "endTime": 2.5, "body": "Ship small & often."}
    result = runner.invoke(cli, ["transcripts", "show", "7", "--db", db])
    assert result.exit_code == 1 and "episode 7 has no transcript" in result.output
    bad = tmp_path / "bad.vtt"
    bad.write_text("WEBVTT\n\nnot a cue at all --> nope\n")
    result = runner.invoke(cli, ["transcripts", "import", str(bad), "--db", db])
    assert result.exit_code == 1 and result.output.startswith(f"failed: {bad}: ")
    assert "Traceback" not in result.output


def test_an_imported_transcript_finds_its_episode_without_reading_every_episode(db):
    from pipeline.transcript_import import find_episode

    feeds = [db["feeds"].insert({"url": f"https://example.com/{f}.xml"}).last_pk for f in range(3)]
    db["episodes"].insert_all({"feed_id": feeds[i % 3], "guid": f"g{i}", "podcast_guid": f"pg{i}" if i % 2 else None,
                               "title": f"Talk {i}", "published": "2024-05-0%dT10:00:00+00:00" % (1 + i % 9)}
                              for i in range(300))
    statements = []
    db.conn.set_trace_callback(statements.append)
    assert find_episode(db, {"guid": "g7"}, "x.md") == 8
    assert find_episode(db, {"guid": "pg9"}, "x.md") == 10
    assert find_episode(db, {"title": "TALK 12", "date": "2024-05-04"}, "x.md") == 13
    assert find_episode(db, {"title": "Talk 12", "date": "2024-05-05"}, "x.md") is None
    db.conn.set_trace_callback(None)
    lookups = {s for s in statements if "from episodes" in s or "join episodes" in s}
    assert lookups
    for sql in lookups:
        plan = " ".join(row[3] for row in db.execute("explain query plan " + sql))
        assert "SCAN e " not in plan + " " and "SCAN episodes" not in plan, (sql, plan)

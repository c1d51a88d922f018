"""The pipeline from Python, without Click: pipeline.stages."""
import ast
import json
import shutil
from pathlib import Path

import pytest

from pipeline.db import open_db
from pipeline.stages import PIPELINE, Interrupted, StageResult, run_stages, stage_options
from pipeline.subscriptions import subscribe

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "feeds" / "demo"
PACKAGE = ROOT / "pipeline"


@pytest.fixture
def demo(tmp_path):
    shutil.copytree(DEMO, tmp_path / "demo")
    db = open_db(tmp_path / "p.db")
    options = {"feeds": subscribe(db, [str(tmp_path / "demo" / "feed.xml")]),
               "audio_dir": tmp_path / "audio", "transcripts_dir": tmp_path / "t"}
    return db, options


def runs(db):
    return [{**r, "counts": json.loads(r["counts"]), "errors": json.loads(r["errors"])}
            for r in db.query("select command, status, counts, errors from runs order by id")]


def test_the_whole_pipeline_from_python(demo):
    db, options = demo
    notes = []
    # episode 1 comes with the publisher's transcript, so no Whisper is needed
    results = run_stages(db, PIPELINE, [1], notify=notes.append, **options)
    assert results == [
        StageResult("ingest", {"new": 3, "updated": 0, "unchanged": 0, "not_modified": 0, "failed": 0}),
        StageResult("download", {"downloaded": 1, "failed": 0}),
        StageResult("transcribe", {"transcribed": 1, "publisher": 1, "whisper": 0, "failed": 0}),
        # the model: two quotes and a tip, three of the four lines of Corie Miller's on the
        # seed page ("You should, however, be willing to learn ..." scores 0.28, under the
        # tip threshold of 0.3)
        StageResult("extract", {"episodes": 1, "items": 3}),
        StageResult("embed", {"episodes": 1, "passages": 5, "items": 3, "duplicates": 0}),
        StageResult("link", {"episodes": 1, "items_linked": 0, "suggestions": 0}),
    ]
    assert notes == [f"ingested: {options['feeds'][0]}: 3 new, 0 updated, 0 unchanged"]
    assert runs(db) == [{"command": "run", "status": "ok", "counts": {r.stage: r.counts for r in results},
                         "errors": []}]
    assert [r["status"] for r in db.query("select status from episodes order by id")] == ["extracted", "new", "new"]
    # again: nothing left to do
    again = run_stages(db, ["download", "transcribe", "extract"], [1], **options)
    assert [r.counts for r in again] == [{"downloaded": 0, "failed": 0},
                                         {"transcribed": 0, "publisher": 0, "whisper": 0, "failed": 0},
                                         {"episodes": 0, "items": 0}]


def test_a_failed_episode_is_an_error_of_its_stage(demo, tmp_path):
    db, options = demo
    (tmp_path / "demo" / "audio" / "pp02-daniel-okoro.mp3").unlink()
    notes = []
    results = run_stages(db, ["ingest", "download"], notify=notes.append, **options)
    message = f"cannot read {tmp_path / 'demo' / 'audio' / 'pp02-daniel-okoro.mp3'}: No such file or directory"
    assert results[1] == StageResult("download", {"downloaded": 2, "failed": 1},
                                     [{"episode_id": 2, "error": message}])
    assert notes[-1] == f"failed: episode 2: {message}"
    assert runs(db)[0]["status"] == "partial"
    assert runs(db)[0]["errors"] == [{"stage": "download", "episode_id": 2, "error": message}]


def test_since_and_limit_reach_the_stages(demo):
    db, options = demo
    results = run_stages(db, ["ingest", "download", "transcribe", "extract"], since="2099-01-01", **options)
    assert [r.counts.get("downloaded", 0) for r in results] == [0, 0, 0, 0]
    results = run_stages(db, ["download"], limit=1, **options)
    assert results[0].counts == {"downloaded": 1, "failed": 0}


def test_an_interrupted_run_is_recorded_with_what_finished(demo):
    db, options = demo

    def stop(event, **fields):
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as caught:
        run_stages(db, ["ingest", "download"], progress=stop, **options)
    assert [r.stage for r in caught.value.results] == ["ingest"]
    assert runs(db)[0]["status"] == "interrupted"
    assert list(runs(db)[0]["counts"]) == ["ingest"]


def test_options_go_only_to_the_stages_that_take_them():
    options = {"limit": 2, "since": "2024-01-01", "model": "tiny.en", "audio_dir": "a", "feeds": ["1"], "x": 1}
    assert stage_options("download", options) == {"limit": 2, "since": "2024-01-01", "audio_dir": "a"}
    assert stage_options("transcribe", options) == {"limit": 2, "since": "2024-01-01", "model": "tiny.en"}
    assert stage_options("ingest", options) == {"feeds": ["1"]}
    assert stage_options("link", options) == {"since": "2024-01-01"}
    with pytest.raises(ValueError, match="unknown stage 'transcode'"):
        run_stages(None, ["transcode"])


def imports_of(path):
    """The pipeline modules a module imports, anywhere in it (lazy imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found - {"__init__"}


def test_no_import_cycles_and_the_library_never_imports_the_cli():
    graph = {p.stem: imports_of(p) for p in PACKAGE.glob("*.py")}
    assert [name for name, deps in graph.items() if "cli" in deps] == []

    def reaches(start, target, seen):
        for dep in graph.get(start, ()):
            if dep == target or (dep not in seen and reaches(dep, target, seen | {dep})):
                return True
        return False

    assert [name for name in graph if reaches(name, name, {name})] == []


def test_removing_a_feed_follows_the_schema(demo):
    from pipeline.subscriptions import remove_feed

    db, options = demo
    run_stages(db, PIPELINE, [1], **options)
    db["collections"].insert({"id": 1, "name": "keep"})
    db["collection_items"].insert({"collection_id": 1, "item_id": db.execute("select min(id) from items").fetchone()[0]})
    db["speaker_labels"].insert({"episode_id": 1, "label": "SPEAKER_0"})
    db["voiceprints"].insert({"feed_id": 1, "person_id": db.execute("select min(id) from people").fetchone()[0]})
    kept = {t: db[t].count for t in ("people", "roles", "collections", "runs")}
    assert remove_feed(db, db["feeds"].get(1)) == 3
    tables = [t for t in db.table_names() if "_fts" not in t and t != "_sqlite_migrations"]
    assert {t: db[t].count for t in tables if db[t].count} == kept
    assert list(db.execute("pragma foreign_key_check")) == []

"""Importing many transcripts in batches: one transaction and one flush of the
files per batch, and a kill leaves whole batches (skipped without ../shared)."""
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT
from pipeline.db import open_db
from pipeline.transcript_import import import_transcripts

LENNY = CORPUS / "lenny"
pytestmark = pytest.mark.skipif(not LENNY.is_dir(), reason="the shared corpus is not here")


def counts(db_path):
    db = open_db(db_path)
    return (db.execute("select count(*) from transcripts").fetchone()[0],
            db.execute("select count(*) from segments").fetchone()[0],
            db.execute("select count(*) from episodes").fetchone()[0])


def test_a_bad_file_in_a_batch_is_skipped_and_the_rest_imported(tmp_path, db_path):
    good = sorted(LENNY.glob("*.md"))[:3]
    bad = tmp_path / "bad.vtt"
    bad.write_text("WEBVTT\n\nnot a cue at all --> nope\n")
    results = list(import_transcripts(open_db(db_path), [good[0], bad, good[1], good[2]],
                                      transcripts_dir=tmp_path / "t", batch_size=2))
    assert [(r[0], r[1], r[2]) for r in results] == [(good[0], 1, True), (bad, None, False),
                                                     (good[1], 2, True), (good[2], 3, True)]
    assert isinstance(results[1][3], str) and results[1][3]  # the reason, for the user
    assert counts(db_path)[0] == 3
    assert len(list((tmp_path / "t").rglob("*.json"))) == 3



def test_a_file_that_cannot_be_written_skips_its_transcript_and_no_row_points_at_a_missing_file(tmp_path, db_path):
    # a batch's files are written at its end; when one fails, the batch is imported again with each
    # transcript's files written inside its own savepoint, so a failed write leaves no rows for it alone
    files = sorted(LENNY.glob("*.md"))[:3]
    scratch = open_db(tmp_path / "scratch.db")
    list(import_transcripts(scratch, files, transcripts_dir=tmp_path / "scratch"))
    (path,) = scratch.execute("select path from transcripts where episode_id = 2").fetchone()
    blocked = tmp_path / "t" / Path(path).relative_to(tmp_path / "scratch")
    blocked.mkdir(parents=True)  # a folder where the second transcript's JSON goes: the rename fails
    db = open_db(db_path)
    results = list(import_transcripts(db, files, transcripts_dir=tmp_path / "t"))
    assert [(r[0], r[1]) for r in results] == [(files[0], 1), (files[1], None), (files[2], 2)]
    assert results[1][3]
    others = scratch.execute("select count(*) from segments s join transcripts t on t.id = s.transcript_id "
                             "where t.episode_id != 2").fetchone()[0]
    assert counts(db_path) == (2, others, 2)
    assert not db.execute("select count(*) from episode_people where episode_id > 2").fetchone()[0]
    for (stored,) in db.execute("select path from transcripts"):
        assert all(Path(stored).with_suffix(f".{fmt}").is_file() for fmt in ("json", "vtt", "srt", "txt"))
    assert not list((tmp_path / "t").rglob("*.tmp"))

KILLED_IMPORT = """
import sys
from pipeline.db import open_db
from pipeline.transcript_import import import_transcripts
db = open_db(sys.argv[1])
for path, *_ in import_transcripts(db, sys.argv[3:], transcripts_dir=sys.argv[2], batch_size=5):
    print(path, flush=True)
"""


def test_a_killed_import_leaves_whole_batches_and_a_rerun_finishes_it(tmp_path, db_path):
    files = [str(p) for p in sorted(LENNY.glob("*.md"))[:20]]
    proc = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, str(db_path), str(tmp_path / "t"), *files],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    proc.stdout.readline()  # the first batch has committed
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    transcripts, segments, episodes = counts(db_path)
    assert transcripts % 5 == 0 and 5 <= transcripts < 20 and episodes == transcripts
    list(import_transcripts(open_db(db_path), files, transcripts_dir=tmp_path / "t", batch_size=5))
    clean = tmp_path / "clean.db"
    list(import_transcripts(open_db(clean), files, transcripts_dir=tmp_path / "t2", batch_size=20))
    assert counts(db_path) == counts(clean)
    assert len(list((tmp_path / "t").rglob("*.vtt"))) == 20


def test_a_transcript_replaced_within_its_batch_leaves_the_full_text_index_whole(tmp_path, db_path):
    # the batch indexes its segments at the end; the one replaced must be indexed before its rows go
    one, two = sorted(LENNY.glob("*.md"))[:2]
    db = open_db(db_path)
    results = list(import_transcripts(db, [one, two, one], transcripts_dir=tmp_path / "t"))
    assert [(r[1], r[2]) for r in results] == [(1, True), (2, True), (1, False)]
    db.execute("insert into segments_fts (segments_fts, rank) values ('integrity-check', 1)")
    assert db.execute("select count(*) from segments_fts_docsize").fetchone()[0] == \
        db.execute("select count(*) from segments").fetchone()[0]
    assert db.execute("select count(*) from sqlite_master where name = 'segments_ai'").fetchone()[0] == 1
    text = db.execute("select text from segments order by id desc limit 1").fetchone()[0]
    word = max(text.split(), key=len).strip(".,?!\"'")
    assert db.execute("select count(*) from segments_fts where segments_fts match ?", [f'"{word}"']).fetchone()[0]


def test_an_error_that_stops_a_batch_leaves_the_insert_trigger_and_no_rows(tmp_path, db_path, monkeypatch):
    # the batch drops the full-text trigger inside its transaction: the rollback must bring it back
    import pipeline.transcript_import as transcript_import
    files = sorted(LENNY.glob("*.md"))[:3]
    parse = transcript_import.formats.parse

    def parse_then_fail(data, **kwargs):
        if kwargs.get("filename") == str(files[2]):
            raise RuntimeError("disk on fire")
        return parse(data, **kwargs)

    monkeypatch.setattr(transcript_import.formats, "parse", parse_then_fail)
    db = open_db(db_path)
    with pytest.raises(RuntimeError):
        list(import_transcripts(db, files, transcripts_dir=tmp_path / "t"))
    assert counts(db_path) == (0, 0, 0)
    assert db.execute("select count(*) from sqlite_master where name = 'segments_ai'").fetchone()[0] == 1
    monkeypatch.setattr(transcript_import.formats, "parse", parse)
    list(import_transcripts(db, files[:1], transcripts_dir=tmp_path / "t"))
    assert db.execute("select count(*) from segments_fts_docsize").fetchone()[0] == counts(db_path)[1] > 0

"""Stored transcripts: the transcripts and segments rows of an episode and
the files beside them (json, vtt, srt, txt), saved and replaced together.

Every stage that writes a transcript (transcribe, diarize, an editor's
speaker correction, transcript import) goes through here.
"""
import concurrent.futures
import contextlib
import json
import os
import sqlite3
from pathlib import Path

from . import transcript_formats as formats
from .db import utcnow
from .files import atomic_write, feed_slug
from .text import slugify

FILE_FORMATS = ("json", "vtt", "srt", "txt")


def transcript_stem(transcripts_dir, episode):
    """The path of an episode's transcript files, without the suffix."""
    folder = feed_slug(episode.get("feed_title"), episode["feed_id"])
    return Path(transcripts_dir) / folder / f"{episode['id']}-{slugify(episode['title'] or '', 50) or 'episode'}"


def write_files(stem, segments, sync=True):
    """Write json, vtt, srt and txt files beside each other, each atomically;
    sync=False leaves making them durable to the caller (see transcript_batch)."""
    for fmt, text in formats.write_all(segments, FILE_FORMATS).items():
        atomic_write(stem.with_suffix(f".{fmt}"), text, sync=sync)


def rewrite_files(transcript, segments):
    """Write a stored transcript's files again (after its speakers changed)."""
    if transcript.get("path"):
        write_files(Path(transcript["path"]).with_suffix(""), segments)


SEGMENT_COLUMNS = ("start", "end", "text", "speaker", "speaker_confidence", "speaker_method", "speaker_label",
                   "words")  # words last (see replace_segments)


# bound parameters one statement may have (SQLite before 3.32 allowed 999)
MAX_PARAMS = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def replace_segments(db, transcript_id, segments):
    """Replace a transcript's segments rows (call inside a transaction).

    The rows go in as multi-row INSERTs of a few thousand rows each, not a
    statement per row: the full-text index's trigger costs about three times as
    much per statement as within one (a transcript import spent most of its time
    there). This was an INSERT ... SELECT over a JSON array; plain bound values
    are a tenth cheaper.
    """
    db.execute("delete from segments where transcript_id = ?", [transcript_id])
    # A column that no segment has a key for is left to its default, NULL: an
    # imported transcript has no confidences, methods, labels or words, and
    # binding those Nones cost as much as SQLite's whole work on the row.
    keys, null_by_default = set().union(*segments), _null_by_default(db)
    columns = [c for c in SEGMENT_COLUMNS if c in keys or c not in null_by_default]
    plain = [c for c in columns if c != "words"]  # words go in as JSON, last
    rows = [(transcript_id, idx, *[s.get(c) for c in plain]) for idx, s in enumerate(segments)]
    if "words" in columns:
        rows = [(*row, json.dumps(s["words"]) if s.get("words") else None) for row, s in zip(rows, segments)]
    width = len(columns) + 2
    per = MAX_PARAMS // width
    head = f"insert into segments (transcript_id, idx, {', '.join(f'[{c}]' for c in columns)}) values "
    one = "(" + ",".join("?" * width) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start:start + per]
        db.execute(head + ",".join([one] * len(chunk)), [v for row in chunk for v in row])


def _null_by_default(db):
    """The segments columns whose default is NULL."""
    return {row[1] for row in db.execute("pragma table_info(segments)") if row[4] is None}


class _Batch:
    """What the save_transcript calls of a batch leave to its end (see transcript_batch):
    their segments' full-text indexing and their files."""

    def __init__(self, db, index, defer_files):
        self.db, self.index, self.defer_files, self.pending, self.files = db, index, defer_files, set(), []

    def add(self, transcript_id):
        if self.index:
            self.pending.add(transcript_id)

    def flush(self):
        """Index the pending transcripts' segments (one statement for a batch)."""
        if not self.pending:
            return
        ids = sorted(self.pending)
        for start in range(0, len(ids), MAX_PARAMS):
            chunk = ids[start:start + MAX_PARAMS]
            self.db.execute("insert into segments_fts (rowid, text, speaker) select id, text, speaker from segments "
                            f"where transcript_id in ({','.join('?' * len(chunk))})", chunk)
        self.pending.clear()

    def finish(self):
        """Write the files and make them durable, while the segments are indexed.

        Formatting the files is Python and holds the GIL; SQLite releases it while
        it indexes, so the two share the batch's end instead of taking turns."""
        def write():
            for stem, segments in self.files:  # in order: a transcript saved twice ends as the later one
                write_files(stem, segments, sync=False)
            os.sync()  # one flush for all (sync(2) returns when the data is on disk, on Linux)

        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="podpipe-files") as pool:
            written = pool.submit(write)
            self.flush()
            written.result()  # an error writing a file fails the batch: its transaction rolls back


@contextlib.contextmanager
def transcript_batch(db, defer_files=True):
    """A transaction (or savepoint) for many save_transcript(..., batch=...) calls,
    which leave their files and their segments' full-text indexing to its end.
    (defer_files=False: each call writes its files, unsynced, when it is made.)

    Indexing: FTS5 writes its pending terms out as a new index segment at each
    statement's savepoint and merges those segments as they pile up: with the
    trigger, or an INSERT ... SELECT per transcript, an import's indexing cost
    about twice an FTS rebuild; one INSERT ... SELECT per batch costs what a
    rebuild does. The trigger is dropped inside the transaction and created again
    before it ends, so other connections never see it missing and a kill or an
    error rolls both back.

    Files: written at the end, before the commit, and made durable by one flush
    instead of an fsync each (four files a transcript): a kill leaves the batch
    wholly stored or not at all, and rows never point at files not on disk.
    """
    with db.atomic():
        row = db.execute("select sql from sqlite_master where type = 'trigger' and name = 'segments_ai'").fetchone()
        if row:
            db.execute("drop trigger segments_ai")
        batch = _Batch(db, index=bool(row), defer_files=defer_files)
        yield batch
        batch.finish()
        if row:
            db.execute(row[0])


def save_transcript(db, episode, segments, *, source, engine=None, model=None, language=None,
                    audio_duration=None, processing_s=None, transcripts_dir="transcripts", batch=None):
    """Store a transcript (replacing any earlier one) and its files. Returns its id.

    Files are written first and the rows in one transaction after, so a kill
    leaves either the old transcript or the new one, never half of one.
    batch: from transcript_batch, whose transaction this call is in and which
    writes the files at its end.
    """
    stem = transcript_stem(transcripts_dir, episode)
    if batch and batch.defer_files:
        batch.files.append((stem, segments))
    else:
        write_files(stem, segments, sync=not batch)
    with db.atomic():
        old = [r[0] for r in db.execute("select id from transcripts where episode_id = ?", [episode["id"]])]
        if batch and batch.pending.intersection(old):
            batch.flush()  # one saved earlier in this batch is replaced: its rows' delete trigger needs them indexed
        for tid in old:
            db.execute("delete from segments where transcript_id = ?", [tid])
        # plain SQL here, not sqlite-utils' table methods: each of those reads the
        # table's schema first, a tenth of a transcript import
        transcript_id = db.execute(
            "insert into transcripts (episode_id, source, engine, model, language, audio_duration, processing_s, "
            "path, created) values (null, ?, ?, ?, ?, ?, ?, ?, ?)",
            [source, engine, model, language, audio_duration, processing_s, str(stem.with_suffix(".json")),
             utcnow()]).lastrowid
        # the episode's items (and editors' decisions on them) move to the new
        # transcript; extraction then keeps those whose words are unchanged
        for tid in old:
            db.execute("update items set transcript_id = ? where transcript_id = ?", [transcript_id, tid])
            db.execute("delete from transcripts where id = ?", [tid])
        db.execute("update transcripts set episode_id = ? where id = ?", [episode["id"], transcript_id])
        replace_segments(db, transcript_id, segments)
        if batch:
            batch.add(transcript_id)
        db.execute("update episodes set status = 'transcribed', error = null, attempts = 0, updated = ? "
                   "where id = ?", [utcnow(), episode["id"]])
    return transcript_id


def transcript_of(db, episode_id):
    """An episode's transcripts row ({id, path, source, ...}), or None."""
    rows = list(db.query("select * from transcripts where episode_id = ?", [episode_id]))
    return rows[0] if rows else None


def segments_of(db, transcript_id, columns="start, end, text, speaker"):
    """A transcript's segments in order, as dicts of ``columns``."""
    return list(db.query(f"select {columns} from segments where transcript_id = ? order by idx", [transcript_id]))


def segments_around(db, transcript_id, segment_ids, lines=3):
    """The segments of a transcript from ``lines`` before the first of segment_ids
    to ``lines`` after the last, in order, each with ``own`` set when it is one of them."""
    ids = [int(i) for i in segment_ids or []]
    if transcript_id is None or not ids:
        return []
    marks = ",".join("?" * len(ids))
    first, last = db.execute(f"select min(idx), max(idx) from segments where id in ({marks})", ids).fetchone()
    if first is None:
        return []
    rows = db.query('select id, idx, start, "end", speaker, text from segments where transcript_id = ? '
                    "and idx between ? and ? order by idx", [transcript_id, first - lines, last + lines])
    return [dict(row, own=row["id"] in ids) for row in rows]

"""Keeping a database healthy: one writer at a time, backups, checks, and
cleaning up what a killed run left behind."""
import fcntl
import os
import sqlite3
import time
from pathlib import Path

from .errors import PodpipeError
from .files import TEMP_FILE, atomic_path, feed_slug


class LockedError(PodpipeError):
    """Another podpipe process holds the lock on this database."""


class Lock:
    """An exclusive lock beside the database (``DB.lock``), held for a job.

    flock is released by the kernel when the process dies, even by SIGKILL,
    so a crashed run never leaves a stale lock behind.
    """

    def __init__(self, db_path, wait=0.0):
        self.path = Path(f"{db_path}.lock")
        self.wait = wait
        self.fd = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
                    os.close(self.fd)
                    raise LockedError(f"another podpipe job (pid {holder}) is working on this database; "
                                      "try again when it has finished, or pass --wait SECONDS") from None
                time.sleep(0.2)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False


def backup(db, dest):
    """Copy the live database with SQLite's online backup, atomically."""
    dest = Path(dest)
    if dest.is_dir():
        raise OSError(f"{dest} is a folder; give a file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        target = sqlite3.connect(tmp)
        try:
            db.conn.backup(target)
        finally:
            target.close()
    return dest.stat().st_size


def temp_files(*folders):
    for folder in folders:
        folder = Path(folder)
        if folder.is_dir():
            yield from (p for p in folder.rglob("*") if p.is_file() and TEMP_FILE.search(p.name))


def clean_temp_files(db, audio_dir, transcripts_dir):
    """Remove temp files a killed run left. Call only while holding the Lock.

    A .part download whose episode still needs its audio is kept: the next
    download resumes it.
    """
    wanted = set()
    for part in _pending_part_names(db):
        wanted.update({part.name, f".{part.name}.url"})
    removed = []
    for path in temp_files(audio_dir, transcripts_dir):
        if path.name in wanted:
            continue
        path.unlink(missing_ok=True)
        removed.append(str(path))
    return removed


def _pending_part_names(db):
    from .download import audio_dest

    for ep in db.query("select e.id, e.title, e.enclosure_url, e.enclosure_type, e.feed_id, f.title as feed_title "
                       "from episodes e join feeds f on f.id = e.feed_id "
                       "where e.audio_path is null and e.enclosure_url is not null"):
        dest = audio_dest("", feed_slug(ep["feed_title"], ep["feed_id"]), ep)
        yield dest.with_name(dest.name + ".part")


def check(db, audio_dir, transcripts_dir):
    """Problems with the database and the files it names: a list of strings."""
    problems = []
    for (result,) in db.execute("pragma integrity_check"):
        if result != "ok":
            problems.append(f"integrity: {result}")
    for row in db.execute("pragma foreign_key_check"):
        problems.append(f"foreign key: {row[0]} row {row[1]} points at a missing {row[2]}")
    named = set()
    for table, column in (("episodes", "audio_path"), ("transcripts", "path"), ("episode_transcript_links", "path")):
        for (path,) in db.execute(f"select {column} from {table} where {column} is not null"):
            named.add(os.path.abspath(path))
            if not os.path.exists(path):
                problems.append(f"missing file: {path} (named in {table}.{column})")
    for (path,) in db.execute("select path from transcripts where path is not null"):
        stem = os.path.abspath(path)[: -len(".json")]
        named.update(f"{stem}.{ext}" for ext in ("vtt", "srt", "txt"))
    for folder in (audio_dir, transcripts_dir):
        if Path(folder).is_dir():
            for path in sorted(Path(folder).rglob("*")):
                if not path.is_file() or path.name == ".gitkeep" or os.path.abspath(path) in named:
                    continue
                if TEMP_FILE.search(path.name):
                    problems.append(f"temp file: {path} (left by an interrupted job; 'podpipe run' "
                                    "resumes or removes it)")
                else:
                    problems.append(f"unknown file: {path} (not named in the database)")
    return problems


def content_summary(db):
    """What a pipeline database holds, without ids, timestamps or paths: two
    databases that did the same work compare equal, however often killed."""
    return {
        "episodes": sorted((r["guid"], r["status"], r["audio_sha256"]) for r in db.query(
            "select guid, status, audio_sha256 from episodes")),
        "segments": sorted((r["guid"], r["n"], r["chars"]) for r in db.query(
            "select e.guid, count(s.id) as n, sum(length(s.text)) as chars from episodes e "
            "join transcripts t on t.episode_id = e.id join segments s on s.transcript_id = t.id group by e.id")),
        "items": sorted((r["guid"], r["kind"], r["text"], r["person"]) for r in db.query(
            "select e.guid, i.kind, i.text, p.name as person from items i join episodes e on e.id = i.episode_id "
            "left join people p on p.id = i.person_id")),
        "people": sorted(r["name"] for r in db.query("select name from people")),
        "duplicate_items": db.execute("select count(*) - count(distinct dedup_key) from items").fetchone()[0],
        "duplicate_segments": db.execute("select count(*) from (select 1 from segments "
                                         "group by transcript_id, idx having count(*) > 1)").fetchone()[0],
    }

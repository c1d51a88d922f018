"""The database: opening it, its schema as ordered migrations, and the
rerunnable extras (FTS, triggers, indexes, views) in ``ensure_db_shape``.

Every table the pipeline uses is defined here and nowhere else.
"""
import contextlib
import datetime
import functools
import os
import sqlite3
import sys
import threading
from pathlib import Path

# sqlite_utils is imported where a database is opened for writing, not here: with its
# plugin scan and numpy it is two thirds of podpipe's start-up, which a search or
# --help need not pay (see open_for_reading).

DEFAULT_DB = "db/podpipe.db"


def utcnow():
    """Current UTC time as an ISO 8601 string with seconds."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def resolve_db_path(path=None, config=None):
    """The database file to use: ``path``, else the configuration's (from
    ``config.load_config``: podpipe.toml or $PODPIPE_DB), else $PODPIPE_DB,
    else db/podpipe.db. The one place that decides it."""
    configured = (config or {}).get("db", (None, None))[0]
    return str(path or configured or os.environ.get("PODPIPE_DB") or DEFAULT_DB)


@functools.cache
def _sqlite_utils():
    """sqlite_utils, imported without numpy.

    sqlite-utils imports numpy whenever it is installed (the extract extra
    installs it), only to map numpy scalar types to column types; that is 110
    ms of every command that writes, and a third of a download run. We never
    hand sqlite-utils numpy values (vectors are stored as bytes, ids as ints),
    so unless numpy is already loaded we hide it while sqlite-utils imports:
    only while this is the process's one thread, as another thread's own numpy
    import would fail in that moment.
    """
    if "sqlite_utils" not in sys.modules and "numpy" not in sys.modules and threading.active_count() == 1:
        sys.modules["numpy"] = None  # `import numpy` raises ImportError until removed
        try:
            import sqlite_utils
        finally:
            del sys.modules["numpy"]
    import sqlite_utils
    return sqlite_utils


@functools.cache
def _database_class():
    # made on first use, so that importing this module does not import sqlite-utils
    sqlite_utils = _sqlite_utils()

    class Database(sqlite_utils.Database):
        """sqlite-utils' Database whose transactions take the write lock at BEGIN.

        A deferred BEGIN that reads and then writes must upgrade its lock, and
        when another connection (an editor's click, a running job) wrote in
        between, SQLite fails at once with "database is locked" without waiting
        for the busy timeout. BEGIN IMMEDIATE waits there instead, so a job and
        editors on the same database take turns.
        """

        @contextlib.contextmanager
        def atomic(self):
            if self.conn.in_transaction:
                with super().atomic():  # nested: a savepoint, as sqlite-utils does
                    yield self
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.rollback()
                raise
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise

    return Database


def __getattr__(name):
    if name == "Database":  # db.Database, made when first asked for
        return _database_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_db(path=None, *, read_only=False):
    """Open (creating and migrating if needed) the pipeline database."""
    sqlite_utils = _sqlite_utils()

    path = resolve_db_path(path)
    if read_only:
        if not Path(path).exists():
            raise FileNotFoundError(f"no database at {path}")
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        return sqlite_utils.Database(conn)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: a statement outside db.atomic() commits at once,
    # so no implicit transaction is ever left open by accident.
    db = _database_class()(sqlite3.connect(path, timeout=30, isolation_level=None))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    migrations.apply(db)
    ensure_db_shape(db)
    return db


def insert_many(db, table, rows, *, or_ignore=False):
    """Insert dicts with one executemany: sqlite-utils' inserts (a type check and a
    JSON test per value) cost more than SQLite does for big feeds and transcripts.
    The keys of the first row are the columns."""
    rows = list(rows)
    if not rows:
        return
    columns = list(rows[0])
    sql = (f"insert {'or ignore ' if or_ignore else ''}into [{table}] "
           f"({', '.join(f'[{c}]' for c in columns)}) values ({', '.join('?' * len(columns))})")
    db.conn.executemany(sql, [[r[c] for c in columns] for r in rows])


class ReadDatabase:
    """A database opened only to read: ``execute`` and ``query`` as sqlite_utils.Database
    has them, on a plain connection, so a search starts without importing sqlite-utils."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, parameters=()):
        return self.conn.execute(sql, parameters)

    def query(self, sql, params=()):
        cursor = self.conn.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(keys, row))


def open_for_reading(path=None):
    """The database for a command that only reads: a plain connection when every
    migration has run, else the full ``open_db`` (which migrates first)."""
    path = resolve_db_path(path)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    try:
        done = {r[0] for r in conn.execute("select name from _sqlite_migrations where migration_set = ?",
                                           [migrations.name])}
    except sqlite3.DatabaseError:
        done = set()
    if set(migrations.names()) <= done:
        return ReadDatabase(conn)
    conn.close()
    return open_db(path)


# --- migrations -------------------------------------------------------------
# Each migration runs once, in order, in a transaction, and is recorded in the
# _sqlite_migrations table. Never edit one that has shipped: add a new one.

class _Migrations:
    """Collects the migrations as sqlite_utils.Migrations does, and makes one of those
    only when they are applied, so that defining them imports nothing."""

    def __init__(self, name):
        self.name = name
        self.registered = []

    def __call__(self, **options):
        def register(fn):
            self.registered.append((fn, options))
            return fn
        return register

    def names(self):
        return [options.get("name") or fn.__name__ for fn, options in self.registered]

    def apply(self, db):
        sqlite_utils = _sqlite_utils()

        applied = sqlite_utils.Migrations(self.name)
        for fn, options in self.registered:
            applied(**options)(fn)
        applied.apply(db)


migrations = _Migrations("podpipe")


@migrations()
def m001_feeds_and_episodes(db):
    db["feeds"].create({
        "id": int, "url": str, "title": str, "author": str, "description": str,
        "image": str, "link": str, "language": str, "podcast_guid": str,
        "etag": str, "last_modified": str, "content_sha256": str,
        "last_fetched": str, "last_error": str, "added": str,
    }, pk="id", not_null={"url"})
    db["feeds"].create_index(["url"], unique=True)
    db["episodes"].create({
        "id": int, "feed_id": int, "guid": str, "podcast_guid": str, "title": str,
        "description": str, "link": str, "published": str, "duration_s": float,
        "season": int, "episode": int, "episode_type": str, "explicit": int, "image": str,
        "enclosure_url": str, "enclosure_type": str, "enclosure_length": int,
        "audio_path": str, "audio_sha256": str, "audio_bytes": int,
        "fingerprint": str, "status": str, "error": str, "attempts": int,
        "first_seen": str, "updated": str,
    }, pk="id", foreign_keys=[("feed_id", "feeds", "id")], not_null={"guid"},
        defaults={"status": "new", "attempts": 0})
    db["episodes"].create_index(["feed_id", "guid"], unique=True)
    db["episodes"].create_index(["status"])
    db["roles"].create({
        "id": int, "name": str, "definition": str, "works_with": str,
        "responsibilities": str, "adjacent_roles": str,
    }, pk="id", not_null={"name"})
    db["roles"].create_index(["name"], unique=True)
    db["people"].create({
        "id": int, "slug": str, "name": str, "aliases": str, "title": str, "role_id": int,
        "organization": str, "organization_description": str, "location": str,
        "education": str, "background": str, "links": str, "href": str, "img": str,
    }, pk="id", foreign_keys=[("role_id", "roles", "id")], not_null={"slug", "name"})
    db["people"].create_index(["slug"], unique=True)
    db["episode_people"].create({
        "episode_id": int, "person_id": int, "role": str, "group": str,
    }, pk=("episode_id", "person_id", "role"),
        foreign_keys=[("episode_id", "episodes", "id"), ("person_id", "people", "id")])
    db["episode_transcript_links"].create({
        "episode_id": int, "url": str, "type": str, "language": str, "rel": str,
        "path": str, "sha256": str, "error": str,
    }, pk=("episode_id", "url"), foreign_keys=[("episode_id", "episodes", "id")])
    db["chapters"].create({
        "episode_id": int, "url": str, "type": str,
    }, pk=("episode_id", "url"), foreign_keys=[("episode_id", "episodes", "id")])
    db["soundbites"].create({
        "episode_id": int, "start": float, "duration": float, "title": str,
    }, pk=("episode_id", "start", "duration"), foreign_keys=[("episode_id", "episodes", "id")])
    db["runs"].create({
        "id": int, "command": str, "options": str, "started": str, "finished": str,
        "status": str, "pid": int, "counts": str, "errors": str,
    }, pk="id")


@migrations()
def m002_transcripts(db):
    db["transcripts"].create({
        "id": int, "episode_id": int, "source": str, "engine": str, "model": str,
        "language": str, "audio_duration": float, "processing_s": float,
        "path": str, "created": str,
    }, pk="id", foreign_keys=[("episode_id", "episodes", "id")])
    db["transcripts"].create_index(["episode_id"], unique=True)
    db["segments"].create({
        "id": int, "transcript_id": int, "idx": int, "start": float, "end": float,
        "text": str, "speaker": str, "speaker_confidence": float, "speaker_method": str,
        "words": str,
    }, pk="id", foreign_keys=[("transcript_id", "transcripts", "id")])
    db["segments"].create_index(["transcript_id", "idx"], unique=True)


@migrations()
def m003_items_and_collections(db):
    db["items"].create({
        "id": int, "kind": str, "text": str, "edited_text": str, "episode_id": int, "transcript_id": int,
        "speaker": str, "person_id": int, "start": float, "end": float, "segment_ids": str,
        "score": float, "features": str, "topics": str, "source": str, "transcript_source": str,
        "model": str, "extractor_version": str, "status": str, "dedup_key": str,
        "created": str, "updated": str, "reviewed": str,
    }, pk="id", not_null={"kind", "text", "dedup_key"}, defaults={"status": "pending"},
        foreign_keys=[("episode_id", "episodes", "id"), ("transcript_id", "transcripts", "id"),
                      ("person_id", "people", "id")])
    db["items"].create_index(["dedup_key"], unique=True)
    db["items"].create_index(["episode_id"])
    db["items"].create_index(["person_id"])
    db["items"].create_index(["status"])
    db["item_topics"].create({"item_id": int, "topic": str}, pk=("item_id", "topic"),
                             foreign_keys=[("item_id", "items", "id")])
    db["item_topics"].create_index(["topic"])
    db["person_matches"].create({
        "id": int, "episode_id": int, "label": str, "person_id": int, "score": float,
        "method": str, "status": str, "created": str,
    }, pk="id", foreign_keys=[("episode_id", "episodes", "id"), ("person_id", "people", "id")],
        defaults={"status": "pending"})
    db["person_matches"].create_index(["episode_id", "label", "person_id"], unique=True)
    db["collections"].create({"id": int, "name": str, "description": str, "created": str},
                             pk="id", not_null={"name"})
    db["collections"].create_index(["name"], unique=True)
    db["collection_items"].create({
        "collection_id": int, "item_id": int, "position": int, "note": str, "added": str,
    }, pk=("collection_id", "item_id"),
        foreign_keys=[("collection_id", "collections", "id"), ("item_id", "items", "id")])


@migrations()
def m005_speakers(db):
    # Which diarized voice a segment came from ("SPEAKER_1"), so that naming
    # and an editor's correction apply to every segment of that voice.
    db["segments"].add_column("speaker_label", str)
    # One row per voice per episode: who we think it is, how sure, and why.
    # No foreign key to episodes (LOOSE_REFERENCES below says where it points).
    db["speaker_labels"].create({
        "episode_id": int, "label": str, "person_id": int, "name": str, "confidence": float,
        "method": str, "seconds": float, "embedding": bytes, "edited": int, "updated": str,
    }, pk=("episode_id", "label"), foreign_keys=[("person_id", "people", "id")], defaults={"edited": 0})
    # A host's voice, averaged over the episodes of one feed where we knew it was them.
    db["voiceprints"].create({
        "feed_id": int, "person_id": int, "embedding": bytes, "model": str, "episodes": str,
        "seconds": float, "updated": str,
    }, pk=("feed_id", "person_id"), foreign_keys=[("person_id", "people", "id")])


@migrations()
def m006_people_history(db):
    # Every title a description gave a person, past and current, as JSON:
    # [{"title", "organization", "tense", "episode_id"}]; the current one is people.title.
    db["people"].add_column("history", str)



@migrations()
def m007_desk_queue(db):
    # The desk's queue (pending items, never-seen first, best first) read in index order:
    # the first page costs the same with a hundred items or a hundred thousand.
    db.execute("create index if not exists idx_items_desk_queue on items(status, reviewed, score desc, id)")


@migrations()
def m008_extract_clean_text(db):
    # The extractor's lightly cleaned version of an item (fillers, repeats and false
    # starts removed; never paraphrased), beside the verbatim text.
    db["items"].add_column("clean_text", str)


@migrations()
def m009_semantic_embeddings(db):
    # Windows of a few transcript segments by one speaker, so that a passage carries a thought.
    db["passages"].create({
        "id": int, "episode_id": int, "transcript_id": int, "first_idx": int, "last_idx": int,
        "start": float, "end": float, "speaker": str, "text": str,
    }, pk="id", foreign_keys=[("episode_id", "episodes", "id")])  # no key to transcripts: a new audio replaces the row
    db["passages"].create_index(["transcript_id", "first_idx"])
    db["passages"].create_index(["episode_id"])
    # What the passages of a transcript were made from ("segment count:largest segment id"),
    # so a transcript whose segments were replaced gets new passages.
    db["embedded_transcripts"].create({
        "transcript_id": int, "episode_id": int, "segments": str, "model": str, "updated": str,
    }, pk="transcript_id", foreign_keys=[("episode_id", "episodes", "id")])
    # One vector per item or passage (kind, ref_id), int8; see pipeline/vectors.py.
    db["embeddings"].create({
        "id": int, "kind": str, "ref_id": int, "episode_id": int, "model": str, "text_sha": str,
        "vector": bytes, "list": int,
    }, pk="id", not_null={"kind", "ref_id", "model", "vector"}, foreign_keys=[("episode_id", "episodes", "id")])
    db["embeddings"].create_index(["kind", "ref_id"], unique=True)
    # covering, so that a query reads each list's vectors as one run of pages (bench/semantic.py)
    db["embeddings"].create_index(["kind", "list", "model", "ref_id", "vector"])
    db["embeddings"].create_index(["episode_id"])
    db["vector_index"].create({
        "kind": str, "model": str, "centroids": bytes, "lists": int, "trained_on": int, "created": str,
    }, pk=("kind", "model"))
    # Near-duplicate items: every member of a group, the representative (group_id) included.
    db["near_duplicates"].create({"item_id": int, "group_id": int, "similarity": float}, pk="item_id")
    db["near_duplicates"].create_index(["group_id"])


@migrations()
def m010_episode_lookup(db):
    # transcripts import finds a transcript's episode by podcast:guid, or by title
    # and date: without these it read every episode several times per file
    # (bench/transcript_import.py --existing). By guid it probes (feed_id, guid)
    # once per feed, so that ingest pays for no index on guid alone. lower(title)
    # as find_episode writes it, so that its query can use the index.
    db.execute("create index if not exists idx_episodes_podcast_guid on episodes(podcast_guid) "
               "where podcast_guid is not null")
    db.execute("create index if not exists idx_episodes_lower_title on episodes(lower(title))")


# Columns that point at another table's id without a foreign key (m005):
# deleting follows them as it follows the foreign keys.
LOOSE_REFERENCES = [("speaker_labels", "episode_id", "episodes"), ("voiceprints", "feed_id", "feeds"),
                    ("near_duplicates", "item_id", "items")]


def _references(db):
    """{table: [(table pointing at it, its column, the column pointed at)]}."""
    refs = {}
    for table in db.table_names():
        for fk in db[table].foreign_keys:
            refs.setdefault(fk.other_table, []).append((table, fk.column, fk.other_column))
    for table, column, other in LOOSE_REFERENCES:
        refs.setdefault(other, []).append((table, column, "id"))
    return refs


def delete_with_dependents(db, table, where, params=()):
    """Delete rows of ``table`` and, first, every row that points at them,
    following the schema's foreign keys (a new table is covered as soon as
    its foreign key is declared). Returns how many rows of table went."""
    refs = _references(db)

    def delete(table, where, seen):
        for child, column, other in refs.get(table, []):
            if child not in seen:
                delete(child, f"{column} in (select {other} from {table} where {where})", seen | {child})
        return db.execute(f"delete from {table} where {where}", params).rowcount

    with db.atomic():
        return delete(table, where, {table})


# --- rerunnable extras ------------------------------------------------------

VIEWS = {
    # every item with who said it, their role, and where: what researchers query
    "items_full": """
select i.id, i.kind, coalesce(i.edited_text, i.text) as text, i.text as original_text, i.status,
       i.score, i.topics, i.speaker, p.name as person, p.slug as person_slug, p.title as person_title,
       p.organization, r.name as role, i.episode_id, e.guid as episode_guid, e.title as episode_title,
       e.published, e.link as episode_link, e.enclosure_url, f.id as feed_id, f.title as feed,
       i.start, i."end", i.source, i.transcript_source, i.model, i.extractor_version
from items i
left join people p on p.id = i.person_id
left join roles r on r.id = p.role_id
left join episodes e on e.id = i.episode_id
left join feeds f on f.id = e.feed_id""",
    "tips_by_role": """
select role, person, text, episode_title, published, start, status, id
from items_full where kind = 'tip' order by role, person, published, start""",
    "quotes_by_topic": """
select t.topic, i.person, i.role, i.text, i.episode_title, i.published, i.start, i.status, i.id
from item_topics t join items_full i on i.id = t.item_id
where i.kind = 'quote' order by t.topic, i.score desc""",
    # every item once per topic: "tips by product managers about customers" is one where clause
    "items_by_topic": """
select t.topic, i.*
from item_topics t join items_full i on i.id = t.item_id""",
    # transcript segments with their episode and feed
    # one row per person: the profile `podpipe profiles show` prints
    "profiles": """
select p.id, p.name, r.name as role, p.title, p.organization, p.organization_description, p.location,
  p.education, p.background, p.history, p.aliases,
  (select count(*) from items i where i.person_id = p.id and i.status != 'rejected') as items,
  (select count(*) from items i where i.person_id = p.id and i.status = 'approved') as approved,
  (select group_concat(e.title, ' | ') from episode_people ep join episodes e on e.id = ep.episode_id
   where ep.person_id = p.id) as episodes
from people p left join roles r on r.id = p.role_id""",
    "segments_full": """
select s.id, s.text, s.speaker, s.start, s."end", t.episode_id, e.guid as episode_guid, e.title as episode_title,
       e.published, e.link as episode_link, f.id as feed_id, f.title as feed, s.transcript_id, s.idx
from segments s
join transcripts t on t.id = s.transcript_id
join episodes e on e.id = t.episode_id
join feeds f on f.id = e.feed_id""",
}


FTS = {"segments": ["text", "speaker"], "items": ["text", "edited_text", "speaker"]}


def ensure_db_shape(db):
    """Add FTS tables, triggers and views; safe to run on every open."""
    tables = set(db.table_names())
    for table, columns in FTS.items():
        if table in tables and f"{table}_fts" not in tables:
            db[table].enable_fts(columns, create_triggers=True, tokenize="porter")
    existing = {r[0]: r[1] for r in db.execute("select name, sql from sqlite_master where type = 'view'")}
    for name, sql in VIEWS.items():
        if name not in existing or sql.strip() not in existing[name]:
            db.create_view(name, sql.strip(), replace=True)

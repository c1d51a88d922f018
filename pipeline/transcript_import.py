"""Importing transcripts that exist already (VTT, SRT, JSON, HTML, text, and
Markdown with YAML front matter), matched to episodes or creating them."""
from collections import Counter
from pathlib import Path

from . import transcript_formats as formats
from .db import insert_many, utcnow
from .names import clean_name, expand_first_names, first_name, fold, resolve, speaker_roles, split_guests
from .people import add_alias, save_person
from .profiles import merge_people
from .transcripts import save_transcript, transcript_batch

IMPORT_FEED_URL = "import:transcripts"


def _date(value):
    if not value:
        return None
    return str(value)[:10]


def _guests(meta, speakers=()):
    """The guests a front matter names, one clean name each ("Hamel+Shreya" ->
    the speakers "Hamel Husain" and "Shreya Shankar")."""
    return expand_first_names(split_guests(meta.get("guest")), [clean_name(s) for s in speakers])


def _same_guests(db, episode_id, meta):
    """False when the episode already has other guests than the transcript names:
    archives do reuse one id for two interviews."""
    wanted = _guests(meta)
    have = [r[0] for r in db.execute(
        "select p.name from episode_people ep join people p on p.id = ep.person_id "
        "where ep.episode_id = ? and ep.role = 'guest'", [episode_id])]
    return not wanted or not have or any(resolve(name, have) for name in wanted)


def _guid(meta, path):
    return meta.get("guid") or meta.get("youtube_url") or f"import:{Path(path).stem}"


def find_episode(db, meta, path):
    """An existing episode for this transcript: by guid, then by title and date."""
    guids = {meta.get("guid"), meta.get("youtube_url"), f"import:{Path(path).stem}"} - {None}
    for guid in guids:
        # guid through the (feed_id, guid) index, one probe per feed (see db.m010_episode_lookup);
        # CROSS JOIN keeps feeds the outer loop, which the planner would not choose without ANALYZE
        for row in db.query("select e.id from feeds f cross join episodes e on e.feed_id = f.id and e.guid = :guid "
                            "union select id from episodes where podcast_guid = :guid", {"guid": guid}):
            if _same_guests(db, row["id"], meta):
                return row["id"]
    title = meta.get("title")
    if title:
        date = _date(meta.get("publish_date") or meta.get("published") or meta.get("date"))
        for row in db.query("select id, published from episodes where lower(title) = lower(?)", [title]):
            if (not date or not row["published"] or row["published"][:10] == date) \
                    and _same_guests(db, row["id"], meta):
                return row["id"]
    return None


def _import_feed(db):
    row = db.execute("select id from feeds where url = ?", [IMPORT_FEED_URL]).fetchone()
    if row:
        return row[0]
    return db["feeds"].insert({"url": IMPORT_FEED_URL, "title": "Imported transcripts",
                               "added": utcnow(), "etag": "never-fetched"}).last_pk


def _create_episode(db, meta, path):
    date = _date(meta.get("publish_date") or meta.get("published") or meta.get("date"))
    feed_id = _import_feed(db)
    guid = _guid(meta, path)
    if db.execute("select 1 from episodes where feed_id = ? and guid = ?", [feed_id, guid]).fetchone():
        guid = f"import:{Path(path).stem}"  # the id is taken by another interview
    return db["episodes"].insert({
        "feed_id": feed_id, "guid": guid, "title": meta.get("title") or Path(path).stem,
        "description": meta.get("description"), "link": meta.get("youtube_url") or meta.get("link"),
        "published": f"{date}T00:00:00+00:00" if date else None,
        "duration_s": meta.get("duration_seconds"), "status": "new", "attempts": 0,
        "first_seen": utcnow(), "updated": utcnow(),
    }).last_pk


def _feed_hosts(db, feed_id):
    return [r[0] for r in db.execute(
        "select distinct p.name from episode_people ep join episodes e on e.id = ep.episode_id "
        "join people p on p.id = ep.person_id where e.feed_id = ? and ep.role = 'host'", [feed_id])]


def _cast(db, episode_id, person_id, role):
    insert_many(db, "episode_people", [{"episode_id": episode_id, "person_id": person_id, "role": role,
                                        "group": "cast"}], or_ignore=True)


def _record_people(db, episode_id, meta, segments):
    """The front matter names the guests; a speaker who is not one of them is
    the feed's host when they are one already or talk as much as a host does.
    Sponsor reads and clips ("Ashley", "Speaker 1") name nobody."""
    turns = Counter(s["speaker"] for s in segments if s.get("speaker"))
    guests = _guests(meta, turns)
    if not guests:
        return
    (feed_id,) = db.execute("select feed_id from episodes where id = ?", [episode_id]).fetchone()
    hosts = _feed_hosts(db, feed_id)
    roles = speaker_roles(turns, guests, hosts)
    for name in guests:
        pid = save_person(db, {"name": name})
        _cast(db, episode_id, pid, "guest")
    for label, (kind, name) in roles.items():
        if kind == "other":
            continue
        pid = save_person(db, {"name": name})
        add_alias(db, pid, label)
        if kind == "host":
            # a host known by first name only ("Lenny") is the same human as this fuller name
            for short in hosts:
                if len(fold(short).split()) == 1 and first_name(name) == fold(short) and fold(name) != fold(short):
                    merge_people(db, name, short)
            _cast(db, episode_id, pid, "host")


def import_transcript(db, path, *, transcripts_dir="transcripts", batch=None):
    """Import one transcript file. Returns (episode_id, created_episode).

    Raises OSError or TranscriptFormatError with a message for the user.
    batch: a transcripts.transcript_batch that writes the files and indexes the
    segments at its end (see import_transcripts).
    """
    data = Path(path).read_bytes()
    parsed = formats.parse(data, filename=str(path))
    meta = parsed["meta"]
    with db.atomic():
        episode_id = find_episode(db, meta, path)
        created = episode_id is None
        if created:
            episode_id = _create_episode(db, meta, path)
        _record_people(db, episode_id, meta, parsed["segments"])
        episode = next(db.query("select e.*, f.title as feed_title from episodes e "
                                "join feeds f on f.id = e.feed_id where e.id = ?", [episode_id]))
        save_transcript(db, episode, parsed["segments"], source="import", engine=f"import-{parsed['format']}",
                        audio_duration=meta.get("duration_seconds"), transcripts_dir=transcripts_dir,
                        batch=batch)
    return episode_id, created


BATCH = 50


def import_transcripts(db, paths, *, transcripts_dir="transcripts", batch_size=BATCH):
    """Import many transcript files, yielding (path, episode_id, created, error) for each;
    error is None or the message of an OSError or TranscriptFormatError (that file is skipped).

    A batch of files goes into one transaction, and its transcript files are made
    durable with one flush just before it commits (not an fsync per file, four
    files per episode): a kill or a power cut leaves each batch wholly imported or
    not at all, and rows never point at files that are not on disk. The batch's
    segments go into the full-text index in one statement, while its files are
    written and flushed (see transcripts.transcript_batch). Results are yielded
    once their batch has committed.
    """
    paths = list(paths)
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        try:
            results = _import_batch(db, chunk, transcripts_dir, defer_files=True)
        except OSError:
            # A file could not be written and the batch rolled back: again, each
            # transcript writing its files inside its own savepoint, so that only
            # the one whose files fail is skipped.
            results = _import_batch(db, chunk, transcripts_dir, defer_files=False)
        yield from results


def _import_batch(db, paths, transcripts_dir, defer_files):
    results = []
    with transcript_batch(db, defer_files) as batch:  # the batch's transaction
        for path in paths:
            try:
                episode_id, created = import_transcript(db, path, transcripts_dir=transcripts_dir, batch=batch)
            except (OSError, formats.TranscriptFormatError) as exc:
                results.append((path, None, False, str(exc)))
                continue
            results.append((path, episode_id, created, None))
    return results

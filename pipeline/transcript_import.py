"""Importing transcripts that exist already (VTT, SRT, JSON, HTML, text, and
Markdown with YAML front matter), matched to episodes or creating them."""
from pathlib import Path

from . import transcript_formats as formats
from .db import utcnow
from .people import save_person
from .transcribe import save_transcript

IMPORT_FEED_URL = "import:transcripts"


def _date(value):
    if not value:
        return None
    return str(value)[:10]


def find_episode(db, meta, filename):
    """An existing episode for this transcript: by guid, then by title and date."""
    guid = meta.get("guid") or meta.get("video_id") or meta.get("youtube_url")
    if guid:
        row = db.execute("select id from episodes where guid = ? or podcast_guid = ?", [guid, guid]).fetchone()
        if row:
            return row[0]
    title = meta.get("title")
    if title:
        date = _date(meta.get("publish_date") or meta.get("published") or meta.get("date"))
        for row in db.query("select id, published from episodes where lower(title) = lower(?)", [title]):
            if not date or not row["published"] or row["published"][:10] == date:
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
    guid = meta.get("guid") or meta.get("youtube_url") or f"import:{Path(path).stem}"
    return db["episodes"].insert({
        "feed_id": _import_feed(db), "guid": guid, "title": meta.get("title") or Path(path).stem,
        "description": meta.get("description"), "link": meta.get("youtube_url") or meta.get("link"),
        "published": f"{date}T00:00:00+00:00" if date else None,
        "duration_s": meta.get("duration_seconds"), "status": "new", "attempts": 0,
        "first_seen": utcnow(), "updated": utcnow(),
    }).last_pk


def _record_people(db, episode_id, meta, segments):
    """The front matter names the guest; every other speaker is taken as a host."""
    guests = [g.strip() for g in str(meta.get("guest") or "").replace(" & ", ",").split(",") if g.strip()]
    speakers = []
    for s in segments:
        if s.get("speaker") and s["speaker"] not in speakers:
            speakers.append(s["speaker"])
    names = {n.lower() for n in guests}
    for name in guests:
        pid = save_person(db, {"name": name})
        db["episode_people"].insert({"episode_id": episode_id, "person_id": pid, "role": "guest",
                                     "group": "cast"}, ignore=True)
    if not guests:
        return
    for name in speakers:
        if name.lower() not in names:
            pid = save_person(db, {"name": name})
            db["episode_people"].insert({"episode_id": episode_id, "person_id": pid, "role": "host",
                                         "group": "cast"}, ignore=True)


def import_transcript(db, path, *, transcripts_dir="transcripts"):
    """Import one transcript file. Returns (episode_id, created_episode).

    Raises OSError or TranscriptFormatError with a message for the user.
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
                        audio_duration=meta.get("duration_seconds"), transcripts_dir=transcripts_dir)
    return episode_id, created


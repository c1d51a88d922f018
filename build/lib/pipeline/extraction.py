"""Extraction stage: quotes and tips from stored transcripts into the items
table, linked to the people who said them. The classifier is in extract.py."""
import json

from .db import utcnow
from .extract import EXTRACTOR_VERSION, classify_sentence, extract_items
from .link import link_episode
from .profiles import dedup_key
from .queue import pending_filter

# What a re-run may overwrite on an item an editor has not touched.
MACHINE_FIELDS = ("kind", "speaker", "person_id", "start", "end", "segment_ids", "score", "features",
                  "topics", "transcript_id", "transcript_source", "model", "extractor_version")


def pending_extractions(db, *, episode_ids=None, rescore=False, limit=None, since=None):
    """Transcribed episodes not yet extracted (all transcribed ones with rescore)."""
    where, params = pending_filter(episode_ids=episode_ids, limit=limit, since=since)
    return list(db.query("select e.id, e.title, t.id as transcript_id, t.source, t.model from episodes e "
                         "join transcripts t on t.episode_id = e.id where "
                         + ("1" if rescore else "e.status = 'transcribed'") + where, params))


def hosts_of(db, episode_id):
    """Names (and aliases) of the episode's hosts: their lines are never candidates."""
    names = set()
    for row in db.query("select p.name, p.aliases from episode_people ep join people p on p.id = ep.person_id "
                        "where ep.episode_id = ? and ep.role = 'host'", [episode_id]):
        names.add(row["name"])
        names.update(json.loads(row["aliases"] or "[]"))
    return names


def save_items(db, episode, items, linked):
    """Replace the machine's items for an episode, keeping every editor's
    decision and edit. Returns the number of items stored."""
    now = utcnow()
    keys = []
    with db.atomic():
        for item in items:
            key = dedup_key(f"episode:{episode['id']}", item["text"])
            keys.append(key)
            row = {
                "kind": item["kind"], "text": item["text"], "episode_id": episode["id"],
                "transcript_id": episode["transcript_id"], "speaker": item["speaker"],
                "person_id": linked.get(item["speaker"]), "start": item["start"], "end": item["end"],
                "segment_ids": json.dumps(item["segment_ids"]), "score": round(item["score"], 4),
                "features": json.dumps(item["features"]), "topics": json.dumps(item["topics"]),
                "source": "transcript", "transcript_source": episode["source"], "model": episode["model"],
                "extractor_version": EXTRACTOR_VERSION, "dedup_key": key, "updated": now,
            }
            old = db.execute("select id, status, edited_text from items where dedup_key = ?", [key]).fetchone()
            if old is None:
                item_id = db["items"].insert({**row, "status": "pending", "created": now}).last_pk
            else:
                item_id = old[0]
                edited = old[1] != "pending" or old[2] is not None
                # an editor's kind stands; everything else the machine may refresh
                fields = {k: row[k] for k in MACHINE_FIELDS if not (edited and k == "kind")}
                db["items"].update(item_id, {**fields, "updated": now})
            db.execute("delete from item_topics where item_id = ?", [item_id])
            for topic in item["topics"]:
                db.execute("insert or ignore into item_topics (item_id, topic) values (?, ?)", [item_id, topic])
        # machine items this run no longer finds go, unless an editor has touched them
        # or put them in a collection
        placeholders = ",".join("?" * len(keys)) or "''"
        stale = [r[0] for r in db.execute(
            f"select id from items where episode_id = ? and source = 'transcript' and status = 'pending' "
            f"and edited_text is null and dedup_key not in ({placeholders}) "
            f"and id not in (select item_id from collection_items)", [episode["id"], *keys])]
        for item_id in stale:
            db.execute("delete from item_topics where item_id = ?", [item_id])
            db.execute("delete from items where id = ?", [item_id])
        db["episodes"].update(episode["id"], {"status": "extracted", "updated": now})
    return len(items)


def extract_episode(db, episode):
    """Extract and store one episode's items; returns (stored, skipped reason or None)."""
    segments = list(db.query("select id, start, end, text, speaker from segments where transcript_id = ? "
                             "order by idx", [episode["transcript_id"]]))
    if segments and all(s["speaker"] is None for s in segments):
        # without speakers we cannot tell the host's lines from the guest's
        db["episodes"].update(episode["id"], {"status": "extracted", "updated": utcnow()})
        return 0, "no speaker labels (transcribe with --diarize, or import a transcript with speakers)"
    linked = link_episode(db, episode["id"])
    items = extract_items(segments, hosts_of(db, episode["id"]))
    return save_items(db, episode, items, linked), None


def extract(db, *, episode_ids=None, rescore=False, limit=None, since=None, progress=None):
    """The extraction stage over every pending episode.

    Returns {"episodes", "items", "skipped": [(episode_id, reason)]}.
    """
    result = {"episodes": 0, "items": 0, "skipped": []}
    for episode in pending_extractions(db, episode_ids=episode_ids, rescore=rescore, limit=limit, since=since):
        stored, reason = extract_episode(db, episode)
        result["episodes"] += 1
        result["items"] += stored
        if reason:
            result["skipped"].append((episode["id"], reason))
        if progress:
            progress(episode)
    return result


def classify_lines(lines):
    """`podpipe classify`: one result per non-empty input line."""
    for line in lines:
        text = line.strip()
        if text:
            verdict = classify_sentence(text)
            yield {"text": text, "kind": verdict["kind"], "score": round(verdict["score"], 4)}

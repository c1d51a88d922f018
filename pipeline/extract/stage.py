"""The extract stage: quotes and tips from stored transcripts into the items
table, linked to the people who said them."""
import contextlib
import json

from ..db import utcnow
from ..link import link_episode
from ..profiles import dedup_key
from ..queue import pending_filter
from . import TOPICS, classify, extract_items, extractor_version

# What a re-run may overwrite on an item an editor has not touched.
MACHINE_FIELDS = ("kind", "speaker", "person_id", "start", "end", "segment_ids", "score", "features",
                  "topics", "transcript_id", "transcript_source", "model", "extractor_version", "clean_text")


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


def save_items(db, episode, items, linked, version=None):
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
                "extractor_version": version or extractor_version(), "dedup_key": key, "updated": now,
                "clean_text": item.get("clean_text"),
            }
            old = db.execute("select id, status, edited_text from items where dedup_key = ?", [key]).fetchone()
            topics = list(item["topics"])
            if old is None:
                item_id = db["items"].insert({**row, "status": "pending", "created": now}).last_pk
            else:
                item_id = old[0]
                edited = old[1] != "pending" or old[2] is not None
                # topics an editor accepted (topics accept) are not the machine's to drop
                topics += [t for (t,) in db.execute("select topic from item_topics where item_id = ? order by rowid",
                                                    [item_id]) if t not in TOPICS and t not in topics]
                # an editor's kind stands; everything else the machine may refresh
                fields = {k: row[k] for k in MACHINE_FIELDS if not (edited and k == "kind")}
                db["items"].update(item_id, {**fields, "topics": json.dumps(topics), "updated": now})
            db.execute("delete from item_topics where item_id = ?", [item_id])
            for topic in topics:
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


def extraction_job(db, episode):
    """(job for ``extract.extract_items``, None) for one episode, or (None, why it is skipped).

    Links the episode's speakers first (a write, so here on the coordinator):
    that may name its hosts.
    """
    segments = list(db.query("select id, start, end, text, speaker from segments where transcript_id = ? "
                             "order by idx", [episode["transcript_id"]]))
    if segments and all(s["speaker"] is None for s in segments):
        # without speakers we cannot tell the host's lines from the guest's
        return None, "no speaker labels (transcribe with --diarize, or import a transcript with speakers)"
    linked = link_episode(db, episode["id"])
    return {"episode_id": episode["id"], "segments": segments, "hosts": hosts_of(db, episode["id"]),
            "linked": linked}, None


def run_extraction(job):
    """The items of one episode: pure, here or on a cluster worker."""
    return extract_items(job["segments"], job["hosts"], extractor=job.get("extractor", "model"))


def _skip(db, episode):
    db["episodes"].update(episode["id"], {"status": "extracted", "updated": utcnow()})


def extract_episode(db, episode, extractor="model"):
    """Extract and store one episode's items; returns (stored, skipped reason or None)."""
    job, reason = extraction_job(db, episode)
    if reason:
        _skip(db, episode)
        return 0, reason
    job["extractor"] = extractor
    return save_items(db, episode, run_extraction(job), job["linked"], extractor_version(extractor)), None


def _jobs(db, episodes, extractor):
    for episode in episodes:
        job, reason = extraction_job(db, episode)
        if job:
            job["extractor"] = extractor
        yield (episode, job, reason), job


def extract(db, *, episode_ids=None, rescore=False, limit=None, since=None, executor=None, progress=None,
            extractor="model"):
    """The extraction stage over every pending episode (``extract_items`` here, or
    on a cluster with an ``executor`` from pipeline.cluster; saved here).

    Returns {"episodes", "items", "skipped": [(episode_id, reason)]}.
    """
    from ..cluster import InProcess

    result = {"episodes": 0, "items": 0, "skipped": []}
    episodes = pending_extractions(db, episode_ids=episode_ids, rescore=rescore, limit=limit, since=since)
    with contextlib.closing((executor or InProcess()).map(run_extraction, _jobs(db, episodes, extractor))) as outcomes:
        for (episode, job, reason), outcome in outcomes:
            if reason:
                _skip(db, episode)
                stored = 0
                result["skipped"].append((episode["id"], reason))
            else:
                stored = save_items(db, episode, outcome(), job["linked"], extractor_version(extractor))
            result["episodes"] += 1
            result["items"] += stored
            if progress:
                progress(episode)
    return result


def classify_lines(lines, context=None, extractor="model"):
    """`podpipe classify`: one result per non-empty input line (kind and calibrated score)."""
    for line in lines:
        text = line.strip()
        if text:
            yield {"text": text, **classify(text, context=context, extractor=extractor)}

"""The embed stage: cut transcripts into passages and store a sentence vector
for every passage and item (pipeline.vectors), then group near-duplicate items.

Incremental and idempotent like every stage: an episode is embedded again
only when its transcript's segments changed, an item's text changed (an
editor's edit), or the stored vectors came from another model or version.
The encoding runs as a pure function (``run_embedding``) on plain data, here
or on a cluster worker; only this process writes.
"""
import contextlib
import re

from .db import utcnow
from .vectors import build_index, model_tag, pack, text_sha

PASSAGE_WORDS = 60  # about three sentences: one thought, well inside the model's 256 tokens
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def passages_of(segments, words=PASSAGE_WORDS):
    """Passages from a transcript's segments (dicts with idx, start, end, text,
    speaker, in order): consecutive segments of one speaker up to about
    ``words`` words; a longer segment is cut at sentence ends."""
    out, current = [], None

    def close():
        if current and current["text"].strip():
            out.append(current)

    for seg in segments:
        pieces = _pieces(seg["text"] or "", words)
        for n, piece in enumerate(pieces):
            fits = (current is not None and current["speaker"] == seg["speaker"] and len(pieces) == 1
                    and len(current["text"].split()) + len(piece.split()) <= words)
            if fits:
                current.update(text=f"{current['text']} {piece}", last_idx=seg["idx"], end=seg["end"])
                continue
            close()
            current = {"first_idx": seg["idx"], "last_idx": seg["idx"], "start": seg["start"], "end": seg["end"],
                       "speaker": seg["speaker"], "text": piece}
            if len(pieces) > 1:  # a piece of a long segment stands alone
                close()
                current = None
    close()
    return out


def _pieces(text, words):
    """A segment's text cut at sentence ends into pieces of about ``words`` words."""
    text = " ".join(text.split())
    if len(text.split()) <= words:
        return [text]
    pieces, current = [], []
    for sentence in _SENTENCE.split(text):
        if current and len(" ".join(current).split()) + len(sentence.split()) > words:
            pieces.append(" ".join(current))
            current = []
        current.append(sentence)
    if current:
        pieces.append(" ".join(current))
    return pieces


# --- what is pending -----------------------------------------------------------

def _segment_signatures(db, episode_ids=None, since=None):
    """{transcript_id: (episode_id, "count:max id")} of the transcripts to consider."""
    where, params = [], []
    if episode_ids:
        where.append(f"t.episode_id in ({','.join('?' * len(episode_ids))})")
        params += list(episode_ids)
    if since:
        where.append("e.published >= ?")
        params.append(since)
    sql = (f"select t.id, t.episode_id, (select count(*) || ':' || coalesce(max(s.id), 0) from segments s "
           f"where s.transcript_id = t.id) from transcripts t join episodes e on e.id = t.episode_id "
           f"{'where ' + ' and '.join(where) if where else ''} order by t.episode_id")
    return {r[0]: (r[1], r[2]) for r in db.execute(sql, params)}


def pending_embeddings(db, *, episode_ids=None, limit=None, since=None):
    """[{"episode_id", "transcript_id" or None, "segments", "items": [(id, text, sha)]}]: the work to do."""
    tag = model_tag()
    done = {r[0]: (r[1], r[2]) for r in db.execute("select transcript_id, segments, model from embedded_transcripts")}
    work = {}
    for transcript_id, (episode_id, signature) in _segment_signatures(db, episode_ids, since).items():
        if done.get(transcript_id) != (signature, tag):
            work[episode_id] = {"episode_id": episode_id, "transcript_id": transcript_id, "segments": signature,
                                "items": []}
    where, params = "", []
    if episode_ids:
        where = f"where i.episode_id in ({','.join('?' * len(episode_ids))})"
        params = list(episode_ids)
    rows = db.execute(f"select i.id, i.episode_id, coalesce(i.edited_text, i.text), v.text_sha, v.model "
                      f"from items i left join embeddings v on v.kind = 'item' and v.ref_id = i.id {where}", params)
    for item_id, episode_id, text, sha, model in rows:
        new_sha = text_sha(text)
        if (sha, model) != (new_sha, tag):
            entry = work.setdefault(episode_id, {"episode_id": episode_id, "transcript_id": None, "segments": None,
                                                 "items": []})
            entry["items"].append((item_id, text, new_sha))
    pending = [work[k] for k in sorted(work, key=lambda k: (k is None, k or 0))]
    return pending[:limit] if limit else pending


def embedding_job(db, work):
    """The plain data ``run_embedding`` needs for one episode: passages and texts."""
    passages = []
    if work["transcript_id"] is not None:
        segments = db.query("select idx, start, end, text, speaker from segments where transcript_id = ? "
                            "order by idx", [work["transcript_id"]])
        passages = passages_of(segments)
    return {"episode_id": work["episode_id"], "passages": passages,  # the id names the task on a cluster
            "texts": [p["text"] for p in passages] + [t for _, t, _ in work["items"]]}


def run_embedding(job):
    """The vectors of a job's texts: pure, here or on a cluster worker."""
    from .encoder import encode

    return encode(job["texts"]) if job["texts"] else None


def save_embeddings(db, work, job, vectors):
    """Store one episode's passages and vectors in one transaction; returns (passages, items)."""
    from .vectors import assign_lists, load_index

    tag = model_tag()
    blobs = pack(vectors) if vectors is not None else []
    n = len(job["passages"])
    passage_lists = assign_lists(load_index(db, "passage")[0], vectors[:n]) if n else None
    item_lists = assign_lists(load_index(db, "item")[0], vectors[n:]) if work["items"] else None
    with db.atomic():
        if work["transcript_id"] is not None:
            db.execute("delete from embeddings where kind = 'passage' and ref_id in "
                       "(select id from passages where transcript_id = ?)", [work["transcript_id"]])
            db.execute("delete from passages where transcript_id = ?", [work["transcript_id"]])
            for i, p in enumerate(job["passages"]):
                pid = db["passages"].insert({"episode_id": work["episode_id"], "transcript_id": work["transcript_id"],
                                             **p}).last_pk
                db["embeddings"].insert({"kind": "passage", "ref_id": pid, "episode_id": work["episode_id"],
                                         "model": tag, "text_sha": text_sha(p["text"]), "vector": blobs[i],
                                         "list": _list(passage_lists, i)})
            db["embedded_transcripts"].upsert({"transcript_id": work["transcript_id"], "episode_id": work["episode_id"],
                                               "segments": work["segments"], "model": tag, "updated": utcnow()},
                                              pk="transcript_id")
        for j, (item_id, _, sha) in enumerate(work["items"]):
            db.execute("insert into embeddings (kind, ref_id, episode_id, model, text_sha, vector, list) "
                       "values ('item', ?, ?, ?, ?, ?, ?) on conflict (kind, ref_id) do update set "
                       "episode_id = excluded.episode_id, model = excluded.model, text_sha = excluded.text_sha, "
                       "vector = excluded.vector, list = excluded.list",
                       [item_id, work["episode_id"], tag, sha, blobs[n + j], _list(item_lists, j)])
    return n, len(work["items"])


def _list(lists, i):
    return int(lists[i]) if lists is not None else None


def drop_orphans(db):
    """Vectors of items that are gone (re-extraction removes items), passages of
    transcripts that are gone (new audio replaces the transcript), and group rows."""
    with db.atomic():
        gone = db.execute("delete from embeddings where kind = 'item' and ref_id not in (select id from items)").rowcount
        stale = "select id from passages where transcript_id not in (select id from transcripts)"
        db.execute(f"delete from embeddings where kind = 'passage' and ref_id in ({stale})")
        db.execute(f"delete from passages where id in ({stale})")
        db.execute("delete from embedded_transcripts where transcript_id not in (select id from transcripts)")
        db.execute("delete from near_duplicates where item_id not in (select id from items)")
    return gone


def embed(db, *, episode_ids=None, limit=None, since=None, executor=None, progress=None):
    """The embed stage; returns {"episodes", "passages", "items", "duplicates"}."""
    from .cluster import InProcess
    from .duplicates import group_duplicates

    counts = {"episodes": 0, "passages": 0, "items": 0, "duplicates": 0}
    drop_orphans(db)
    pending = pending_embeddings(db, episode_ids=episode_ids, limit=limit, since=since)
    jobs = (((work, job), job) for work in pending for job in [embedding_job(db, work)])
    changed_items = []
    with contextlib.closing((executor or InProcess()).map(run_embedding, jobs)) as outcomes:
        for (work, job), outcome in outcomes:
            passages, items = save_embeddings(db, work, job, outcome())
            counts["episodes"] += 1
            counts["passages"] += passages
            counts["items"] += items
            changed_items += [item_id for item_id, _, _ in work["items"]]
            if progress:
                progress(work["episode_id"])
    for kind in ("passage", "item"):
        build_index(db, kind)
    counts["duplicates"] = group_duplicates(db, changed_items)
    return counts

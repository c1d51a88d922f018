"""Sentence vectors in SQLite, and finding the nearest ones.

Vectors live in the plain table ``embeddings`` (one row per item or passage:
the model that made it, a hash of the text it was made from, and the vector
as 384 int8 values scaled to each vector's largest component), so any SQLite,
and Datasette, opens the database as it is: no extension is needed to read
or write it.

Search is exact in numpy while a kind has fewer than ``IVF_MIN`` vectors (a
scan of 50,000 int8 vectors is a few milliseconds). Past that we keep an
inverted-file index in SQLite: k-means centroids in ``vector_index`` and each
row's nearest centroid in ``embeddings.list``, and a query scores only the
rows of its ``nprobe`` nearest lists, exactly, against the stored vectors.
bench/semantic.py measures recall against the exact search and latency on a
million passages.

Why not sqlite-vec: its vec0 tables do a brute-force scan, which on a
million vectors took 400 ms (bit vectors, two shared cores) against our
100 ms target, and this Python's sqlite3 cannot load extensions (the
pysqlite3-binary wheel can, but sqlite-utils and Datasette switch to it for
every connection as soon as it is installed). See the README.
"""
import hashlib

import numpy as np

from .db import utcnow
from .encoder import DIM

IVF_MIN = 50_000  # below this many vectors of a kind, exact search is fast enough
DEFAULT_NPROBE = 16  # recall@10 1.000, p95 22 ms on a million (bench/semantic.py)
KMEANS_SAMPLE = 64 * 1024
KMEANS_ITERATIONS = 8
CHUNK = 50_000


def model_tag():
    """The name and version stored with every vector: a new one re-embeds."""
    from .encoder import MODEL_NAME, MODEL_VERSION

    return f"{MODEL_NAME}@{MODEL_VERSION}"


def text_sha(text):
    return hashlib.sha1((text or "").encode("utf-8")).hexdigest()[:16]


def pack(vectors):
    """int8 bytes for each row of a float array (scaled so the largest component is 127)."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, DIM)
    scale = 127.0 / np.maximum(np.abs(vectors).max(axis=1, keepdims=True), 1e-12)
    return [row.tobytes() for row in np.rint(vectors * scale).astype(np.int8)]


def unpack(blobs):
    """Unit float32 vectors, shape (n, 384), from ``pack``'s bytes."""
    blobs = list(blobs)
    if not blobs:
        return np.zeros((0, DIM), dtype=np.float32)
    x = np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(-1, DIM).astype(np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def vector_of(db, kind, ref_id):
    """The stored unit vector of one item or passage, or None."""
    row = db.execute("select vector from embeddings where kind = ? and ref_id = ? and model = ?",
                     [kind, ref_id, model_tag()]).fetchone()
    return unpack([row[0]])[0] if row else None


# --- the inverted-file index -----------------------------------------------------

_centroids = {}  # (database file, kind, model) -> (created, centroids): read once per process


def load_index(db, kind):
    """(centroids, trained_on) of a kind's index for the current model, or (None, 0)."""
    tag = model_tag()
    row = db.execute("select created, lists, trained_on, rowid from vector_index where kind = ? and model = ?",
                     [kind, tag]).fetchone()
    if not row:
        return None, 0
    key = (db.conn.execute("pragma database_list").fetchone()[2], kind, tag)
    stamp = (row[0], row[1], row[2])
    if _centroids.get(key, (None,))[0] != stamp:
        blob = db.execute("select centroids from vector_index where rowid = ?", [row[3]]).fetchone()[0]
        _centroids[key] = (stamp, np.frombuffer(blob, dtype=np.float32).reshape(row[1], DIM))
    return _centroids[key][1], row[2]


def assign_lists(centroids, vectors):
    """The nearest centroid of each vector (by cosine)."""
    return np.argmax(vectors @ centroids.T, axis=1) if centroids is not None else None


def kmeans(x, k, iterations=KMEANS_ITERATIONS, seed=0, init=None):
    """Spherical k-means: unit centroids that maximise the cosine to their members.
    ``init`` (k unit vectors) replaces the random start."""
    rng = np.random.default_rng(seed)
    centroids = x[rng.choice(len(x), size=k, replace=False)].copy() if init is None else np.array(init)
    for _ in range(iterations):
        labels = np.argmax(x @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, x)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = x[rng.choice(len(x), size=int(empty.sum()), replace=False)]
        centroids = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return centroids.astype(np.float32)


def build_index(db, kind, *, lists=None, force=False):
    """Train a kind's index when it has grown past IVF_MIN (or doubled since the
    last training) and assign every row to a list. Returns True when it did."""
    tag = model_tag()
    n = db.execute("select count(*) from embeddings where kind = ? and model = ?", [kind, tag]).fetchone()[0]
    _, trained_on = load_index(db, kind)
    if not force and (n < IVF_MIN or (trained_on and n < 2 * trained_on)):
        return False
    lists = lists or max(16, int(4 * np.sqrt(n)))
    ids = [r[0] for r in db.execute("select id from embeddings where kind = ? and model = ?", [kind, tag])]
    sample = np.random.default_rng(0).choice(ids, size=min(len(ids), max(KMEANS_SAMPLE, lists * 16)), replace=False)
    vectors = unpack(_blobs(db, sample))
    centroids = kmeans(vectors, min(lists, len(vectors)))
    with db.atomic():
        db["vector_index"].upsert({"kind": kind, "model": tag, "centroids": centroids.tobytes(),
                                   "lists": len(centroids), "trained_on": n, "created": utcnow()},
                                  pk=("kind", "model"))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            labels = assign_lists(centroids, unpack(_blobs(db, chunk)))
            db.conn.executemany("update embeddings set list = ? where id = ?",
                                zip(labels.tolist(), chunk))
    return True


def _blobs(db, ids):
    out = []
    ids = [int(i) for i in ids]
    for start in range(0, len(ids), 30_000):
        chunk = ids[start:start + 30_000]
        got = dict(db.execute(f"select id, vector from embeddings where id in ({','.join('?' * len(chunk))})",
                              chunk).fetchall())
        out.extend(got[i] for i in chunk)
    return out


# --- search --------------------------------------------------------------------

def nearest(db, kind, query, k=10, *, nprobe=DEFAULT_NPROBE, exclude=()):
    """[(ref_id, cosine)] of the k vectors of a kind nearest a unit query vector, best first."""
    query = np.asarray(query, dtype=np.float32).reshape(DIM)
    centroids, _ = load_index(db, kind)
    sql = "select ref_id, vector from embeddings where kind = ? and model = ?"
    params = [kind, model_tag()]
    if centroids is not None:
        probe = np.argsort(-(centroids @ query))[:nprobe]
        sql += f" and list in ({','.join('?' * len(probe))})"
        params += probe.tolist()
    best_ids, best_scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    cursor = db.execute(sql, params)
    exclude = set(exclude)
    while True:
        rows = cursor.fetchmany(CHUNK)
        if not rows:
            break
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = unpack(r[1] for r in rows) @ query
        best_ids, best_scores = _top(np.concatenate([best_ids, ids]),
                                     np.concatenate([best_scores, scores]), k + len(exclude))
    keep = [(int(i), float(s)) for i, s in zip(best_ids, best_scores) if int(i) not in exclude]
    return keep[:k]


def _top(ids, scores, k):
    if len(ids) > k:
        part = np.argpartition(-scores, k)[:k]
        ids, scores = ids[part], scores[part]
    order = np.lexsort((ids, -scores))
    return ids[order], scores[order]

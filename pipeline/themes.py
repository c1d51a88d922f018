"""Topic suggestions: cluster the approved items by meaning and name each
cluster from its words, so the topic taxonomy can grow from what guests say.

``suggest`` runs spherical k-means (pipeline.vectors.kmeans) on the stored
item vectors, started from the farthest-first points so the same database
always gives the same suggestions, for each number of clusters up to about
one per four items, keeps the one with the best silhouette, and names a cluster after its most
distinctive words: how many of its items use a word, weighted by how rare the
word is among all items (tf-idf over documents, stop words dropped). A
cluster most of whose items already share a topic says so. ``accept`` tags
items with a topic (``item_topics`` and ``items.topics``), the same rows the
extractor writes, so ``search --topic`` and the ``items_by_topic`` view find them.
"""
import json
import math
import re
from collections import Counter

from .errors import PodpipeError

MIN_SIZE = 3
EXAMPLES = 5
NAME_WORDS = 2
WORDS = 5
ITEMS_PER_CLUSTER = 4  # the most clusters tried: one for about this many items
MAX_K = 40
KMEANS_ITERATIONS = 20
SILHOUETTE_SAMPLE = 2000
OVERLAP = 0.5  # a cluster "mostly" has a topic when more than half its items carry it
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")
STOP_WORDS = frozenset("""
a about above after again against all also always am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
even ever every few for from further get gets getting go goes going gonna got had hadn't has hasn't have haven't
having he her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself
just kind know let let's like lot lots make makes making many maybe me more most much must my myself need never no
nor not now of off often on once one only or other our ours ourselves out over own really right said same say
says see she should shouldn't so some something still such sure take than that that's the their theirs them
themselves then there there's these they they're thing things think this those though through to too try
trying up us very want wanted was wasn't way we we're we've well were weren't what what's when where which while
who whom why will with won't would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself
yourselves actually basically first going good great kind new people probably stuff time times two use used
""".split())


class ThemesError(PodpipeError, ValueError):
    """Nothing to suggest from, or a suggestion that cannot be accepted."""


def words_of(text):
    """The distinct content words of a text, lower-case."""
    return {w.strip("'-") for w in _WORD.findall((text or "").lower())} - STOP_WORDS - {""}


def _approved(db):
    """(ids, unit vectors, texts) of approved items with a vector of the current model."""
    from .vectors import model_tag, unpack

    rows = db.execute(
        "select i.id, coalesce(i.edited_text, i.text), v.vector from items i "
        "join embeddings v on v.kind = 'item' and v.ref_id = i.id and v.model = ? "
        "where i.status = 'approved' order by i.id", [model_tag()]).fetchall()
    return [r[0] for r in rows], unpack(r[2] for r in rows), [r[1] for r in rows]


def _farthest_first(x, k):
    """k rows of x: the one nearest the mean, then each time the row least like those chosen."""
    import numpy as np

    chosen = [int(np.argmax(x @ x.mean(axis=0)))]
    best = x @ x[chosen[0]]
    while len(chosen) < k:
        nxt = int(np.argmin(best))
        chosen.append(nxt)
        best = np.maximum(best, x @ x[nxt])
    return x[chosen]


def _cluster(x, k):
    from .vectors import kmeans

    return kmeans(x, k, iterations=KMEANS_ITERATIONS, init=_farthest_first(x, k))


def _silhouette(distance, labels):
    """The mean silhouette of rows with these pairwise distances and cluster labels."""
    import numpy as np

    ks = np.unique(labels)
    if len(ks) < 2:
        return -1.0
    rows = np.arange(len(labels))
    onehot = (labels[:, None] == ks[None, :]).astype(np.float32)
    sizes = onehot.sum(axis=0)
    mean_to = (distance @ onehot) / sizes
    own = np.searchsorted(ks, labels)
    # the mean over the others of its cluster, not counting its own zero distance
    a = mean_to[rows, own] * sizes[own] / np.maximum(sizes[own] - 1, 1)
    mean_to[rows, own] = np.inf
    b = mean_to.min(axis=1)
    return float(np.mean((b - a) / np.maximum(np.maximum(a, b), 1e-12)))


def _best_k(x):
    """(k, centroids) with the best silhouette (cosine distance, on a sample of at most
    SILHOUETTE_SAMPLE items) for k from 2 to about one cluster per ITEMS_PER_CLUSTER
    items (at most MAX_K), or one cluster when there are too few items."""
    import numpy as np

    sample = np.arange(len(x))
    if len(x) > SILHOUETTE_SAMPLE:
        sample = np.sort(np.random.default_rng(0).choice(len(x), SILHOUETTE_SAMPLE, replace=False))
    distance = 1 - x[sample] @ x[sample].T
    top = min(MAX_K, len(x) // 2, max(2, round(len(x) / ITEMS_PER_CLUSTER)))
    best = (1, _cluster(x, 1), -1.0)
    for k in range(2, top + 1):
        centroids = _cluster(x, k)
        score = _silhouette(distance, np.argmax(x[sample] @ centroids.T, axis=1))
        if score > best[2]:
            best = (k, centroids, score)
    return best[0], best[1]


def _document_frequency(db):
    """(number of items, Counter of the items each word appears in) over every item."""
    df, n = Counter(), 0
    for (text,) in db.execute("select coalesce(edited_text, text) from items"):
        df.update(words_of(text))
        n += 1
    return n, df


def _existing_topic(db, ids):
    """(topic, share) of the topic most of these items carry, or (None, share)."""
    placeholders = ",".join("?" * len(ids))
    row = db.execute(f"select topic, count(*) as n from item_topics where item_id in ({placeholders}) "
                     "group by topic order by n desc, topic limit 1", ids).fetchone()
    if not row:
        return None, 0.0
    share = row[1] / len(ids)
    return (row[0] if share > OVERLAP else None), round(share, 2)


def suggest(db, *, min_size=MIN_SIZE):
    """Topic suggestions, largest cluster first: [{"suggestion", "name", "size",
    "words", "example_ids", "item_ids", "existing_topic", "existing_share"}]."""
    import numpy as np

    if min_size < 1:
        raise ThemesError("--min-size must be at least 1")
    ids, x, texts = _approved(db)
    if not ids:
        raise ThemesError("no approved items with vectors yet: approve items, then run 'podpipe embed'")
    k, centroids = _best_k(x)
    similarity = x @ centroids.T
    labels = np.argmax(similarity, axis=1)
    n_docs, df = _document_frequency(db)
    clusters = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        # the most central items first: they are the best examples
        members = members[np.argsort(-similarity[members, c], kind="stable")]
        counts = Counter(w for m in members for w in words_of(texts[m]))
        scored = sorted(((count / len(members)) * math.log(n_docs / df[w]), w)
                        for w, count in counts.items() if count >= 2 and df[w] < n_docs)
        words = [w for _, w in sorted(scored, key=lambda s: (-s[0], s[1]))[:WORDS]]
        item_ids = [ids[m] for m in members]
        topic, share = _existing_topic(db, item_ids)
        clusters.append({"name": " and ".join(words[:NAME_WORDS]) or f"cluster {c + 1}", "size": len(members),
                         "words": ", ".join(words), "example_ids": item_ids[:EXAMPLES], "item_ids": item_ids,
                         "existing_topic": topic, "existing_share": share})
    # numbered before the size filter, so a number means the same cluster whatever --min-size says
    clusters.sort(key=lambda s: (-s["size"], s["item_ids"][0]))
    return [{"suggestion": n, **s} for n, s in enumerate(clusters, 1) if s["size"] >= min_size]


def accept(db, name, *, item_ids=None, suggestion=None):
    """Tag items (given, or a suggestion's, numbered as ``suggest`` numbers them)
    with the topic ``name``; returns the ids tagged."""
    name = " ".join((name or "").split())
    if not name:
        raise ThemesError("a topic needs a name")
    if (item_ids is None) == (suggestion is None):
        raise ThemesError("give the items to tag: --items 1,2,3 or --suggestion N")
    if suggestion is not None:
        found = [s for s in suggest(db, min_size=1) if s["suggestion"] == suggestion]
        if not found:
            raise ThemesError(f"no suggestion {suggestion}: run 'podpipe topics suggest' to see them")
        item_ids = found[0]["item_ids"]
    item_ids = list(dict.fromkeys(int(i) for i in item_ids))
    if not item_ids:
        raise ThemesError("no items to tag")
    rows = dict(db.execute(f"select id, topics from items where id in ({','.join('?' * len(item_ids))})",
                           item_ids).fetchall())
    missing = [str(i) for i in item_ids if i not in rows]
    if missing:
        raise ThemesError(f"no item with id {', '.join(missing)}")
    with db.atomic():
        for item_id in item_ids:
            db.execute("insert or ignore into item_topics (item_id, topic) values (?, ?)", [item_id, name])
            topics = json.loads(rows[item_id] or "[]")
            if name not in topics:
                db.execute("update items set topics = ? where id = ?", [json.dumps(topics + [name]), item_id])
    return item_ids

"""Search by meaning at scale: a million passages in SQLite (pipeline.vectors).

    .venv/bin/python bench/semantic.py [--n 1000000] [--queries 100] [--out /tmp/semantic-bench]

1. Throughput: passages per second through the embed path (pipeline.embed
   passages from the real transcripts in ../shared/corpus/lenny/, encoded
   by pipeline.encoder), and the vectors kept as seeds.
2. A million synthetic passage vectors made from those seeds (a random mix of
   two real passages plus noise, so neighbourhoods look like real ones and
   are not copies), written into the embeddings table as the stage writes
   them; the inverted-file index built by pipeline.vectors.build_index.
3. Queries (new vectors of the same kind): latency p50/p95 of
   ``vectors.nearest`` on one process, and recall@10 against an exact scan
   of every stored vector; the same exact scan's time is the baseline.
4. Database size per million passages (vectors and index; the passage text
   is estimated from the corpus' average).
5. Incremental: one real episode added to the million-passage database;
   the embed stage must embed only its passages.
"""
import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LENNY = ROOT.parent / "shared" / "corpus" / "lenny"
OFFSET = 10**9  # synthetic passages have no passage rows; their ids stay clear of real ones


def corpus_passages(limit):
    from pipeline.embed import passages_of
    from pipeline.transcript_formats import parse

    out = []
    for path in sorted(LENNY.glob("*.md")):
        segments = parse(path.read_text(), "md")["segments"]
        out += passages_of([dict(s, idx=i) for i, s in enumerate(segments)])
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(out), size=min(limit, len(out)), replace=False)
    return [out[i]["text"] for i in chosen], len(out), sum(len(p["text"]) for p in out) / len(out)


def synthetic(seeds, n, rng):
    a = seeds[rng.integers(0, len(seeds), n)]
    b = seeds[rng.integers(0, len(seeds), n)]
    w = rng.uniform(0.55, 1.0, (n, 1)).astype(np.float32)
    v = w * a + (1 - w) * b + 0.03 * rng.standard_normal(a.shape).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=3000)
    ap.add_argument("--nprobe", type=int, nargs="+", default=[16, 32, 48, 64])
    ap.add_argument("--out", default="/tmp/semantic-bench")
    args = ap.parse_args()

    from pipeline import vectors
    from pipeline.db import open_db
    from pipeline.encoder import get_encoder

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    texts, n_corpus, avg_chars = corpus_passages(args.seeds)
    encoder = get_encoder()
    encoder.encode(texts[:64])  # warm
    t = time.perf_counter()
    seeds = encoder.encode(texts)
    rate = len(texts) / (time.perf_counter() - t)
    print(f"corpus: {n_corpus} passages in 40 transcripts, {avg_chars:.0f} characters on average")
    print(f"embedding throughput: {rate:.0f} passages/s ({len(texts)} passages, {os.cpu_count()} cores)")

    db = open_db(str(out / "million.db"))
    rng = np.random.default_rng(1)
    tag = vectors.model_tag()
    t = time.perf_counter()
    for start in range(0, args.n, 100_000):
        v = synthetic(seeds, min(100_000, args.n - start), rng)
        with db.atomic():
            db.conn.executemany("insert into embeddings (kind, ref_id, model, text_sha, vector) "
                                "values ('passage', ?, ?, '', ?)",
                                zip(range(OFFSET + start, OFFSET + start + len(v)), [tag] * len(v), vectors.pack(v)))
    print(f"wrote {args.n} vectors in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    vectors.build_index(db, "passage")
    centroids, _ = vectors.load_index(db, "passage")
    db.execute("pragma wal_checkpoint(truncate)")  # as a database at rest: queries read the file, not a 1 GB log
    print(f"index: {len(centroids)} lists, built in {time.perf_counter() - t:.0f} s")

    # the exact baseline: every stored vector, decoded as nearest() decodes them
    ids = np.array([r[0] for r in db.execute("select ref_id from embeddings where kind = 'passage' order by id")])
    stored = vectors.unpack(r[0] for r in db.execute("select vector from embeddings where kind = 'passage' order by id"))
    queries = synthetic(seeds, args.queries, np.random.default_rng(2))
    exact, exact_ms = [], []
    for q in queries:
        t = time.perf_counter()
        s = stored @ q
        top = np.argpartition(-s, 10)[:10]
        exact.append(set(ids[top].tolist()))
        exact_ms.append((time.perf_counter() - t) * 1000)
    del stored
    print(f"exact scan (numpy, in memory): p50 {statistics.median(exact_ms):.0f} ms")
    for nprobe in args.nprobe:
        ms, recall = [], []
        for q, truth in zip(queries, exact):
            t = time.perf_counter()
            got = vectors.nearest(db, "passage", q, 10, nprobe=nprobe)
            ms.append((time.perf_counter() - t) * 1000)
            recall.append(len({i for i, _ in got} & truth) / 10)
        ms.sort()
        print(f"nprobe {nprobe}: p50 {ms[len(ms) // 2]:.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms, "
              f"recall@10 {np.mean(recall):.3f}")
    db.execute("vacuum")
    size = os.path.getsize(out / "million.db")
    print(f"database: {size / 1e6:.0f} MB for {args.n} vectors ({size / args.n * 1e6 / 1e9:.2f} GB per million); "
          f"passage text adds about {avg_chars * 1e6 / 1e9:.2f} GB per million")
    incremental(db)


def incremental(db):
    """One real episode into the million-passage database: only it is embedded."""
    from pipeline.stages import embed
    from pipeline.transcript_import import import_transcript

    path = sorted(LENNY.glob("*.md"))[0]
    import_transcript(db, path, transcripts_dir=str(Path(db.conn.execute("pragma database_list").fetchone()[2]).parent))
    t = time.perf_counter()
    result = embed(db)
    print(f"incremental: one episode added: {result.counts} in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    again = embed(db)
    print(f"incremental: nothing new: {again.counts} in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()

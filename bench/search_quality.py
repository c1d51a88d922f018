"""Search quality: FTS5 alone against hybrid (and semantic) search on the 40
real transcripts in ../shared/corpus/lenny/.

    .venv/bin/python bench/search_quality.py [--db /tmp/search-quality.db]

The questions are in bench/data/semantic_questions.json: each names the
passages that answer it by file and character offsets (a speaker's turn),
so no transcript text is stored here. We import the transcripts
(``podpipe transcripts import``), run the embed stage, and ask every
question of transcript segments three ways: FTS5 (the question's words, any
of them, ranked by bm25: asking FTS5 for all of a question's words finds
nothing for most questions, which we print too), semantic, and hybrid.
A result is relevant when its text overlaps an answer's range; each answer
counts once. We print recall@10 and nDCG@10 for each.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LENNY = ROOT.parent / "shared" / "corpus" / "lenny"
QUESTIONS = ROOT / "bench" / "data" / "semantic_questions.json"
K = 10


def build(path):
    from pipeline.db import open_db
    from pipeline.stages import embed
    from pipeline.transcript_import import import_transcript

    db = open_db(str(path))
    if not db.execute("select count(*) from transcripts").fetchone()[0]:
        for md in sorted(LENNY.glob("*.md")):
            import_transcript(db, md, transcripts_dir=str(path.parent / "transcripts"))
    t = time.perf_counter()
    result = embed(db)
    if result.counts["passages"]:
        print(f"embedded {result.counts['passages']} passages in {time.perf_counter() - t:.0f} s "
              f"({result.counts['passages'] / (time.perf_counter() - t):.0f} passages/s)")
    return db


def locate(texts, text):
    """(file, start, end) of a result's text in the corpus, or None."""
    probe = " ".join(text.split())[:50]
    for name, body in texts.items():
        at = body.find(probe)
        if at >= 0:
            return name, at, at + len(text)
    return None


def score(results, answers, texts):
    """(recall@K, nDCG@K) of ranked result texts against answer ranges."""
    credited, gains = set(), []
    for text in results[:K]:
        where = locate(texts, text)
        hit = None
        if where:
            for n, a in enumerate(answers):
                if a["file"] == where[0] and where[1] < a["end"] and a["start"] < where[2] and n not in credited:
                    hit = n
                    break
        gains.append(1.0 if hit is not None else 0.0)
        if hit is not None:
            credited.add(hit)
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(K, len(answers))))
    return len(credited) / len(answers), dcg / ideal


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="/tmp/search-quality/podpipe.db")
    args = ap.parse_args()
    from pipeline.search import search_segments
    from pipeline.semantic import any_words, search_by_meaning

    path = Path(args.db)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = build(path)
    texts = {p.name: p.read_text() for p in sorted(LENNY.glob("*.md"))}
    questions = json.loads(QUESTIONS.read_text())
    modes = {
        "fts (all words)": lambda q: [r["text"] for r in search_segments(db, any_words(q).replace(" OR ", " "),
                                                                         limit=K)],
        "fts (any word, bm25)": lambda q: [r["text"] for r in search_segments(db, any_words(q), limit=K)],
        "semantic": lambda q: [r["text"] for r in search_by_meaning(db, q, kind="segment", mode="semantic", limit=K)],
        "hybrid (RRF)": lambda q: [r["text"] for r in search_by_meaning(db, q, kind="segment", mode="hybrid", limit=K)],
    }
    print(f"{len(questions)} questions, {sum(len(q['answers']) for q in questions)} answer passages")
    for name, run in modes.items():
        scores = [score(run(q["question"]), q["answers"], texts) for q in questions]
        print(f"{name:22s} recall@{K} {sum(s[0] for s in scores) / len(scores):.3f}   "
              f"nDCG@{K} {sum(s[1] for s in scores) / len(scores):.3f}")


if __name__ == "__main__":
    main()

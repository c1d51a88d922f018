"""The desk at scale: the queue page and an editor's decision with 100,000 items.

    .venv/bin/python bench/desk.py [--items 100000] [--runs 40]

Builds a database of --items pending items (200 episodes, 500 people in four
roles, every item with three transcript lines of context), serves the desk
with uvicorn on 127.0.0.1 and measures over real HTTP:

- the queue page (25 cards with context, the pending count), unfiltered and
  filtered by role, topic and score; target under 200 ms;
- a decision (POST approve or reject, answered with the item's JSON); target
  under 50 ms.

Each is also given as a ratio against its baseline run in the same process:
the library calls the page makes (pending_items for 25 items, count_pending)
and the bare set_status, so that the desk's own cost shows.
"""
import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import httpx  # noqa: E402

from desk_fixture import live_server  # noqa: E402
from pipeline.db import open_db  # noqa: E402
from pipeline.desk import create_app  # noqa: E402
from pipeline.review import count_pending, pending_items, set_status  # noqa: E402
from pipeline.search import TOPICS  # noqa: E402

ROLES = ["Product Manager", "Designer", "Founder", "Engineering Manager"]
WORDS = ("customers roadmap metrics launch pricing hiring feedback strategy team users growth "
         "retention onboarding research design engineering").split()


def build(path, n_items):
    rng = random.Random(7)
    db = open_db(path)
    with db.atomic():
        db["feeds"].insert({"id": 1, "url": "https://example.com/feed.xml", "title": "Bench Talks"})
        db["roles"].insert_all({"id": i + 1, "name": name} for i, name in enumerate(ROLES))
        db["people"].insert_all({"id": i, "slug": f"person-{i}", "name": f"Person {i}", "title": "Lead",
                                 "organization": "Org", "role_id": i % len(ROLES) + 1} for i in range(1, 501))
        db["episodes"].insert_all({"id": e, "feed_id": 1, "guid": f"g{e}", "title": f"Episode {e}",
                                   "published": f"2024-{e % 12 + 1:02d}-01T00:00:00+00:00",
                                   "enclosure_url": f"https://cdn.example.com/{e}.mp3", "status": "extracted"}
                                  for e in range(1, 201))
        db["transcripts"].insert_all({"id": e, "episode_id": e, "source": "publisher"} for e in range(1, 201))
    per_episode = n_items // 200 + 1
    segments, items, topics = [], [], []
    for n in range(1, n_items + 1):
        episode, k = n % 200 + 1, n // 200
        topic = TOPICS[n % len(TOPICS)]
        text = " ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "."
        items.append({"id": n, "kind": "tip" if n % 3 else "quote", "text": text, "episode_id": episode,
                      "transcript_id": episode, "speaker": f"Person {n % 500 + 1}", "person_id": n % 500 + 1,
                      "start": k * 7.0, "end": k * 7.0 + 5, "segment_ids": json.dumps([episode * per_episode + k]),
                      "score": round(rng.random(), 4), "topics": json.dumps([topic]), "status": "pending",
                      "source": "transcript", "dedup_key": f"k{n}"})
        topics.append({"item_id": n, "topic": topic})
    for e in range(1, 201):
        segments.extend({"id": e * per_episode + k, "transcript_id": e, "idx": k, "start": k * 7.0,
                         "end": k * 7.0 + 5, "speaker": "Host" if k % 2 else "Guest",
                         "text": " ".join(rng.choice(WORDS) for _ in range(12))} for k in range(per_episode))
    with db.atomic():
        db["segments"].insert_all(segments, batch_size=5000)
        db["items"].insert_all(items, batch_size=5000)
        db["item_topics"].insert_all(topics, batch_size=5000)
    return db


def timed(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "desk.db"
        started = time.perf_counter()
        db = build(path, args.items)
        print(f"built {args.items:,} items in {time.perf_counter() - started:.1f} s")
        app = create_app(path)
        with live_server(app) as url, httpx.Client(base_url=url) as client:
            csrf = client.get("/queue").text.split('name="csrf" content="')[1].split('"')[0]
            pages = {"queue": "/queue", "queue, role + topic + score": "/queue?role=Designer&topic=customers"
                     "&min_score=0.5", "queue, person": "/queue?person=Person%2042"}
            filters = {"queue": {}, "queue, role + topic + score": {"role": "Designer", "topic": "customers",
                                                                     "min_score": 0.5},
                       "queue, person": {"person": "Person 42"}}
            for name, address in pages.items():
                client.get(address)  # warm up
                median, p95 = timed(lambda: client.get(address).raise_for_status(), args.runs)
                f = filters[name]
                base, _ = timed(lambda: (pending_items(db, order="score", limit=25, **f),
                                         count_pending(db, **f)), args.runs)
                print(f"{name:32} median {median:6.1f} ms  p95 {p95:6.1f} ms  (target 200 ms; "
                      f"{median / base:.1f}x the library calls, {base:.1f} ms)")
            ids = iter(range(1, args.items + 1))
            headers = {"x-csrf-token": csrf, "accept": "application/json"}
            median, p95 = timed(lambda: client.post(f"/items/{next(ids)}/approve", headers=headers)
                                .raise_for_status(), args.runs * 3)
            base, _ = timed(lambda: set_status(db, [next(ids)], "rejected"), args.runs * 3)
            print(f"{'decision (POST approve)':32} median {median:6.1f} ms  p95 {p95:6.1f} ms  (target 50 ms; "
                  f"{median / base:.1f}x set_status alone, {base:.1f} ms)")


if __name__ == "__main__":
    main()

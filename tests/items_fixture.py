"""A small research database for the search, review, collection and export tests:
one feed, two episodes, two roles, three people, a transcript and five items,
one of them full of characters that break careless exports."""
import json

from pipeline.db import open_db

NASTY = 'Tricky "quotes", commas,\nnewlines and <script>alert(1)</script> — naïve café 日本 & more'

FEED = {"id": 1, "url": "https://example.com/feed.xml", "title": "PM Talks", "added": "2024-01-01T00:00:00+00:00"}
EPISODES = [
    {"id": 1, "feed_id": 1, "guid": "ep-1", "title": "Customers first", "published": "2024-03-01T00:00:00+00:00",
     "link": "https://www.youtube.com/watch?v=abc123", "enclosure_url": "https://cdn.example.com/ep1.mp3",
     "status": "extracted"},
    {"id": 2, "feed_id": 1, "guid": "ep-2", "title": "Roadmaps & <Strategy>", "published": "2023-06-15T00:00:00+00:00",
     "link": "https://example.com/episodes/2", "enclosure_url": "https://cdn.example.com/ep2.mp3",
     "status": "extracted"},
]
ROLES = [{"id": 1, "name": "Product Manager"}, {"id": 2, "name": "Designer"}]
PEOPLE = [
    {"id": 1, "slug": "corie-miller", "name": "Corie Miller", "title": "Senior Product Manager",
     "organization": "Acme", "role_id": 1},
    {"id": 2, "slug": "dana-lee", "name": "Dana Lee", "title": "Design Lead", "organization": "Studio", "role_id": 2},
    {"id": 3, "slug": "lenny", "name": "Lenny"},
]
ITEMS = [
    {"id": 1, "kind": "tip", "text": "Talk to customers every week.", "episode_id": 1, "speaker": "Corie Miller",
     "person_id": 1, "start": 65.0, "end": 68.5, "topics": ["customers"], "score": 0.9, "status": "pending"},
    {"id": 2, "kind": "quote", "text": "A roadmap is a promise, so we make fewer of them.", "episode_id": 2,
     "speaker": "Corie Miller", "person_id": 1, "start": 3725.0, "end": 3730.0,
     "topics": ["roadmap and requirements"], "score": 0.8, "status": "approved"},
    {"id": 3, "kind": "tip", "text": "Prototype before you write the spec.", "episode_id": 1, "speaker": "Dana Lee",
     "person_id": 2, "start": 130.0, "end": 133.0, "topics": ["design and prototyping"], "score": 0.7,
     "status": "pending"},
    {"id": 4, "kind": "tip", "text": "Interview customers before building anything.", "episode_id": 2,
     "speaker": "Dana Lee", "person_id": 2, "start": 30.0, "end": 34.0, "topics": ["customers"], "score": 0.6,
     "status": "rejected"},
    {"id": 5, "kind": "quote", "text": NASTY, "episode_id": 1, "speaker": "Corie Miller", "person_id": 1,
     "start": 200.0, "end": 210.0, "topics": ["customers"], "score": 0.5, "status": "pending"},
]
SEGMENTS = [
    {"id": 1, "transcript_id": 1, "idx": 0, "start": 0.0, "end": 5.0, "speaker": "Lenny",
     "text": "Welcome back. Today we talk about customers and roadmaps."},
    {"id": 2, "transcript_id": 1, "idx": 1, "start": 65.0, "end": 70.0, "speaker": "Corie Miller",
     "text": "Talk to customers every week. Prioritization follows from that."},
    {"id": 3, "transcript_id": 1, "idx": 2, "start": 130.0, "end": 135.0, "speaker": "Dana Lee",
     "text": "Prototype before you write the spec, and show it to a customer."},
]


def make_db(path, items=ITEMS):
    """The fixture database at path, opened (migrated, with FTS and views)."""
    db = open_db(path)
    db["feeds"].insert(FEED)
    db["episodes"].insert_all(EPISODES)
    db["roles"].insert_all(ROLES)
    db["people"].insert_all(PEOPLE)
    db["transcripts"].insert({"id": 1, "episode_id": 1, "source": "publisher"})
    db["segments"].insert_all(SEGMENTS)
    for item in items:
        row = {**item, "topics": json.dumps(item["topics"]), "source": "transcript",
               "dedup_key": f"key-{item['id']}", "created": "2024-04-01T00:00:00+00:00"}
        db["items"].insert(row)
        for topic in item["topics"]:
            db["item_topics"].insert({"item_id": item["id"], "topic": topic})
    return db

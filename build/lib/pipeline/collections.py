"""Collections: named, ordered lists of items an editor curates for export.

Positions are 1, 2, 3, ... with no gaps; every change keeps them so.
An item is in a collection at most once.
"""
from .db import utcnow
from .errors import PodpipeError
from .review import fetch_items


class CollectionError(PodpipeError, ValueError):
    """A collection operation that cannot be done; the message is for the user."""


def get_collection(db, name):
    """The collection row named `name`, or CollectionError."""
    row = db.execute("select id from collections where name = ?", [name]).fetchone()
    if row is None:
        raise CollectionError(f"no collection named {name!r} (see 'podpipe collections list')")
    return db["collections"].get(row[0])


def save_collection(db, name, description=None):
    """Create a collection; returns its id. A taken name is a CollectionError."""
    name = (name or "").strip()
    if not name:
        raise CollectionError("a collection needs a name")
    if db.execute("select 1 from collections where name = ?", [name]).fetchone():
        raise CollectionError(f"a collection named {name!r} exists already")
    return db["collections"].insert({"name": name, "description": description, "created": utcnow()}).last_pk


def delete_collection(db, name):
    """Delete a collection (its items stay in the database); returns how many items it held."""
    collection = get_collection(db, name)
    with db.atomic():
        n = db.execute("delete from collection_items where collection_id = ?", [collection["id"]]).rowcount
        db.execute("delete from collections where id = ?", [collection["id"]])
    return n


def collection_item_ids(db, collection_id):
    """The ids of a collection's items, in order."""
    return [r[0] for r in db.execute(
        "select item_id from collection_items where collection_id = ? order by position, item_id", [collection_id])]


def _renumber(db, collection_id, ids):
    for position, item_id in enumerate(ids, 1):
        db.execute("update collection_items set position = ? where collection_id = ? and item_id = ?",
                   [position, collection_id, item_id])


def add_items(db, name, ids):
    """Append items to a collection in the order given; returns (added, already_there).

    Unknown item ids raise before anything is added; ids already in the
    collection (or repeated) are skipped, never duplicated.
    """
    collection = get_collection(db, name)
    fetch_items(db, ids)
    current = collection_item_ids(db, collection["id"])
    have = set(current)
    added, already = [], []
    for item_id in (int(i) for i in ids):
        (already if item_id in have else added).append(item_id)
        have.add(item_id)
    now = utcnow()
    with db.atomic():
        db["collection_items"].insert_all(
            ({"collection_id": collection["id"], "item_id": item_id, "position": len(current) + n,
              "note": None, "added": now} for n, item_id in enumerate(added, 1)), batch_size=500)
    return len(added), len(already)


def _member(db, collection, item_id):
    ids = collection_item_ids(db, collection["id"])
    if int(item_id) not in ids:
        raise CollectionError(f"item {item_id} is not in collection {collection['name']!r}")
    return ids


def remove_items(db, name, ids):
    """Take items out of a collection; returns how many were removed."""
    collection = get_collection(db, name)
    for item_id in ids:
        _member(db, collection, item_id)
    drop = {int(i) for i in ids}
    with db.atomic():
        for item_id in drop:
            db.execute("delete from collection_items where collection_id = ? and item_id = ?",
                       [collection["id"], item_id])
        _renumber(db, collection["id"], collection_item_ids(db, collection["id"]))
    return len(drop)


def move_item(db, name, item_id, position):
    """Move an item to a 1-based position (clamped to the ends); returns the new position."""
    collection = get_collection(db, name)
    ids = _member(db, collection, item_id)
    ids.remove(int(item_id))
    position = max(1, min(int(position), len(ids) + 1))
    ids.insert(position - 1, int(item_id))
    with db.atomic():
        _renumber(db, collection["id"], ids)
    return position


def set_note(db, name, item_id, note):
    """Attach an editor's note to an item in a collection ('' removes it)."""
    collection = get_collection(db, name)
    _member(db, collection, item_id)
    db.execute("update collection_items set note = ? where collection_id = ? and item_id = ?",
               [note or None, collection["id"], int(item_id)])


def fetch_collections(db):
    """Every collection with its item count, by name."""
    return db.query("""
select c.name, c.description, count(ci.item_id) as items, c.created
from collections c left join collection_items ci on ci.collection_id = c.id
group by c.id order by c.name""")
